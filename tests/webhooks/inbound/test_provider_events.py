"""What the integrations do with provider events, delivered signed through the real routes and
handled by the real job; and the Google Calendar push channels opened at a fake Google."""

import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select

from opmaestro.accounts.models import UserSession
from opmaestro.audit.models import AuditRecord
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.integrations import crypto, provider_events
from opmaestro.integrations import service as integrations
from opmaestro.integrations.models import IntegrationConnection, IntegrationEmployee, SyncStatus
from opmaestro.webhooks.inbound import calendar_push, risc
from opmaestro.webhooks.inbound.models import EventState, GustoSubscription, PushChannel
from opmaestro.webhooks.inbound.store import HANDLE_JOB
from tests.factories import create_user, sign_in
from tests.webhooks.inbound.conftest import stored
from tests.webhooks.inbound.fakes import FakeGoogle, SigningKeyPair
from tests.webhooks.inbound.signing import gusto_event, gusto_signature, stripe_event, stripe_signature

GOOGLE_SUB = "108234567890123456789"
GUSTO_COMPANY = "c2b5a3c4-6f8d-4b7e-9a1f-3d2e1c0b9a87"
STRIPE_ACCOUNT = "acct_1Nv0FGQ9RKHgCVdK"
GUSTO_TOKEN = "gusto-verification-token"
AUDIENCE = "client-1.apps.googleusercontent.com"
TOKEN_KEY = Fernet.generate_key().decode()


@pytest.fixture(scope="module")
def google_key() -> SigningKeyPair:
    return SigningKeyPair("google-key")


@pytest.fixture
def google(google_key):
    """Google: RISC keys, and the Calendar API's `events.watch` and `channels.stop`."""
    server = FakeGoogle(google_key)
    server.watch_answers: list[dict[str, Any]] = []

    def watch(request):
        if request.headers.get("authorization") != "Bearer google-access":
            return 401, {"error": {"code": 401, "message": "Invalid Credentials"}}
        body = json.loads(request.body)
        answer = {
            "kind": "api#channel",
            "id": body["id"],
            "resourceId": f"resource-{len(server.watch_answers)}",
            "resourceUri": "https://www.googleapis.com/calendar/v3/calendars/primary/events",
            "token": body["token"],
            "expiration": str(int((time.time() + 7 * 86400) * 1000)),
        }
        server.watch_answers.append(body)
        return 200, answer

    server.routes[("POST", "/calendar/v3/calendars/primary/events/watch")] = watch
    server.routes[("POST", "/calendar/v3/channels/stop")] = lambda _request: (204, {})
    yield server.start()
    server.stop()


@pytest.fixture
def overrides(google) -> dict[str, Any]:
    return {
        "integration_token_keys": SecretStr(TOKEN_KEY),
        "google_risc_configuration_url": google.configuration_url,
        "google_api_base_url": f"{google.base_url}/calendar/v3",
    }


@pytest.fixture
async def ann(session):
    return await create_user(session, "ann@example.com", name="Ann Lee")


async def connection(session, settings, user, provider: str, subject: str, **fields) -> IntegrationConnection:
    now = utcnow()
    made = IntegrationConnection(
        user_id=user.id,
        provider=provider,
        subject=subject,
        granted_scopes=["read"],
        access_token=crypto.encrypt(settings, f"{provider}-access"),
        refresh_token=crypto.encrypt(settings, f"{provider}-refresh"),
        expires_at=now + timedelta(hours=1),
        connected_at=now - timedelta(hours=1),
        last_synced_at=now,
        sync_status=SyncStatus.SUCCEEDED,
    )
    for name, value in fields.items():
        setattr(made, name, value)
    session.add(made)
    await session.commit()
    return made


async def handle_all(session, runner) -> int:
    """Run the queued event-handling jobs (not the imports they queue)."""
    ids = list(
        await session.scalars(
            select(jobs.Job.id).where(jobs.Job.name == HANDLE_JOB, jobs.Job.status == jobs.JobStatus.QUEUED)
        )
    )
    return sum([await runner.run_by_id(job_id) for job_id in ids])


async def syncs_queued(session) -> int:
    return len(
        list(
            await session.scalars(
                select(jobs.Job.id).where(
                    jobs.Job.name == integrations.SYNC_JOB, jobs.Job.status == jobs.JobStatus.QUEUED
                )
            )
        )
    )


def risc_token(key: SigningKeyPair, event_type: str, **changes: Any) -> bytes:
    claims = {
        "iss": "https://accounts.google.com/",
        "aud": AUDIENCE,
        "iat": int(time.time()),
        "jti": uuid.uuid4().hex,
        "events": {event_type: {"subject": {"subject_type": "iss_sub", "iss": "x", "sub": GOOGLE_SUB}}},
    } | changes
    return key.sign(claims).encode()


async def send_risc(client, token: bytes) -> None:
    response = await client.post(
        "/api/v1/webhooks/google/risc", content=token, headers={"content-type": "application/secevent+jwt"}
    )
    assert response.status_code == 202, response.text


class TestCrossAccountProtection:
    @pytest.mark.parametrize("event_type", [risc.SESSIONS_REVOKED, risc.ACCOUNT_DISABLED])
    async def test_the_person_is_signed_out_and_the_google_tokens_dropped(
        self, client, make_client, session, runner, hook_settings, ann, google_key, event_type
    ):
        ann_id = ann.id
        google = await connection(session, hook_settings, ann, "google", GOOGLE_SUB)
        google_id = google.id
        browser = make_client()
        await sign_in(browser, "ann@example.com")
        assert (await browser.get("/api/v1/me")).status_code == 200
        await send_risc(client, risc_token(google_key, event_type))
        assert await handle_all(session, runner) == 1

        assert (await browser.get("/api/v1/me")).status_code == 401
        session.expire_all()
        sessions = list(await session.scalars(select(UserSession).where(UserSession.user_id == ann_id)))
        assert sessions and all(found.revoked_at is not None for found in sessions)
        refreshed = await session.get(IntegrationConnection, google_id)
        assert refreshed.access_token is None and refreshed.refresh_token is None
        [event] = await stored(session, provider="google_risc")
        assert event.state == EventState.HANDLED and event.user_id == ann_id
        actions = set(await session.scalars(select(AuditRecord.action)))
        assert {"account.signed_out_by_provider", "integration.tokens_dropped"} <= actions

    async def test_tokens_revoked_drops_the_tokens_and_keeps_the_sessions(
        self, client, make_client, session, runner, hook_settings, ann, google_key
    ):
        google = await connection(session, hook_settings, ann, "google", GOOGLE_SUB)
        google_id = google.id
        browser = make_client()
        await sign_in(browser, "ann@example.com")
        await send_risc(client, risc_token(google_key, risc.TOKENS_REVOKED))
        await handle_all(session, runner)
        assert (await browser.get("/api/v1/me")).status_code == 200
        session.expire_all()
        assert (await session.get(IntegrationConnection, google_id)).access_token is None

    async def test_an_event_issued_before_the_person_connected_again_spares_the_new_grant(
        self, client, session, runner, hook_settings, ann, google_key
    ):
        google = await connection(
            session, hook_settings, ann, "google", GOOGLE_SUB, connected_at=utcnow() + timedelta(minutes=1)
        )
        google_id = google.id
        old = int(time.time()) - 600
        await send_risc(client, risc_token(google_key, risc.TOKENS_REVOKED, iat=old))
        await handle_all(session, runner)
        session.expire_all()
        assert (await session.get(IntegrationConnection, google_id)).access_token is not None

    async def test_an_account_nobody_connected_is_handled_without_effect(
        self, client, session, runner, google_key
    ):
        await send_risc(client, risc_token(google_key, risc.SESSIONS_REVOKED))
        assert await handle_all(session, runner) == 1
        [event] = await stored(session, provider="google_risc")
        assert event.state == EventState.HANDLED and event.user_id is None

    async def test_the_push_channels_of_a_dropped_grant_are_closed(
        self, client, session, runner, hook_settings, ann, google_key
    ):
        google = await connection(session, hook_settings, ann, "google", GOOGLE_SUB)
        await calendar_push.register_push_channel(
            session,
            owner_user_id=ann.id,
            connection_ref=str(google.id),
            channel_id="channel-1",
            token="t",
            resource_id="r",
            expires_at=utcnow() + timedelta(days=5),
        )
        await session.commit()
        await send_risc(client, risc_token(google_key, risc.TOKENS_REVOKED))
        await handle_all(session, runner)
        assert await calendar_push.open_channels_of(session, str(google.id)) == []


class TestCalendarPush:
    async def test_a_change_queues_one_import_of_the_connection(
        self, client, session, runner, hook_settings, ann
    ):
        google = await connection(session, hook_settings, ann, "google", GOOGLE_SUB)
        google_id = google.id
        await calendar_push.register_push_channel(
            session,
            owner_user_id=ann.id,
            connection_ref=str(google.id),
            channel_id="channel-1",
            token="channel-token",
            resource_id="resource-1",
            expires_at=utcnow() + timedelta(days=5),
        )
        await session.commit()
        for number in ("2", "3"):
            headers = {
                "X-Goog-Channel-ID": "channel-1",
                "X-Goog-Channel-Token": "channel-token",
                "X-Goog-Resource-ID": "resource-1",
                "X-Goog-Resource-State": "exists",
                "X-Goog-Message-Number": number,
            }
            assert (await client.post("/api/v1/webhooks/google/calendar", headers=headers)).status_code == 200
        assert await handle_all(session, runner) == 2
        # Two notifications, one import: the second found it already queued.
        assert await syncs_queued(session) == 1
        session.expire_all()
        assert (await session.get(IntegrationConnection, google_id)).sync_status == SyncStatus.PENDING


class TestGusto:
    @pytest.fixture
    async def subscription(self, session, hook_settings):
        from opmaestro.webhooks.inbound.gusto_events import encrypt_token

        session.add(
            GustoSubscription(
                subscription_uuid="s",
                token_encrypted=encrypt_token(hook_settings, GUSTO_TOKEN),
                token_hash="h",
                verified_at=utcnow(),
            )
        )
        await session.commit()

    async def send(self, client, **fields) -> None:
        body = gusto_event(resource_uuid=GUSTO_COMPANY, **fields)
        response = await client.post(
            "/api/v1/webhooks/gusto",
            content=body,
            headers={
                "x-gusto-signature": gusto_signature(body, GUSTO_TOKEN),
                "content-type": "application/json",
            },
        )
        assert response.status_code == 200, response.text

    async def test_an_employee_change_queues_an_import_of_each_connection_to_the_company(
        self, client, session, runner, hook_settings, ann, subscription
    ):
        bob = await create_user(session, "bob@example.com")
        await connection(session, hook_settings, ann, "gusto", GUSTO_COMPANY)
        await connection(session, hook_settings, bob, "gusto", GUSTO_COMPANY)
        await self.send(client, event_type="employee.updated")
        assert await handle_all(session, runner) == 1
        assert await syncs_queued(session) == 2

    async def test_an_older_event_after_a_newer_one_queues_nothing_more(
        self, client, session, runner, hook_settings, ann, subscription
    ):
        gusto = await connection(session, hook_settings, ann, "gusto", GUSTO_COMPANY)
        gusto_id = gusto.id
        now = int(time.time())
        await self.send(client, event_type="employee.created", timestamp=now)
        await handle_all(session, runner)
        session.expire_all()
        (await session.get(IntegrationConnection, gusto_id)).sync_status = SyncStatus.SUCCEEDED
        await session.commit()
        await self.send(client, event_type="employee.updated", timestamp=now - 30)
        await handle_all(session, runner)
        assert await syncs_queued(session) == 1


class TestStripe:
    async def send(self, client, **fields) -> None:
        body = stripe_event(
            f"evt_{uuid.uuid4().hex}",
            provider_events.STRIPE_DEAUTHORIZED,
            account=STRIPE_ACCOUNT,
            data={"object": {"id": "ca_TestClient", "object": "application", "name": "OpMaestro"}},
            **fields,
        )
        response = await client.post(
            "/api/v1/webhooks/stripe", content=body, headers={"stripe-signature": stripe_signature(body)}
        )
        assert response.status_code == 200, response.text

    async def test_a_deauthorized_account_is_disconnected_and_its_imports_deleted(
        self, client, session, runner, hook_settings, ann
    ):
        ann_id = ann.id
        stripe = await connection(
            session, hook_settings, ann, "stripe", STRIPE_ACCOUNT, account_name="Lee Bakery"
        )
        stripe_id = stripe.id
        await self.send(client)
        assert await handle_all(session, runner) == 1
        session.expire_all()
        assert await session.get(IntegrationConnection, stripe_id) is None
        [event] = await stored(session, provider="stripe")
        assert event.state == EventState.HANDLED and event.user_id == ann_id
        actions = set(await session.scalars(select(AuditRecord.action)))
        assert "integration.disconnected" in actions

    async def test_a_deauthorization_older_than_a_new_connection_is_ignored(
        self, client, session, runner, hook_settings, ann
    ):
        later = utcnow() + timedelta(minutes=5)
        stripe = await connection(session, hook_settings, ann, "stripe", STRIPE_ACCOUNT, connected_at=later)
        stripe_id = stripe.id
        await self.send(client)
        await handle_all(session, runner)
        session.expire_all()
        assert await session.get(IntegrationConnection, stripe_id) is not None

    async def test_other_imports_are_untouched(self, client, session, runner, hook_settings, ann):
        gusto = await connection(session, hook_settings, ann, "gusto", GUSTO_COMPANY)
        employee = IntegrationEmployee(connection_id=gusto.id, user_id=ann.id, external_id="e1")
        session.add(employee)
        await session.commit()
        await connection(session, hook_settings, ann, "stripe", STRIPE_ACCOUNT)
        await self.send(client)
        await handle_all(session, runner)
        assert len(list(await session.scalars(select(IntegrationEmployee)))) == 1


class TestCalendarChannels:
    async def test_an_imported_google_connection_gets_a_channel_at_google(
        self, session, hook_settings, ann, google
    ):
        google_connection = await connection(session, hook_settings, ann, "google", GOOGLE_SUB)
        counts = await provider_events.maintain_calendar_channels(session, hook_settings)
        assert counts == {"opened": 1, "renewed": 0, "closed": 0}
        [body] = google.watch_answers
        assert body["type"] == "web_hook" and body["address"].endswith("/api/v1/webhooks/google/calendar")
        [channel] = await calendar_push.open_channels_of(session, str(google_connection.id))
        assert channel.channel_id == body["id"] and channel.resource_id == "resource-0"
        assert body["token"] not in channel.token_hash
        # Google's `expiration` (milliseconds) is the channel's end.
        assert channel.expires_at > utcnow() + timedelta(days=6)
        assert await provider_events.maintain_calendar_channels(session, hook_settings) == {
            "opened": 0,
            "renewed": 0,
            "closed": 0,
        }

    async def test_a_channel_ending_within_a_day_is_renewed_and_the_old_one_stopped(
        self, session, hook_settings, ann, google
    ):
        google_connection = await connection(session, hook_settings, ann, "google", GOOGLE_SUB)
        await provider_events.maintain_calendar_channels(session, hook_settings)
        [old] = await calendar_push.open_channels_of(session, str(google_connection.id))
        old.expires_at = utcnow() + timedelta(hours=12)
        await session.commit()
        counts = await provider_events.maintain_calendar_channels(session, hook_settings)
        assert counts == {"opened": 0, "renewed": 1, "closed": 0}
        [new] = await calendar_push.open_channels_of(session, str(google_connection.id))
        assert new.channel_id != old.channel_id and old.closed_at is not None
        assert google.hits("/calendar/v3/channels/stop") == 1

    async def test_channels_of_a_connection_without_tokens_are_closed(
        self, session, hook_settings, ann, google
    ):
        google_connection = await connection(session, hook_settings, ann, "google", GOOGLE_SUB)
        await provider_events.maintain_calendar_channels(session, hook_settings)
        await integrations.drop_tokens(session, google_connection, reason="test")
        await session.commit()
        counts = await provider_events.maintain_calendar_channels(session, hook_settings)
        assert counts == {"opened": 0, "renewed": 0, "closed": 1}
        assert await calendar_push.open_channels_of(session, str(google_connection.id)) == []

    async def test_google_refusing_the_watch_opens_nothing(self, session, hook_settings, ann, google):
        await connection(session, hook_settings, ann, "google", GOOGLE_SUB, access_token=None)
        await connection(
            session,
            hook_settings,
            await create_user(session, "bob@example.com"),
            "google",
            "another-sub",
            access_token=crypto.encrypt(hook_settings, "a-token-google-does-not-know"),
        )
        counts = await provider_events.maintain_calendar_channels(session, hook_settings)
        assert counts == {"opened": 0, "renewed": 0, "closed": 0}
        assert list(await session.scalars(select(PushChannel))) == []

    async def test_the_job_runs_every_ten_minutes(self):
        assert jobs.periodic_jobs()[provider_events.CALENDAR_CHANNELS_JOB] == timedelta(minutes=10)
