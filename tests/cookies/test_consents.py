"""POST /cookie-consents and GET /cookie-consents/current for anonymous browsers: devices, GPC, DNT."""

import json

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, update

from opmaestro.consent import ledger
from opmaestro.consent.models import ConsentEvent
from opmaestro.cookies import banner, devices
from opmaestro.cookies.devices import DEVICE_COOKIE
from opmaestro.cookies.models import CookieBannerRevision, CookieDevice, CookieDeviceState
from tests.consent.test_receipts import verify_with_jwks
from tests.cookies.helpers import CONSENTS, COOKIE_PURPOSES, CURRENT, by_purpose, choose, device_cookie
from tests.databases import statements_on


async def count(session, model) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


class TestFirstChoice:
    async def test_records_the_whole_choice_and_sets_the_device_cookie(self, client, session):
        response = await client.post(CONSENTS, json={"revision": 1, "accepted": ["necessary", "analytics"]})
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["categories"] == {
            "necessary": True,
            "preferences": False,
            "analytics": True,
            "marketing": False,
        }
        assert body["revision"] == 1 and body["method"] == "banner" and body["gpc_honored"] is False
        assert [event["purpose_key"] for event in body["events"]] == COOKIE_PURPOSES
        assert {e["purpose_key"]: e["action"] for e in body["events"]} == {
            "personalization": "denied",
            "analytics": "granted",
            "marketing_cookies": "denied",
        }
        set_cookie = response.headers["set-cookie"]
        assert set_cookie.startswith(f"{DEVICE_COOKIE}=")
        for attribute in ("HttpOnly", "Path=/", "SameSite=lax", "Max-Age=34128000"):
            assert attribute in set_cookie
        assert "Secure" not in set_cookie  # the test server is plain HTTP
        assert await count(session, CookieDevice) == 1

    async def test_events_land_on_the_devices_own_intact_chain(self, client, session, cookie_settings):
        await choose(client, "analytics")
        await choose(client)
        device_id = devices.verified_id(cookie_settings, device_cookie(client))
        subject = devices.device_subject(device_id)
        events = (await session.scalars(select(ConsentEvent).where(ConsentEvent.subject == subject))).all()
        assert len(events) == 6
        assert all(e.device_id == device_id.hex and e.subject_user_id is None for e in events)
        assert {e.method for e in events} == {"banner"}
        assert {e.actor_kind for e in events} == {"subject"}
        report = await ledger.verify_chain(session, subject)
        assert report.intact and report.events == 6

    async def test_a_second_choice_reuses_the_device_and_withdraws_what_was_granted(self, client, session):
        await choose(client, "analytics", "marketing")
        response = await client.post(CONSENTS, json={"revision": 1, "accepted": ["preferences"]})
        assert response.status_code == 201
        assert "set-cookie" not in response.headers
        actions = {e["purpose_key"]: e["action"] for e in response.json()["events"]}
        assert actions == {
            "personalization": "granted",
            "analytics": "withdrawn",
            "marketing_cookies": "withdrawn",
        }
        assert await count(session, CookieDevice) == 1
        assert await count(session, CookieDeviceState) == 3

    async def test_a_new_device_choice_takes_few_statements(self, client, session):
        with statements_on(session) as seen:
            await choose(client, "analytics")
        # revision, device, audit, lock + context, events, head, state (a new chain has no answers)
        writes = [s for s in seen if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN"))]
        assert len(writes) == 7, writes


class TestRevision:
    @pytest.mark.parametrize("revision", [2, 99_999])
    async def test_a_choice_on_a_revision_the_banner_never_had_is_refused(self, client, session, revision):
        response = await client.post(CONSENTS, json={"revision": revision, "accepted": ["analytics"]})
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith(":stale-banner-revision")
        assert DEVICE_COOKIE not in response.cookies
        assert await session.scalar(select(func.count()).select_from(ConsentEvent)) == 0

    async def test_after_a_material_change_only_the_new_revision_is_accepted(self, client, session):
        await choose(client, "analytics")
        await session.execute(update(CookieBannerRevision).values(revision=2))
        await session.commit()
        banner.forget()
        stale = await client.post(CONSENTS, json={"revision": 1, "accepted": ["marketing"]})
        assert stale.status_code == 409
        assert (await client.get(CURRENT)).json()["categories"]["marketing"] is False
        fresh = await client.post(CONSENTS, json={"revision": 2, "accepted": ["marketing"]})
        assert fresh.status_code == 201 and fresh.json()["revision"] == 2


class TestCurrent:
    async def test_is_404_before_any_choice(self, client):
        response = await client.get(CURRENT)
        assert response.status_code == 404
        assert response.json()["type"] == "urn:opmaestro:problem:no-cookie-choice"

    async def test_returns_the_devices_choice(self, client):
        posted = await choose(client, "preferences", "marketing")
        response = await client.get(CURRENT)
        assert response.status_code == 200
        assert response.json() == posted

    async def test_one_device_cannot_read_anothers_choice(self, client, make_client):
        await choose(client, "analytics")
        other = make_client()
        assert (await other.get(CURRENT)).status_code == 404
        await choose(other)
        assert (await other.get(CURRENT)).json()["categories"]["analytics"] is False
        assert (await client.get(CURRENT)).json()["categories"]["analytics"] is True


class TestForgedDevice:
    @pytest.mark.parametrize(
        "value",
        [
            "0123456789abcdef0123456789abcdef.forged-signature-forged-signature",
            "not-a-device",
            "0123456789abcdef0123456789abcdef",
            "zz23456789abcdef0123456789abcdef.abc",
        ],
    )
    async def test_is_refused_before_anything_is_written_and_cleared(self, client, session, value):
        client.cookies.set(DEVICE_COOKIE, value)
        response = await client.post(CONSENTS, json={"revision": 1, "accepted": []})
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:opmaestro:problem:invalid-device"
        assert response.headers["set-cookie"].startswith(f'{DEVICE_COOKIE}=""; Max-Age=0')
        assert await count(session, CookieDevice) == 0
        assert (await client.get(CURRENT)).status_code == 400

    async def test_a_signed_id_of_another_server_is_refused(self, client, cookie_settings):
        other_key = SecretStr("another-secret-another-secret-another")
        foreign = cookie_settings.model_copy(update={"secret_key": other_key})
        client.cookies.set(DEVICE_COOKIE, devices.cookie_value(foreign, devices.new_device_id()))
        assert (await client.post(CONSENTS, json={"revision": 1, "accepted": []})).status_code == 400

    async def test_a_genuine_id_whose_device_is_gone_gets_a_new_device(
        self, client, session, cookie_settings
    ):
        gone = devices.new_device_id()
        client.cookies.set(DEVICE_COOKIE, devices.cookie_value(cookie_settings, gone))
        response = await client.post(CONSENTS, json={"revision": 1, "accepted": []})
        assert response.status_code == 201
        assert gone.hex not in response.headers["set-cookie"]
        assert await count(session, CookieDevice) == 1


class TestValidation:
    @pytest.mark.parametrize(
        "body",
        [
            {"revision": 1, "accepted": ["analytics", "analytics"]},
            {"revision": 1, "accepted": ["advertising"]},
            {"revision": 1, "accepted": ["analytics"], "extra": True},
            {"revision": "1", "accepted": []},
            {"revision": 0, "accepted": []},
            {"revision": 1},
            {"accepted": []},
            {"revision": 1, "accepted": "analytics"},
            {"revision": 1, "accepted": [], "gpc": "yes"},
            {"revision": 1, "accepted": ["necessary", "preferences", "analytics", "marketing", "necessary"]},
            [],
        ],
    )
    async def test_invalid_bodies_are_422(self, client, session, body):
        response = await client.post(CONSENTS, json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert await count(session, CookieDevice) == 0

    async def test_malformed_json_is_400(self, client):
        response = await client.post(
            CONSENTS, content=b'{"revision": 1,', headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["type"] == "urn:opmaestro:problem:malformed-json"

    @pytest.mark.parametrize(
        "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]
    )
    async def test_only_json_is_accepted_so_a_form_on_another_site_cannot_post(
        self, client, session, content_type
    ):
        response = await client.post(
            CONSENTS,
            content=json.dumps({"revision": 1, "accepted": []}),
            headers={"Content-Type": content_type},
        )
        assert response.status_code == 415
        assert response.headers["content-type"] == "application/problem+json"
        assert await count(session, CookieDevice) == 0

    async def test_an_oversized_body_is_413(self, client):
        body = json.dumps({"revision": 1, "accepted": [], "pad": "x" * 1_100_000})
        response = await client.post(CONSENTS, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"


class TestGlobalPrivacyControl:
    async def test_sec_gpc_keeps_marketing_off_and_says_so(self, client):
        body = await choose(client, "analytics", "marketing", headers={"Sec-GPC": "1"})
        assert body["categories"]["marketing"] is False and body["categories"]["analytics"] is True
        assert body["gpc_honored"] is True and body["method"] == "gpc"
        events = by_purpose(body)
        assert events["marketing_cookies"]["method"] == "gpc"
        assert events["marketing_cookies"]["action"] == "denied"
        assert events["analytics"]["method"] == "banner"

    async def test_the_pages_signal_in_the_body_counts_too(self, client):
        body = await choose(client, "marketing", extra={"gpc": True})
        assert body["categories"]["marketing"] is False and body["gpc_honored"] is True

    async def test_gpc_withdraws_an_earlier_marketing_grant(self, client):
        await choose(client, "marketing")
        body = await choose(client, "marketing", headers={"Sec-GPC": "1"})
        assert by_purpose(body)["marketing_cookies"]["action"] == "withdrawn"

    async def test_another_header_value_is_no_signal(self, client):
        body = await choose(client, "marketing", headers={"Sec-GPC": "0"})
        assert body["categories"]["marketing"] is True and body["gpc_honored"] is False


class TestDoNotTrack:
    async def test_is_not_acted_on_by_default(self, client):
        body = await choose(client, "marketing", headers={"DNT": "1"})
        assert body["categories"]["marketing"] is True and body["gpc_honored"] is False

    @pytest.mark.parametrize("overrides", [{"honor_do_not_track": True}])
    async def test_counts_as_gpc_when_configured(self, client, overrides):
        body = await choose(client, "marketing", headers={"DNT": "1"})
        assert body["categories"]["marketing"] is False
        assert by_purpose(body)["marketing_cookies"]["method"] == "gpc"


class TestRateLimit:
    @pytest.mark.parametrize("overrides", [{"cookie_consents_per_ip": 2}])
    async def test_choices_per_address_are_limited(self, client, make_client, session, overrides):
        await choose(client)
        await choose(client)
        response = await make_client().post(CONSENTS, json={"revision": 1, "accepted": []})
        assert response.status_code == 429
        assert response.headers["content-type"] == "application/problem+json"
        assert int(response.headers["retry-after"]) >= 1
        assert await count(session, CookieDevice) == 1


class TestReceipts:
    async def test_each_event_has_a_signed_receipt_for_this_device(self, client):
        body = await choose(client, "analytics")
        event = by_purpose(body)["analytics"]
        response = await client.get(f"{CONSENTS}/receipts/{event['event_id']}")
        assert response.status_code == 200, response.text
        claims = await verify_with_jwks(client, response.json()["receipt"])
        assert claims["consentReceiptID"] == event["event_id"]
        assert claims["collectionMethod"] == "banner" and claims["action"] == "granted"
        assert claims["piiPrincipalId"] == device_cookie(client).split(".")[0]
        assert claims["services"][0]["purposes"][0]["purpose"] == "analytics"

    async def test_another_devices_receipt_is_not_found(self, client, make_client):
        event_id = (await choose(client, "analytics"))["events"][0]["event_id"]
        other = make_client()
        assert (await other.get(f"{CONSENTS}/receipts/{event_id}")).status_code == 404
        await choose(other)
        response = await other.get(f"{CONSENTS}/receipts/{event_id}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"

    async def test_a_malformed_event_id_is_422(self, client):
        await choose(client)
        assert (await client.get(f"{CONSENTS}/receipts/not-a-uuid")).status_code == 422
