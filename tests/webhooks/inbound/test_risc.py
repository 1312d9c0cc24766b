"""Google Cross-Account Protection: security event tokens signed with a test key that a fake
Google publishes over real HTTP."""

import time
import uuid
from typing import Any

import pytest
from jose import jwt as jose_jwt

from opmaestro.webhooks.inbound import risc
from tests.problems import assert_problem
from tests.webhooks.inbound.conftest import assert_queued_if_handled, stored
from tests.webhooks.inbound.fakes import FakeGoogle, SigningKeyPair

URL = "/api/v1/webhooks/google/risc"
ISSUER = "https://accounts.google.com/"
AUDIENCE = "client-1.apps.googleusercontent.com"
SUBJECT = {"subject_type": "iss_sub", "iss": ISSUER, "sub": "7375626A656374"}


@pytest.fixture(scope="module")
def first_key() -> SigningKeyPair:
    return SigningKeyPair("google-key-1")


@pytest.fixture(scope="module")
def second_key() -> SigningKeyPair:
    return SigningKeyPair("google-key-2")


@pytest.fixture
def google(first_key):
    server = FakeGoogle(first_key).start()
    yield server
    server.stop()


@pytest.fixture
def overrides(google) -> dict[str, Any]:
    return {"google_risc_configuration_url": google.configuration_url}


def claims(event_type: str = risc.SESSIONS_REVOKED, **changes: Any) -> dict[str, Any]:
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(time.time()),
        "jti": uuid.uuid4().hex,
        "events": {event_type: {"subject": SUBJECT}},
    } | changes


async def send(client, token: str | bytes):
    content = token.encode() if isinstance(token, str) else token
    return await client.post(URL, content=content, headers={"content-type": "application/secevent+jwt"})


def rejected(response, err: str) -> None:
    body = assert_problem(response, 400, "security-event-rejected")
    assert body["err"] == err


class TestAccepted:
    @pytest.mark.parametrize(
        "event_type", [risc.SESSIONS_REVOKED, risc.TOKENS_REVOKED, risc.ACCOUNT_DISABLED, risc.VERIFICATION]
    )
    async def test_a_signed_event_is_stored_once_and_answered_202(
        self, client, session, first_key, event_type
    ):
        token = first_key.sign(claims(event_type))
        response = await send(client, token)
        assert response.status_code == 202 and response.json() == {"status": "accepted"}
        [event] = await stored(session, provider="google_risc")
        assert event.event_type == event_type and event.object_id == SUBJECT["sub"] and event.body == token
        await assert_queued_if_handled(session, event)

    async def test_a_repeated_jti_has_no_second_effect(self, client, session, first_key):
        first = claims()
        assert (await send(client, first_key.sign(first))).json() == {"status": "accepted"}
        again = await send(client, first_key.sign(first | {"iat": first["iat"] - 1}))
        assert again.status_code == 202 and again.json() == {"status": "duplicate"}
        assert len(await stored(session, provider="google_risc")) == 1

    async def test_any_configured_audience_and_a_list_of_audiences(self, client, first_key):
        second = claims(aud="client-2.apps.googleusercontent.com")
        assert (await send(client, first_key.sign(second))).status_code == 202
        listed = claims(aud=["someone-else", AUDIENCE])
        assert (await send(client, first_key.sign(listed))).status_code == 202


class TestKeys:
    async def test_keys_are_cached(self, client, google, first_key):
        for _ in range(3):
            assert (await send(client, first_key.sign(claims()))).status_code == 202
        assert google.hits(google.JWKS) == 1 and google.hits(google.CONFIGURATION) == 1

    async def test_an_unknown_kid_fetches_the_keys_again_once(self, client, google, first_key, second_key):
        assert (await send(client, first_key.sign(claims()))).status_code == 202
        google.published = [first_key, second_key]  # Google rotated
        assert (await send(client, second_key.sign(claims()))).status_code == 202
        assert google.hits(google.JWKS) == 2

    async def test_made_up_kids_do_not_make_us_hammer_google(self, client, google, first_key):
        for n in range(3):
            rejected(await send(client, first_key.sign(claims(), kid=f"made-up-{n}")), "invalid_key")
        # The first fetch, then one refetch for the first unknown kid; the others wait their turn.
        assert google.hits(google.JWKS) == 2

    async def test_google_unreachable_is_503_not_500(self, client, google, first_key):
        google.stop()
        response = await send(client, first_key.sign(claims()))
        assert_problem(response, 503, "provider-unavailable")

    async def test_while_google_fails_one_try_serves_every_caller(self, client, google, first_key):
        google.routes[("GET", google.CONFIGURATION)] = lambda _r: (500, {"error": "down"})
        for _ in range(3):
            assert_problem(await send(client, first_key.sign(claims())), 503, "provider-unavailable")
        assert google.hits(google.CONFIGURATION) == 1

    async def test_a_body_that_is_no_signed_token_costs_no_fetch(self, client, google, first_key):
        for body in (b"", b"garbage", b"a.b.c"):
            rejected(await send(client, body), "invalid_request")
        without_kid = jose_jwt.encode(claims(), first_key.private_pem, algorithm="RS256")
        rejected(await send(client, without_kid), "invalid_key")
        assert google.requests == []


class TestRejected:
    async def test_signed_by_someone_else_with_googles_kid(self, client, session, first_key):
        forger = SigningKeyPair(first_key.kid)
        rejected(await send(client, forger.sign(claims())), "invalid_request")
        assert await stored(session) == []

    async def test_tampered(self, client, first_key):
        header, payload, signature = first_key.sign(claims()).split(".")
        other = first_key.sign(claims(jti="other")).split(".")[1]
        rejected(await send(client, f"{header}.{other}.{signature}"), "invalid_request")
        assert payload != other

    async def test_wrong_issuer(self, client, first_key):
        rejected(await send(client, first_key.sign(claims(iss="https://evil.example/"))), "invalid_issuer")

    async def test_wrong_audience(self, client, first_key):
        rejected(await send(client, first_key.sign(claims(aud="another-client"))), "invalid_audience")

    @pytest.mark.parametrize("missing", ["jti", "iat", "iss", "aud"])
    async def test_required_claims(self, client, first_key, missing):
        token = claims()
        del token[missing]
        response = await send(client, first_key.sign(token))
        assert_problem(response, 400, "security-event-rejected")

    async def test_another_algorithm_is_refused(self, client, first_key):
        from jose import jwt as jose_jwt

        forged = jose_jwt.encode(claims(), "secret", algorithm="HS256", headers={"kid": first_key.kid})
        rejected(await send(client, forged), "invalid_request")

    async def test_too_old_and_future_dated(self, client, first_key, hook_settings):
        old = int(time.time()) - (hook_settings.inbound_webhook_keep_days + 1) * 86400
        rejected(await send(client, first_key.sign(claims(iat=old))), "invalid_request")
        rejected(await send(client, first_key.sign(claims(iat=int(time.time()) + 3600))), "invalid_request")

    @pytest.mark.parametrize("events", [None, {}, "x", {"a" * 300: {}}, {risc.SESSIONS_REVOKED: "x"}])
    async def test_malformed_events(self, client, session, first_key, events):
        rejected(await send(client, first_key.sign(claims(events=events))), "invalid_request")
        assert await stored(session) == []

    @pytest.mark.parametrize("body", [b"", b"not a token", b"a.b.c", b"\xff\xfe", b"{}"])
    async def test_malformed_bodies(self, client, body):
        rejected(await send(client, body), "invalid_request")

    async def test_oversized(self, client, hook_settings):
        assert_problem(await send(client, b"x" * (hook_settings.inbound_webhook_max_body_bytes + 1)), 413)


class TestNotConfigured:
    @pytest.fixture
    def overrides(self, google) -> dict[str, Any]:
        return {"google_risc_configuration_url": google.configuration_url, "google_risc_audiences": ""}

    async def test_without_a_client_id_the_route_answers_404(self, client, first_key):
        assert_problem(await send(client, first_key.sign(claims())), 404, "webhook-not-configured")
