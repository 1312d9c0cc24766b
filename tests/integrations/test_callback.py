"""The callback: state checks (unknown, replayed, expired, another person's, another provider's),
the provider's refusals and failures, all ending on the settings page with an error code."""

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select, update

from opmaestro.integrations.models import IntegrationAuthorization, IntegrationConnection
from tests.factories import create_user, sign_in
from tests.integrations.conftest import authorize
from tests.problems import assert_problem

URL = "/api/v1/integrations"


def outcome(response) -> dict[str, str]:
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert location.path == "/settings/integrations"
    return {name: values[0] for name, values in parse_qs(location.query).items()}


async def connections(session) -> int:
    return int(await session.scalar(select(func.count()).select_from(IntegrationConnection)) or 0)


def with_state(path: str, state: str) -> str:
    location = urlsplit(path)
    query = parse_qs(location.query)
    query["state"] = [state]
    return f"{location.path}?" + "&".join(f"{name}={values[0]}" for name, values in query.items())


class TestState:
    async def test_a_replayed_callback_is_refused(self, browser, session):
        callback = await authorize(browser, "google")
        assert outcome(await browser.get(callback)) == {"provider": "google", "connected": "1"}
        assert outcome(await browser.get(callback)) == {"provider": "google", "error": "invalid_state"}
        assert await connections(session) == 1

    async def test_an_expired_state_is_refused_and_spent(self, browser, session, clock):
        callback = await authorize(browser, "gusto")
        clock.advance(minutes=11)
        assert outcome(await browser.get(callback))["error"] == "expired_state"
        assert await connections(session) == 0
        assert await session.scalar(select(func.count()).select_from(IntegrationAuthorization)) == 0

    async def test_another_persons_state_is_refused_and_spent(self, browser, session, make_client):
        callback = await authorize(browser, "google")
        await create_user(session, "mallory@example.com", name="Mallory")
        mallory = make_client()
        await sign_in(mallory, "mallory@example.com")
        assert outcome(await mallory.get(callback))["error"] == "invalid_state"
        # The owner cannot finish with it either: a state that leaked is never used.
        assert outcome(await browser.get(callback))["error"] == "invalid_state"
        assert await connections(session) == 0

    async def test_a_state_of_another_provider_is_refused(self, browser, session):
        callback = await authorize(browser, "google")
        assert outcome(await browser.get(callback.replace("/google/", "/gusto/")))["error"] == "invalid_state"
        assert await connections(session) == 0

    @pytest.mark.parametrize("state", ["", "forged", "A" * 2048])
    async def test_a_missing_or_forged_state_is_refused(self, browser, session, state):
        callback = await authorize(browser, "stripe")
        assert outcome(await browser.get(with_state(callback, state)))["error"] == "invalid_state"
        assert await connections(session) == 0

    async def test_a_tampered_code_fails_at_the_provider(self, browser, session):
        callback = await authorize(browser, "google")
        tampered = callback.replace("code=", "code=x")
        assert outcome(await browser.get(tampered))["error"] == "provider_error"
        assert await connections(session) == 0

    async def test_a_refusal_at_the_provider_is_shown(self, browser, session):
        started = await browser.post(f"{URL}/google/connect")
        state = parse_qs(urlsplit(started.json()["authorization_url"]).query)["state"][0]
        denied = await browser.get(
            f"{URL}/google/callback",
            params={"state": state, "error": "access_denied", "error_description": "no"},
        )
        assert outcome(denied)["error"] == "access_denied"
        assert await connections(session) == 0

    async def test_a_missing_code_is_shown(self, browser):
        started = await browser.post(f"{URL}/gusto/connect")
        state = parse_qs(urlsplit(started.json()["authorization_url"]).query)["state"][0]
        assert (
            outcome(await browser.get(f"{URL}/gusto/callback", params={"state": state}))["error"]
            == "missing_code"
        )

    async def test_oversized_and_unknown_parameters_are_problems(self, browser):
        assert_problem(await browser.get(f"{URL}/google/callback", params={"state": "s" * 2049}), 422)
        assert_problem(await browser.get(f"{URL}/google/callback", params={"state": "s", "debug": "1"}), 422)

    async def test_the_echoes_of_the_provider_are_accepted(self, browser):
        started = await browser.post(f"{URL}/google/connect")
        state = parse_qs(urlsplit(started.json()["authorization_url"]).query)["state"][0]
        answer = await browser.get(
            f"{URL}/google/callback",
            params={
                "state": state,
                "error": "access_denied",
                "authuser": "0",
                "prompt": "consent",
                "iss": "x",
            },
        )
        assert outcome(answer)["error"] == "access_denied"

    async def test_a_new_connect_replaces_the_pending_one(self, browser, session):
        first = await authorize(browser, "google")
        second = await authorize(browser, "google")
        assert outcome(await browser.get(first))["error"] == "invalid_state"
        assert outcome(await browser.get(second))["connected"] == "1"

    async def test_a_verifier_no_key_reads_is_refused(self, browser, session):
        callback = await authorize(browser, "google")
        await session.execute(update(IntegrationAuthorization).values(code_verifier="not-a-fernet-token"))
        await session.commit()
        assert outcome(await browser.get(callback))["error"] == "invalid_state"
        assert await connections(session) == 0


class TestProviderFailures:
    @pytest.mark.parametrize("failure", ["invalid_grant", "500", "invalid_client"])
    async def test_token_endpoint_failures_end_on_the_settings_page(self, browser, session, fake, failure):
        callback = await authorize(browser, "gusto")
        fake.state.failures["gusto.token"] = failure
        assert outcome(await browser.get(callback))["error"] == "provider_error"
        assert await connections(session) == 0

    async def test_a_failing_profile_read_stores_nothing(self, browser, session, fake):
        callback = await authorize(browser, "google")
        fake.state.failures["google.userinfo"] = "500"
        assert outcome(await browser.get(callback))["error"] == "provider_error"
        assert await connections(session) == 0

    @pytest.mark.parametrize("overrides", [{"integration_http_timeout_seconds": 0.5}])
    async def test_a_provider_that_never_answers_times_out(self, browser, session, fake):
        callback = await authorize(browser, "stripe")
        fake.state.failures["stripe.token"] = "hang"
        assert outcome(await browser.get(callback))["error"] == "provider_error"
        assert await connections(session) == 0
