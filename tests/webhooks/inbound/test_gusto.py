"""Gusto: the verification handshake, completing it (at Gusto's API or by staff), and events
signed with the verified token."""

import json
import time

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from opmaestro.audit.models import AuditRecord
from opmaestro.core.clock import utcnow
from opmaestro.webhooks.inbound.gusto_events import MAX_PENDING, encrypt_token, prune_unverified
from opmaestro.webhooks.inbound.models import GustoSubscription
from opmaestro.webhooks.inbound.store import HANDLE_JOB
from tests.consent.helpers import sign_in_staff
from tests.factories import create_user, sign_in
from tests.problems import assert_problem
from tests.webhooks.inbound.conftest import QUEUED_TYPE, queued, stored
from tests.webhooks.inbound.fakes import FakeServer
from tests.webhooks.inbound.signing import gusto_event, gusto_signature

URL = "/api/v1/webhooks/gusto"
ADMIN = "/api/v1/admin/webhooks/gusto-subscriptions"
TOKEN = "asdf1234verificationtoken"
SUBSCRIPTION = "be4a4ab6-3e89-4b52-a1f9-1e1c9bd1cd4c"
SYSTEM_TOKEN = "gusto-system-access-token"


def handshake(token: str = TOKEN, subscription: str = SUBSCRIPTION) -> bytes:
    return json.dumps({"verification_token": token, "webhook_subscription_uuid": subscription}).encode()


async def post(client, body: bytes, signature: str | bytes | None = None):
    headers: dict[str, str | bytes] = {"content-type": "application/json"}
    if signature is not None:
        headers["x-gusto-signature"] = signature
    return await client.post(URL, content=body, headers=headers)


async def verified(session, token: str = TOKEN) -> GustoSubscription:
    subscription = GustoSubscription(
        subscription_uuid=SUBSCRIPTION,
        token_encrypted=encrypt_token_for_tests(token),
        token_hash=token,
        verified_at=utcnow(),
    )
    session.add(subscription)
    await session.commit()
    return subscription


def encrypt_token_for_tests(token: str) -> str:
    from opmaestro.core.config import get_settings

    return encrypt_token(get_settings(), token)


class TestHandshake:
    async def test_the_token_is_kept_encrypted_and_never_trusted_before_verification(self, client, session):
        response = await post(client, handshake())
        assert response.status_code == 200 and response.json() == {"status": "acknowledged"}
        [subscription] = (await session.scalars(select(GustoSubscription))).all()
        assert subscription.subscription_uuid == SUBSCRIPTION and subscription.verified_at is None
        assert TOKEN not in subscription.token_encrypted and TOKEN not in subscription.token_hash
        body = gusto_event()
        assert_problem(await post(client, body, gusto_signature(body, TOKEN)), 404, "webhook-not-configured")

    async def test_the_token_is_not_logged(self, client, caplog):
        await post(client, handshake())
        assert TOKEN not in caplog.text

    async def test_a_repeated_handshake_is_kept_once(self, client, session):
        await post(client, handshake())
        await post(client, handshake())
        assert len((await session.scalars(select(GustoSubscription))).all()) == 1

    async def test_pending_handshakes_are_bounded(self, client, session):
        for n in range(MAX_PENDING):
            assert (await post(client, handshake(f"{TOKEN}-{n}"))).status_code == 200
        assert_problem(await post(client, handshake("one-too-many")), 429, "too-many-pending-subscriptions")

    async def test_forged_handshakes_stop_counting_after_a_day_and_are_pruned(self, client, session, clock):
        # Anyone can post a handshake; filling the slots must not lock the real one out for good.
        for n in range(MAX_PENDING):
            await post(client, handshake(f"{TOKEN}-{n}", f"forged-{n}"))
        clock.advance(days=1, seconds=1)
        assert (await post(client, handshake())).status_code == 200
        assert await prune_unverified(session) == MAX_PENDING
        [kept] = (await session.scalars(select(GustoSubscription))).all()
        assert kept.subscription_uuid == SUBSCRIPTION

    async def test_deeply_nested_json_is_a_problem_not_a_crash(self, client, session):
        body = b"[" * 5000 + b"]" * 5000
        assert_problem(await post(client, body), 400, "malformed-webhook")

    @pytest.mark.parametrize(
        "body",
        [
            {"verification_token": "short", "webhook_subscription_uuid": SUBSCRIPTION},
            {"verification_token": TOKEN},
            {"verification_token": 12345678, "webhook_subscription_uuid": SUBSCRIPTION},
            {"verification_token": TOKEN, "webhook_subscription_uuid": "x" * 65},
        ],
    )
    async def test_malformed_handshakes(self, client, session, body):
        assert_problem(await post(client, json.dumps(body).encode()), 400, "malformed-webhook")
        assert (await session.scalars(select(GustoSubscription))).all() == []


class TestVerificationAtGusto:
    @pytest.fixture
    def gusto(self):
        server = FakeServer()

        def verify(request):
            if request.headers.get("authorization") != f"Bearer {SYSTEM_TOKEN}":
                return 401, {"errors": [{"message": "unauthorized"}]}
            if json.loads(request.body) != {"verification_token": TOKEN}:
                return 422, {"errors": [{"message": "invalid verification token"}]}
            return 200, {"uuid": SUBSCRIPTION, "status": "verified"}

        server.routes[("PUT", f"/v1/webhook_subscriptions/{SUBSCRIPTION}/verify")] = verify
        yield server.start()
        server.stop()

    @pytest.fixture
    def overrides(self, gusto):
        return {"gusto_api_base_url": gusto.base_url, "gusto_webhook_api_token": SecretStr(SYSTEM_TOKEN)}

    async def test_the_real_token_is_verified_at_gusto_then_trusted(self, client, session, runner, gusto):
        await post(client, handshake())
        assert await runner.run_next()
        [request] = gusto.requests
        assert request.headers["x-gusto-api-version"]
        session.expire_all()
        [subscription] = (await session.scalars(select(GustoSubscription))).all()
        assert subscription.verified_at is not None
        body = gusto_event("company.updated")
        response = await post(client, body, gusto_signature(body, TOKEN))
        assert response.status_code == 200 and response.json() == {"status": "accepted"}

    async def test_a_forged_handshake_is_refused_by_gusto_and_never_trusted(self, client, session, runner):
        await post(client, handshake("forged-token-from-someone"))
        assert await runner.run_next()
        session.expire_all()
        [subscription] = (await session.scalars(select(GustoSubscription))).all()
        assert subscription.verified_at is None
        body = gusto_event()
        response = await post(client, body, gusto_signature(body, "forged-token-from-someone"))
        assert_problem(response, 404, "webhook-not-configured")


class TestEvents:
    async def test_a_signed_event_is_stored_once_and_queued(self, client, session):
        await verified(session)
        body = gusto_event(QUEUED_TYPE)
        response = await post(client, body, gusto_signature(body, TOKEN))
        assert response.status_code == 200 and response.json() == {"status": "accepted"}
        again = await post(client, body, gusto_signature(body, TOKEN).upper())
        assert again.status_code == 200 and again.json() == {"status": "duplicate"}
        [event] = await stored(session, provider="gusto")
        parsed = json.loads(body)
        assert (event.event_id, event.event_type, event.object_id, event.object_version) == (
            parsed["uuid"],
            QUEUED_TYPE,
            parsed["entity_uuid"],
            parsed["timestamp"],
        )
        assert await queued(session) == 1

    async def test_unsigned_events_are_refused(self, client, session):
        await verified(session)
        assert_problem(await post(client, gusto_event()), 400, "invalid-webhook-signature")
        assert await stored(session) == []

    async def test_wrong_key_and_tampered_bodies_are_refused(self, client, session):
        await verified(session)
        body = gusto_event()
        assert_problem(await post(client, body, gusto_signature(body, "other-token")), 400)
        tampered = body.replace(b"employee.updated", b"employee.deleted")
        assert_problem(
            await post(client, tampered, gusto_signature(body, TOKEN)), 400, "invalid-webhook-signature"
        )
        assert_problem(await post(client, body, "zz" * 32), 400)
        assert_problem(await post(client, body, "é".encode("latin-1")), 400)
        assert await stored(session) == []

    async def test_stale_and_future_events_are_refused(self, client, session, hook_settings):
        await verified(session)
        old = gusto_event(timestamp=int(time.time()) - (hook_settings.inbound_webhook_keep_days + 1) * 86400)
        assert_problem(await post(client, old, gusto_signature(old, TOKEN)), 400, "stale-webhook")
        future = gusto_event(timestamp=int(time.time()) + 3600)
        assert_problem(await post(client, future, gusto_signature(future, TOKEN)), 400, "stale-webhook")

    @pytest.mark.parametrize(
        "body",
        [b"not json", b"[]", b'{"uuid": "x"}', b'{"uuid": "x", "event_type": "a", "timestamp": "soon"}'],
    )
    async def test_malformed_signed_bodies(self, client, session, body):
        await verified(session)
        assert_problem(await post(client, body, gusto_signature(body, TOKEN)), 400, "malformed-webhook")

    async def test_oversized(self, client, session, hook_settings):
        body = b"{" + b" " * hook_settings.inbound_webhook_max_body_bytes + b"}"
        assert_problem(await post(client, body), 413)


class TestStaff:
    async def test_staff_see_the_token_audited_and_mark_the_subscription_verified(self, client, session):
        await post(client, handshake())
        await sign_in_staff(session, client, "admin@example.com")
        [listed] = (await client.get(ADMIN)).json()
        assert listed["verified_at"] is None and "token" not in json.dumps(listed)
        revealed = await client.get(f"{ADMIN}/{listed['id']}/token")
        assert revealed.status_code == 200 and revealed.json() == {"verification_token": TOKEN}
        marked = await client.post(f"{ADMIN}/{listed['id']}/verified")
        assert marked.status_code == 200 and marked.json()["verified_at"]
        actions = (await session.scalars(select(AuditRecord.action))).all()
        assert {"webhooks.gusto_token_revealed", "webhooks.gusto_subscription_verified"} <= set(actions)
        body = gusto_event()
        assert (await post(client, body, gusto_signature(body, TOKEN))).status_code == 200
        assert (await client.delete(f"{ADMIN}/{listed['id']}")).status_code == 204
        assert_problem(await post(client, body, gusto_signature(body, TOKEN)), 404)

    async def test_members_and_visitors_are_refused(self, client, session, make_client):
        await post(client, handshake())
        [subscription] = (await session.scalars(select(GustoSubscription))).all()
        assert_problem(await client.get(ADMIN), 401)
        assert_problem(await client.get(f"{ADMIN}/{subscription.id}/token"), 401)
        await create_user(session, "member@example.com")
        member = make_client()
        await sign_in(member, "member@example.com")
        assert_problem(await member.get(f"{ADMIN}/{subscription.id}/token"), 403)
        assert_problem(await member.post(f"{ADMIN}/{subscription.id}/verified"), 403)

    async def test_unknown_and_malformed_ids(self, client, session):
        await sign_in_staff(session, client, "admin@example.com")
        assert_problem(await client.get(f"{ADMIN}/01a22e36-d669-7bb5-83f0-0dbe79c5f206/token"), 404)
        assert_problem(await client.get(f"{ADMIN}/not-a-uuid/token"), 422)


def test_the_handling_job_is_named():
    assert HANDLE_JOB == "webhooks.inbound.handle"
