"""Stripe deliveries through the real route: signed, replayed, duplicated, tampered, stale, future."""

import time

import pytest

from opmaestro.webhooks.inbound.models import EventState
from tests.problems import assert_problem
from tests.webhooks.inbound.conftest import QUEUED_TYPE, queued, stored
from tests.webhooks.inbound.signing import OLD_STRIPE_SECRET, stripe_event, stripe_signature

URL = "/api/v1/webhooks/stripe"


async def deliver(client, body: bytes, signature: str | None = None, **headers: str):
    sent = {"content-type": "application/json"} | headers
    if signature is not None:
        sent["stripe-signature"] = signature
    return await client.post(URL, content=body, headers=sent)


class TestSigned:
    async def test_a_signed_event_is_stored_once_and_queued(self, client, session):
        body = stripe_event("evt_signed", QUEUED_TYPE)
        response = await deliver(client, body, stripe_signature(body))
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "accepted"}
        [event] = await stored(session, provider="stripe")
        assert (event.event_id, event.event_type, event.object_id) == (
            "evt_signed",
            QUEUED_TYPE,
            "cus_123",
        )
        assert event.body == body.decode() and event.state == EventState.RECEIVED
        assert event.object_version == event.occurred_at.timestamp()
        assert await queued(session) == 1

    async def test_a_secret_being_rotated_out_still_verifies(self, client, session):
        body = stripe_event("evt_old_secret")
        response = await deliver(client, body, stripe_signature(body, OLD_STRIPE_SECRET))
        assert response.status_code == 200, response.text

    async def test_a_duplicate_delivery_is_answered_2xx_with_no_second_effect(self, client, session):
        body = stripe_event("evt_dup", QUEUED_TYPE)
        assert (await deliver(client, body, stripe_signature(body))).json() == {"status": "accepted"}
        # Stripe re-sends an event with a fresh signature; a replay sends the same one.
        for signature in (stripe_signature(body, at=int(time.time()) - 5), stripe_signature(body)):
            again = await deliver(client, body, signature)
            assert again.status_code == 200 and again.json() == {"status": "duplicate"}
        assert len(await stored(session, provider="stripe")) == 1
        assert await queued(session) == 1

    async def test_a_connect_event_without_an_object_id_is_ordered_by_its_account(self, client, session):
        body = stripe_event(
            "evt_deauth",
            "account.application.deauthorized",
            account="acct_1",
            data={"object": {"object": "application", "name": "OpMaestro"}},
        )
        assert (await deliver(client, body, stripe_signature(body))).status_code == 200
        [event] = await stored(session, provider="stripe")
        assert event.object_id == "acct_1"

    async def test_a_type_nobody_handles_is_stored_as_ignored_and_not_queued(self, client, session):
        body = stripe_event("evt_nobody", "invoice.created")
        assert (await deliver(client, body, stripe_signature(body))).json() == {"status": "accepted"}
        [event] = await stored(session, provider="stripe")
        assert event.state == EventState.IGNORED and event.handled_at is not None
        assert await queued(session) == 0


class TestRefused:
    async def test_unsigned(self, client, session):
        assert_problem(await deliver(client, stripe_event()), 400, "invalid-webhook-signature")
        assert await stored(session) == []

    async def test_signed_with_another_secret(self, client, session):
        body = stripe_event()
        assert_problem(
            await deliver(client, body, stripe_signature(body, "whsec_someone_else")),
            400,
            "invalid-webhook-signature",
        )
        assert await stored(session) == []

    async def test_tampered_body(self, client, session):
        body = stripe_event("evt_tampered")
        signature = stripe_signature(body)
        tampered = body.replace(b"ann@example.com", b"eve@example.com")
        assert_problem(await deliver(client, tampered, signature), 400, "invalid-webhook-signature")
        assert await stored(session) == []

    async def test_tampered_timestamp(self, client):
        body = stripe_event()
        signature = stripe_signature(body).replace("t=", "t=1")
        assert_problem(await deliver(client, body, signature), 400, "invalid-webhook-signature")

    async def test_stale_beyond_five_minutes(self, client, session):
        body = stripe_event("evt_stale")
        signature = stripe_signature(body, at=int(time.time()) - 301 - 5)
        assert_problem(await deliver(client, body, signature), 400, "stale-webhook")
        assert await stored(session) == []

    async def test_dated_in_the_future(self, client, session):
        body = stripe_event("evt_future")
        signature = stripe_signature(body, at=int(time.time()) + 600)
        assert_problem(await deliver(client, body, signature), 400, "stale-webhook")
        assert await stored(session) == []

    async def test_a_little_clock_skew_is_accepted(self, client):
        body = stripe_event("evt_skew")
        assert (
            await deliver(client, body, stripe_signature(body, at=int(time.time()) + 20))
        ).status_code == 200

    @pytest.mark.parametrize(
        "header",
        ["garbage", "t=abc,v1=00", "v1=deadbeef", "t=123", "t=,v1=", "t=1,v0=aa", "é=é".encode("latin-1")],
    )
    async def test_malformed_signature_headers(self, client, header):
        assert_problem(await deliver(client, stripe_event(), header), 400)

    @pytest.mark.parametrize(
        "body",
        [
            b"not json",
            b"[1, 2]",
            b'"a string"',
            b"{}",
            b'{"id": "evt_x", "type": "a.b"}',
            b'{"id": 5, "type": "a.b", "created": 1}',
            b"\xff\xfe",
            b"[" * 5000 + b"]" * 5000,
            b'{"id": "evt_x", "type": "a.b", "created": 99999999999999999999}',
        ],
    )
    async def test_malformed_bodies_signed_correctly(self, client, session, body):
        # A signature over bytes that are not UTF-8 cannot even be computed as Stripe does.
        signature = stripe_signature(body) if body != b"\xff\xfe" else "t=1,v1=00"
        response = await deliver(client, body, signature)
        assert_problem(response, 400)
        assert await stored(session) == []

    async def test_oversized_body(self, client, hook_settings, session):
        body = stripe_event(padding="x" * (hook_settings.inbound_webhook_max_body_bytes + 1))
        assert_problem(await deliver(client, body, stripe_signature(body)), 413, "webhook-too-large")
        assert await stored(session) == []

    async def test_oversized_signature_header(self, client):
        body = stripe_event()
        assert_problem(await deliver(client, body, "t=1,v1=" + "a" * 5000), 400, "invalid-webhook-signature")

    async def test_wrong_method(self, client):
        response = await client.get(URL)
        assert_problem(response, 405)


class TestNotConfigured:
    @pytest.fixture
    def overrides(self):
        return {"stripe_webhook_secret": None}

    async def test_answers_404_not_500(self, client, session):
        body = stripe_event()
        assert_problem(await deliver(client, body, stripe_signature(body)), 404, "webhook-not-configured")
        assert await stored(session) == []
