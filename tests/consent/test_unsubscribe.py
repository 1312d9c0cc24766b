"""One-click unsubscribe: signed links, no sign-in, idempotent, bound to one user and one purpose."""

import base64
import uuid

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from opmaestro.consent import ledger, unsubscribe
from opmaestro.consent.models import ConsentAction, ConsentEvent
from opmaestro.core.config import Settings
from tests.consent.test_marketing_delivery import set_consent, withdrawals
from tests.factories import create_user, sign_in
from tests.problems import assert_problem as problem_of

MARKETING = ledger.MARKETING_EMAIL


def url(token: str) -> str:
    return f"/api/v1/unsubscribe/{token}"


@pytest.fixture
async def ann(session):
    user = await create_user(session, "ann@example.com")
    await set_consent(session, user)
    return user


@pytest.fixture
async def bob(session):
    user = await create_user(session, "bob@example.com")
    await set_consent(session, user)
    return user


@pytest.fixture
def token(settings: Settings, ann) -> str:
    return unsubscribe.make_token(settings, ann.id, MARKETING)


class TestTokens:
    def test_a_token_reads_back_as_its_user_and_purpose(self, settings):
        user_id = uuid.uuid4()
        assert unsubscribe.read_token(settings, unsubscribe.make_token(settings, user_id, MARKETING)) == (
            user_id,
            MARKETING,
        )

    def test_a_token_signed_with_another_secret_is_refused(self, settings):
        other = settings.model_copy(update={"secret_key": SecretStr("another-secret-another-secret-xx")})
        forged = unsubscribe.make_token(other, uuid.uuid4(), MARKETING)
        with pytest.raises(unsubscribe.InvalidUnsubscribeLink):
            unsubscribe.read_token(settings, forged)

    def test_email_addresses_are_masked(self):
        assert unsubscribe.mask_email("ann@example.com") == "a***@example.com"


class TestOneClickUnsubscribe:
    async def test_post_without_cookies_withdraws_the_consent(self, client, session, ann, token):
        response = await client.post(url(token))
        assert response.status_code == 200, response.text
        assert response.json() == {"purpose": MARKETING, "status": "unsubscribed"}
        assert not await ledger.is_granted(session, ann.id, MARKETING)
        event = await session.scalar(
            select(ConsentEvent).where(
                ConsentEvent.subject_user_id == ann.id, ConsentEvent.action == ConsentAction.WITHDRAWN
            )
        )
        assert event.method == "unsubscribe_link" and event.actor_kind == "subject"

    @pytest.mark.parametrize(
        "body",
        [
            {"data": {"List-Unsubscribe": "One-Click"}},
            {"files": {"List-Unsubscribe": (None, "One-Click")}},
            {"json": {}},
            {"content": b"", "headers": {"Content-Type": "text/plain"}},
        ],
        ids=["rfc-8058-form", "multipart", "json", "empty-text"],
    )
    async def test_mail_client_bodies_are_accepted(self, client, session, ann, token, body):
        response = await client.post(url(token), **body)
        assert response.status_code == 200, response.text
        assert not await ledger.is_granted(session, ann.id, MARKETING)

    async def test_repeating_it_records_one_withdrawal(self, client, session, ann, token):
        first = await client.post(url(token))
        second = await client.post(url(token), data={"List-Unsubscribe": "One-Click"})
        assert first.status_code == second.status_code == 200
        assert second.json() == first.json()
        assert await withdrawals(session, ann) == 1

    async def test_it_never_redirects(self, client, ann, token):
        for response in (await client.get(url(token)), await client.post(url(token))):
            assert response.status_code == 200 and "location" not in response.headers

    async def test_a_user_who_never_consented_gets_the_same_answer_and_no_event(
        self, client, session, settings
    ):
        carol = await create_user(session, "carol@example.com")
        response = await client.post(url(unsubscribe.make_token(settings, carol.id, MARKETING)))
        assert response.status_code == 200
        assert await withdrawals(session, carol) == 0

    async def test_a_signed_in_browser_needs_no_csrf_header(self, client, session, ann, bob, token):
        await sign_in(client, bob.email)
        client.headers.pop("X-CSRF-Token")
        assert (await client.post(url(token))).status_code == 200
        assert not await ledger.is_granted(session, ann.id, MARKETING)
        assert await ledger.is_granted(session, bob.id, MARKETING)


def swap(token: str, index: int, value: str) -> str:
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class TestTamperedLinks:
    async def test_a_token_for_ann_cannot_be_turned_on_bob(self, client, session, ann, bob, token):
        forged = swap(token, 1, b64(bob.id.bytes))
        problem_of(await client.post(url(forged)), 404, "invalid-unsubscribe-link")
        problem_of(await client.get(url(forged)), 404, "invalid-unsubscribe-link")
        assert await ledger.is_granted(session, bob.id, MARKETING)
        assert await ledger.is_granted(session, ann.id, MARKETING)

    @pytest.mark.parametrize(
        ("index", "value"),
        [(0, "2"), (2, "analytics"), (3, "A" * 43), (1, "not-base64!"), (1, b64(b"short"))],
        ids=["version", "purpose", "signature", "user-garbage", "user-short"],
    )
    async def test_altered_parts_are_refused(self, client, session, ann, token, index, value):
        problem_of(await client.post(url(swap(token, index, value))), 404, "invalid-unsubscribe-link")
        assert await ledger.is_granted(session, ann.id, MARKETING)

    @pytest.mark.parametrize("garbage", ["x" * 12, "1.a.b.c.d.e.f", "...................."])
    async def test_garbage_is_a_problem_not_a_crash(self, client, garbage):
        response = await client.post(url(garbage))
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"

    @pytest.mark.parametrize("garbage", ["x", "y" * 201])
    async def test_too_short_or_long_is_refused(self, client, garbage):
        response = await client.post(url(garbage))
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"

    async def test_a_link_for_an_account_that_is_gone_is_not_found(self, client, settings):
        problem_of(
            await client.post(url(unsubscribe.make_token(settings, uuid.uuid4(), MARKETING))),
            404,
            "unsubscribe-link-not-found",
        )


class TestDescribeLink:
    async def test_get_names_the_masked_address_and_changes_nothing(self, client, session, ann, token):
        response = await client.get(url(token))
        assert response.status_code == 200, response.text
        assert response.json() == {"purpose": MARKETING, "address": "a***@example.com", "subscribed": True}
        assert await ledger.is_granted(session, ann.id, MARKETING)
        await client.post(url(token))
        assert (await client.get(url(token))).json()["subscribed"] is False
