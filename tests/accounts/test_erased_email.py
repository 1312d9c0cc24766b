import hashlib

from opmaestro.accounts.models import erased_email


def test_an_erased_address_is_unique_and_cannot_be_matched_to_the_old_one():
    first, second = erased_email("ann@example.com"), erased_email("ann@example.com")
    assert first != second
    assert first.endswith("@erased.invalid") and "ann" not in first
    assert hashlib.sha256(b"ann@example.com").hexdigest()[:20] not in first
