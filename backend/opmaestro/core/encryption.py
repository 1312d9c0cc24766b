"""Values encrypted at rest with Fernet: one key derived from the secret key for one purpose, or
a ring of configured keys (the first encrypts, every one decrypts) for values that must outlive a
change of secret key."""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr


def _derived_key(secret_key: str, purpose: str) -> bytes:
    # One key per purpose: a value encrypted for one use never decrypts under another.
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
    return base64.urlsafe_b64encode(derived.derive(secret_key.encode()))


@lru_cache(maxsize=32)
def derived_fernet(secret_key: str, purpose: str) -> Fernet:
    """A Fernet key derived from the secret key for `purpose` alone."""
    return Fernet(_derived_key(secret_key, purpose))


def key_ring(configured: SecretStr | None, secret_key: SecretStr, purpose: str) -> MultiFernet:
    """The configured keys (comma-separated, newest first) or, where none are set (development:
    production refuses to start without them), the key derived from the secret key for `purpose`."""
    return _ring(configured.get_secret_value() if configured else "", secret_key.get_secret_value(), purpose)


@lru_cache(maxsize=32)
def _ring(configured: str, secret_key: str, purpose: str) -> MultiFernet:
    keys = [entry.strip().encode() for entry in configured.split(",") if entry.strip()]
    return MultiFernet([Fernet(key) for key in keys or [_derived_key(secret_key, purpose)]])
