"""Signed-in choices, and signing in or up joining a browser's device and the account."""

import pytest
from sqlalchemy import select

from opmaestro.consent import ledger
from opmaestro.consent.models import user_subject
from opmaestro.cookies import devices
from opmaestro.cookies.models import CookieDevice, CookieDeviceState
from tests.consent.helpers import consents_by_key, create_token, put_consent
from tests.cookies.helpers import CONSENTS, COOKIE_PURPOSES, CURRENT, by_purpose, choose, device_cookie
from tests.factories import create_user, registration, sign_in

EMAIL = "ann@example.com"


async def cookie_events(client) -> list[dict]:
    response = await client.get("/api/v1/me/consents/events", params={"limit": 100})
    assert response.status_code == 200, response.text
    return [event for event in response.json()["items"] if event["purpose_key"] in COOKIE_PURPOSES]


async def device_of(session, settings, client) -> CookieDevice:
    device_id = devices.verified_id(settings, device_cookie(client))
    found = await session.get(CookieDevice, device_id, populate_existing=True)
    assert found is not None
    return found


class TestSignedInChoice:
    async def test_is_recorded_on_the_account_and_the_device(self, client, session, cookie_settings):
        user = await create_user(session, EMAIL)
        await sign_in(client, EMAIL)
        body = await choose(client, "analytics")
        events = await cookie_events(client)
        assert sorted(e["purpose_key"] for e in events) == sorted(COOKIE_PURPOSES)
        assert {e["method"] for e in events} == {"banner"}
        assert {e["id"] for e in events} == {e["event_id"] for e in body["events"]}
        device = await device_of(session, cookie_settings, client)
        assert device.user_id == user.id
        assert (await ledger.verify_chain(session, user_subject(user.id))).intact
        assert (await ledger.verify_chain(session, devices.device_subject(device.id))).events == 3
        mine = await consents_by_key(client)
        assert mine["analytics"]["granted"] is True and mine["marketing_cookies"]["granted"] is False

    async def test_receipts_of_account_events_come_from_the_account_routes(self, client, session):
        await create_user(session, EMAIL)
        await sign_in(client, EMAIL)
        event_id = by_purpose(await choose(client, "analytics"))["analytics"]["event_id"]
        response = await client.get(f"/api/v1/me/consents/events/{event_id}/receipt")
        assert response.status_code == 200
        assert response.json()["claims"]["collectionMethod"] == "banner"
        assert (await client.get(f"{CONSENTS}/receipts/{event_id}")).status_code == 404

    async def test_without_the_csrf_header_the_caller_is_anonymous(self, client, session, cookie_settings):
        await create_user(session, EMAIL)
        await sign_in(client, EMAIL)
        csrf = client.headers.pop("X-CSRF-Token")
        await choose(client, "analytics")
        client.headers["X-CSRF-Token"] = csrf
        assert await cookie_events(client) == []
        assert (await device_of(session, cookie_settings, client)).user_id is None

    async def test_current_is_the_accounts_answer(self, client, session, make_client):
        await create_user(session, EMAIL)
        await sign_in(client, EMAIL)
        await choose(client, "preferences")
        await put_consent(client, "analytics", True)
        current = (await client.get(CURRENT)).json()
        assert current["categories"] == {
            "necessary": True,
            "preferences": True,
            "analytics": True,
            "marketing": False,
        }
        assert current["method"] == "settings" and current["revision"] == 1

    async def test_a_newer_answer_given_as_a_visitor_is_not_undone_by_the_accounts(self, client, session):
        # The marketing site's banner sends no CSRF header: a signed-in browser answers as a visitor.
        await create_user(session, EMAIL)
        await sign_in(client, EMAIL)
        await choose(client, "preferences", "analytics", "marketing")
        csrf = client.headers.pop("X-CSRF-Token")
        await choose(client)
        current = (await client.get(CURRENT)).json()
        assert current["categories"] == {
            "necessary": True,
            "preferences": False,
            "analytics": False,
            "marketing": False,
        }
        client.headers["X-CSRF-Token"] = csrf
        # The account's own answers are unchanged until this browser signs in again.
        mine = await consents_by_key(client)
        assert mine["analytics"]["granted"] is True

    async def test_current_is_404_for_an_account_without_a_cookie_choice(self, client, session):
        await create_user(session, EMAIL)
        await sign_in(client, EMAIL)
        assert (await client.get(CURRENT)).status_code == 404

    async def test_a_bearer_token_is_not_a_banner_caller(self, client, session, make_client):
        await create_user(session, EMAIL)
        await sign_in(client, EMAIL)
        token = await create_token(client, "consent:read")
        api = make_client()
        response = await api.post(
            CONSENTS,
            json={"revision": 1, "accepted": ["analytics"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201
        assert await cookie_events(client) == []


class TestSignInMerge:
    async def test_a_newer_device_choice_joins_the_account(self, client, session, cookie_settings):
        user = await create_user(session, EMAIL)
        await choose(client, "analytics", "marketing")
        await sign_in(client, EMAIL)
        events = await cookie_events(client)
        assert {e["purpose_key"]: (e["action"], e["method"]) for e in events} == {
            "personalization": ("denied", "device_link"),
            "analytics": ("granted", "device_link"),
            "marketing_cookies": ("granted", "device_link"),
        }
        assert (await device_of(session, cookie_settings, client)).user_id == user.id
        states = (
            await session.scalars(select(CookieDeviceState).execution_options(populate_existing=True))
        ).all()
        assert {state.user_id for state in states} == {user.id}
        assert (await ledger.verify_chain(session, user_subject(user.id))).intact

    async def test_a_newer_account_choice_is_copied_to_the_device(
        self, client, session, make_client, cookie_settings
    ):
        await create_user(session, EMAIL)
        await choose(client, "analytics")  # the device's answer, older
        elsewhere = make_client()
        await sign_in(elsewhere, EMAIL)
        await put_consent(elsewhere, "analytics", False)  # the account's answer, newer
        await put_consent(elsewhere, "marketing_cookies", True)
        await sign_in(client, EMAIL)
        device = await device_of(session, cookie_settings, client)
        subject = devices.device_subject(device.id)
        report = await ledger.verify_chain(session, subject)
        assert report.intact and report.events == 5
        await client.post("/api/v1/auth/logout")
        current = (await client.get(CURRENT)).json()
        assert current["categories"]["analytics"] is False and current["categories"]["marketing"] is True
        assert by_purpose(current)["analytics"]["method"] == "device_link"
        assert by_purpose(current)["personalization"]["method"] == "banner"
        account = {e["purpose_key"]: e["method"] for e in await cookie_events(elsewhere)}
        assert account == {
            "analytics": "settings",
            "marketing_cookies": "settings",
            "personalization": "device_link",
        }

    async def test_signing_in_without_a_device_changes_nothing(self, client, session):
        await create_user(session, EMAIL)
        await sign_in(client, EMAIL)
        assert await cookie_events(client) == []

    async def test_a_forged_device_cookie_does_not_stop_the_sign_in(self, client, session):
        await create_user(session, EMAIL)
        client.cookies.set(devices.DEVICE_COOKIE, "forged.device")
        await sign_in(client, EMAIL)
        assert await cookie_events(client) == []

    async def test_a_device_of_another_account_keeps_its_choices_to_itself(
        self, client, session, make_client
    ):
        await create_user(session, EMAIL)
        await create_user(session, "bob@example.com")
        await sign_in(client, "bob@example.com")
        await choose(client, "marketing")
        await client.post("/api/v1/auth/logout")
        await sign_in(client, EMAIL)
        assert await cookie_events(client) == []

    async def test_answers_given_for_another_account_stay_that_accounts(
        self, client, session, make_client, cookie_settings
    ):
        ann = await create_user(session, EMAIL)
        bob = await create_user(session, "bob@example.com")
        await sign_in(client, "bob@example.com")
        await choose(client, "preferences", "analytics", "marketing")
        await client.post("/api/v1/auth/logout")
        elsewhere = make_client()
        await sign_in(elsewhere, EMAIL)
        await put_consent(elsewhere, "analytics", False)  # Ann's only cookie answer
        await sign_in(client, EMAIL)
        device = await device_of(session, cookie_settings, client)
        assert device.user_id == ann.id
        states = (
            await session.scalars(
                select(CookieDeviceState)
                .where(CookieDeviceState.device_id == device.id)
                .execution_options(populate_existing=True)
            )
        ).all()
        owners = {state.purpose_key: state.user_id for state in states}
        # Ann's answer replaced Bob's for analytics; Bob's other answers are still his, not Ann's.
        assert owners == {"analytics": ann.id, "personalization": bob.id, "marketing_cookies": bob.id}
        assert {state.purpose_key: state.granted for state in states}["analytics"] is False
        current = (await client.get(CURRENT)).json()
        assert current["categories"]["analytics"] is False
        assert current["categories"]["marketing"] is False  # Bob's answers are not Ann's


class TestSignUpMerge:
    @pytest.mark.parametrize("overrides", [{"mail_requests_per_ip": 100}])
    async def test_signing_up_links_the_device_and_takes_its_choice(
        self, client, session, cookie_settings, overrides
    ):
        await choose(client, "preferences")
        response = await client.post("/api/v1/auth/register", json=registration(email=EMAIL))
        assert response.status_code == 202, response.text
        device = await device_of(session, cookie_settings, client)
        assert device.user_id is not None
        await sign_in(client, EMAIL)
        events = {e["purpose_key"]: (e["action"], e["method"]) for e in await cookie_events(client)}
        assert events["personalization"] == ("granted", "device_link")
