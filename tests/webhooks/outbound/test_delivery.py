"""Events become signed deliveries that a real receiver verifies with the `standardwebhooks` library;
failures are retried, then the endpoint is disabled and its owner emailed."""

import ipaddress
from datetime import timedelta
from uuid import UUID

from sqlalchemy import select, update

from opmaestro.accounts.models import OAuthClient, TokenPurpose
from opmaestro.accounts.service import issue_token
from opmaestro.audit.models import AuditRecord
from opmaestro.core.clock import utcnow
from opmaestro.dsar import erasure, workflow
from opmaestro.dsar.models import DataRequest, Jurisdiction, RequestKind, RequestState
from opmaestro.notifications.models import OutboxMessage
from opmaestro.notifications.service import DELIVER_JOB as MAIL_JOB
from opmaestro.webhooks.outbound import addresses, delivery
from opmaestro.webhooks.outbound.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests.factories import PASSWORD, sign_in
from tests.webhooks.outbound.conftest import CLIENT_ENDPOINTS, ME, payload, register

MARKETING = "/api/v1/me/consents/marketing_email"


async def deliveries_of(session, endpoint_id) -> list[WebhookDelivery]:
    statement = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == UUID(str(endpoint_id)))
        .order_by(WebhookDelivery.created_at)
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(statement))


class TestSignedDelivery:
    async def test_a_consent_change_reaches_the_receiver_signed(self, ann, receiver, run_deliveries):
        browser, user = ann
        created = await register(browser, receiver.url, ["consent.changed"])
        assert (await browser.put(MARKETING, json={"granted": True})).status_code == 200
        assert await run_deliveries() == 1
        [event] = receiver.verified(created["secret"])
        assert event["type"] == "consent.changed" and event["timestamp"].endswith("Z")
        data = event["data"]
        assert data["user_id"] == str(user.id) and data["purpose"] == "marketing_email"
        assert (data["action"], data["method"]) == ("granted", "settings")
        assert user.email not in receiver.received[0].body and user.name not in receiver.received[0].body
        [item] = receiver.received
        assert item.path == "/hooks/opmaestro?via=test" and item.headers["Content-Type"] == "application/json"
        assert item.headers["Host"] == receiver.url.split("/")[2]
        log = (await browser.get(f"{ME}/{created['id']}/deliveries")).json()["items"]
        assert [(entry["status"], entry["attempts"], entry["last_status_code"]) for entry in log] == [
            ("succeeded", 1, 204)
        ]
        assert log[0]["id"] == item.headers["webhook-id"] and log[0]["last_duration_ms"] is not None

    async def test_a_tampered_body_or_other_secret_does_not_verify(self, ann, receiver, run_deliveries):
        browser, _ = ann
        created = await register(browser, receiver.url, ["consent.changed"])
        await browser.put(MARKETING, json={"granted": True})
        await run_deliveries()
        [item] = receiver.received
        assert receiver.verifies(created["secret"], item)
        tampered = type(item)(item.path, item.headers, item.body.replace("granted", "denied"))
        assert not receiver.verifies(created["secret"], tampered)
        other = (await browser.post(f"{ME}/{created['id']}/rotate-secret")).json()["secret"]
        assert not receiver.verifies(other, item)

    async def test_unsubscribed_and_disabled_endpoints_get_nothing(self, ann, receiver, run_deliveries):
        browser, _ = ann
        await register(browser, receiver.url, ["account.closed"])
        off = await register(browser, receiver.url, ["consent.changed"])
        await browser.patch(f"{ME}/{off['id']}", json={"enabled": False})
        await browser.put(MARKETING, json={"granted": True})
        assert await run_deliveries() == 0 and receiver.received == []

    async def test_a_person_gets_only_their_own_events_and_a_client_everyones(
        self, ann, bob, crm, receiver, run_deliveries
    ):
        mine = await register(ann[0], receiver.url, ["consent.changed"])
        everyone = await register(crm, receiver.url, ["consent.changed"], path=CLIENT_ENDPOINTS)
        await ann[0].put(MARKETING, json={"granted": True})
        await bob[0].put(MARKETING, json={"granted": False})
        assert await run_deliveries() == 3
        ann_sees = [entry["data"]["user_id"] for entry in _verified_only(receiver, mine["secret"])]
        crm_sees = [entry["data"]["user_id"] for entry in _verified_only(receiver, everyone["secret"])]
        assert ann_sees == [str(ann[1].id)]
        assert sorted(crm_sees) == sorted([str(ann[1].id), str(bob[1].id)])

    async def test_closing_the_account_sends_account_closed(self, ann, receiver, run_deliveries, session):
        browser, user = ann
        created = await register(browser, receiver.url, ["account.closed"])
        response = await browser.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
        assert response.status_code in (200, 202, 204), response.text
        assert await run_deliveries() == 1
        [event] = receiver.verified(created["secret"])
        assert event["type"] == "account.closed" and event["data"]["user_id"] == str(user.id)
        assert event["data"]["deletion_due_at"]
        # Closing keeps the endpoints (erased with the data later; working again if reopened).
        kept = await session.get(WebhookEndpoint, UUID(created["id"]), populate_existing=True)
        assert kept is not None and kept.enabled

    async def test_completed_request_and_erasure_reach_a_client(
        self, ann, crm, receiver, run_deliveries, session, hook_settings
    ):
        _, user = ann
        created = await register(
            crm, receiver.url, ["data_request.completed", "account.deleted"], path=CLIENT_ENDPOINTS
        )
        request = DataRequest(
            kind=RequestKind.ERASURE,
            state=RequestState.VERIFIED,
            user_id=user.id,
            jurisdiction=Jurisdiction.EUROPE,
            due_at=utcnow(),
            verified_at=utcnow(),
        )
        session.add(request)
        await session.commit()
        await erasure.schedule(session, hook_settings.model_copy(update={"erasure_grace_days": 0}), request)
        await session.commit()
        await run_deliveries(name=erasure.ERASURE_JOB)
        await session.refresh(request)
        assert request.state == RequestState.COMPLETED, request.outcome
        assert await run_deliveries() == 2
        events = receiver.verified(created["secret"])
        assert sorted(event["type"] for event in events) == ["account.deleted", "data_request.completed"]
        completed = next(event for event in events if event["type"] == "data_request.completed")
        assert completed["data"] == {
            "user_id": str(user.id),
            "data_request_id": str(request.id),
            "kind": "erasure",
        }

    async def test_the_persons_own_endpoints_go_with_their_erasure(
        self, ann, receiver, session, hook_settings
    ):
        browser, user = ann
        await register(browser, receiver.url)
        await browser.put(MARKETING, json={"granted": True})
        report = await erasure.erase_person(session, user.id, {})
        assert {"webhook_endpoint", "webhook_delivery"} <= set(report.tables)
        left = await session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.user_id == user.id))
        assert left is None

    async def test_completing_any_request_sends_data_request_completed(
        self, ann, receiver, run_deliveries, session
    ):
        browser, user = ann
        created = await register(browser, receiver.url, ["data_request.completed"])
        request = DataRequest(
            kind=RequestKind.EXPORT,
            state=RequestState.IN_PROGRESS,
            user_id=user.id,
            jurisdiction=Jurisdiction.OTHER,
            due_at=utcnow(),
        )
        session.add(request)
        await session.flush()
        await workflow.complete(session, request, actor=None)
        await session.commit()
        assert await run_deliveries() == 1
        [event] = receiver.verified(created["secret"])
        assert event["data"]["kind"] == "export"


class TestStopped:
    async def test_a_revoked_client_hears_nothing_more(self, ann, crm, receiver, run_deliveries, session):
        created = await register(crm, receiver.url, ["consent.changed"], path=CLIENT_ENDPOINTS)
        await ann[0].put(MARKETING, json={"granted": True})
        client_id = (await session.get(WebhookEndpoint, UUID(created["id"]))).client_id
        # Revoked after the first event was queued, before it went out; then a second event.
        await session.execute(
            update(OAuthClient).where(OAuthClient.id == client_id).values(revoked_at=utcnow())
        )
        await session.commit()
        await ann[0].put(MARKETING, json={"granted": False})
        assert await run_deliveries() == 1
        [row] = await deliveries_of(session, created["id"])
        assert row.status == DeliveryStatus.FAILED and "revoked" in row.last_error
        assert receiver.received == []

    async def test_a_client_whose_scopes_shrink_stops_receiving_those_events(
        self, ann, crm, receiver, run_deliveries, session
    ):
        created = await register(crm, receiver.url, ["consent.changed"], path=CLIENT_ENDPOINTS)
        client_id = (await session.get(WebhookEndpoint, UUID(created["id"]))).client_id
        await session.execute(
            update(OAuthClient).where(OAuthClient.id == client_id).values(scopes=["webhooks:manage"])
        )
        await session.commit()
        await ann[0].put(MARKETING, json={"granted": True})
        assert await run_deliveries() == 0
        assert await deliveries_of(session, created["id"]) == [] and receiver.received == []

    async def test_deleting_an_endpoint_drops_what_it_had_not_received(
        self, ann, receiver, run_deliveries, session
    ):
        browser, _ = ann
        created = await register(browser, receiver.url, ["consent.changed"])
        await browser.put(MARKETING, json={"granted": True})
        assert (await browser.delete(f"{ME}/{created['id']}")).status_code == 204
        assert await deliveries_of(session, created["id"]) == []
        assert await run_deliveries() == 1
        assert receiver.received == []


def _verified_only(receiver, secret):
    return [payload(item) for item in receiver.received if receiver.verifies(secret, item)]


class TestRetries:
    async def test_failures_are_retried_with_the_same_id_until_it_succeeds(
        self, ann, receiver, run_deliveries, session
    ):
        browser, _ = ann
        created = await register(browser, receiver.url, ["consent.changed"])
        receiver.statuses = [500, 503]
        await browser.put(MARKETING, json={"granted": True})
        for expected in ("pending", "pending", "succeeded"):
            assert await run_deliveries() == 1
            [row] = await deliveries_of(session, created["id"])
            assert row.status == expected
        assert row.attempts == 3 and row.last_status_code == 204 and row.last_error is None
        assert len({item.headers["webhook-id"] for item in receiver.received}) == 1
        assert len(receiver.verified(created["secret"])) == 3
        assert await run_deliveries() == 0
        endpoint = (await browser.get(f"{ME}/{created['id']}")).json()
        assert endpoint["consecutive_failures"] == 0 and endpoint["enabled"]

    async def test_the_log_shows_the_failure(self, ann, receiver, run_deliveries):
        browser, _ = ann
        created = await register(browser, receiver.url, ["consent.changed"])
        receiver.statuses = [500]
        await browser.put(MARKETING, json={"granted": True})
        await run_deliveries()
        [entry] = (await browser.get(f"{ME}/{created['id']}/deliveries")).json()["items"]
        assert (entry["status"], entry["last_status_code"], entry["last_error"]) == (
            "pending",
            500,
            "HTTP 500",
        )
        assert entry["next_attempt_at"] is not None

    async def test_it_gives_up_after_the_last_attempt(
        self, ann, receiver, run_deliveries, session, hook_settings
    ):
        browser, _ = ann
        created = await register(browser, receiver.url, ["consent.changed"])
        receiver.statuses = [500] * 10
        await browser.put(MARKETING, json={"granted": True})
        for _ in range(hook_settings.webhook_max_attempts):
            assert await run_deliveries() == 1
        assert await run_deliveries() == 0
        [row] = await deliveries_of(session, created["id"])
        assert (row.status, row.attempts, row.next_attempt_at) == (
            DeliveryStatus.FAILED,
            hook_settings.webhook_max_attempts,
            None,
        )

    async def test_redirects_are_not_followed(self, ann, receiver, run_deliveries, session):
        browser, _ = ann
        created = await register(browser, receiver.url, ["consent.changed"])
        receiver.statuses = [302]
        receiver.extra_headers = {"Location": "http://169.254.169.254/latest/meta-data/"}
        await browser.put(MARKETING, json={"granted": True})
        await run_deliveries()
        [row] = await deliveries_of(session, created["id"])
        assert row.status == "pending" and row.last_status_code == 302 and "redirect" in row.last_error
        assert len(receiver.received) == 1

    async def test_an_unreachable_receiver_is_a_failed_attempt(self, ann, receiver, run_deliveries, session):
        browser, _ = ann
        created = await register(browser, "http://127.0.0.1:9/closed", ["consent.changed"])
        await browser.put(MARKETING, json={"granted": True})
        await run_deliveries()
        [row] = await deliveries_of(session, created["id"])
        assert row.status == "pending" and row.last_status_code is None and row.last_error

    def test_backoff_grows_and_is_capped_with_full_jitter(self, hook_settings):
        settings = hook_settings.model_copy(
            update={"webhook_retry_base_seconds": 30.0, "webhook_retry_max_seconds": 3600.0}
        )
        for attempts, ceiling in ((1, 30), (2, 120), (3, 480), (4, 1920), (5, 3600), (9, 3600)):
            delays = [delivery.retry_delay(settings, attempts) for _ in range(50)]
            assert all(0 <= delay <= ceiling for delay in delays)
            assert max(delays) > min(delays)


class TestDisable:
    async def test_an_endpoint_that_keeps_failing_is_disabled_and_its_owner_emailed(
        self, ann, receiver, run_deliveries, session, hook_settings, smtp_server
    ):
        inbox, port = smtp_server
        settings = hook_settings.model_copy(
            update={
                "webhook_disable_after_failures": 3,
                "webhook_max_attempts": 10,
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_security": "none",
            }
        )
        browser, user = ann
        created = await register(browser, receiver.url, ["consent.changed"])
        receiver.statuses = [500] * 10
        await browser.put(MARKETING, json={"granted": True})
        await browser.put(MARKETING, json={"granted": False})
        for _ in range(2):
            await run_deliveries(settings)
        endpoint = (await browser.get(f"{ME}/{created['id']}")).json()
        assert endpoint["enabled"] is False and endpoint["disabled_at"] is not None
        assert "3 failed attempts" in endpoint["disabled_reason"]
        rows = await deliveries_of(session, created["id"])
        assert {row.status for row in rows} == {DeliveryStatus.FAILED}
        [mail] = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.template == "webhook_endpoint_disabled")
            )
        )
        assert mail.to_address == user.email
        assert await run_deliveries(settings, name=MAIL_JOB) == 1
        [message] = inbox.messages
        assert message["To"] == user.email and "127.0.0.1" in message.get_body(("plain",)).get_content()
        # Enabling it again starts afresh; nothing that happened meanwhile is sent.
        again = await browser.patch(f"{ME}/{created['id']}", json={"enabled": True})
        assert again.json()["consecutive_failures"] == 0 and again.json()["disabled_at"] is None
        assert await run_deliveries(settings) == 0

    async def test_a_client_endpoint_tells_the_staff_member_who_registered_the_client(
        self, admin, crm, receiver, run_deliveries, ann, session, hook_settings
    ):
        settings = hook_settings.model_copy(update={"webhook_disable_after_failures": 1})
        created = await register(crm, receiver.url, ["consent.changed"], path=CLIENT_ENDPOINTS)
        receiver.statuses = [500]
        await ann[0].put(MARKETING, json={"granted": True})
        await run_deliveries(settings)
        assert (await crm.get(f"{CLIENT_ENDPOINTS}/{created['id']}")).json()["enabled"] is False
        [mail] = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.template == "webhook_endpoint_disabled")
            )
        )
        assert mail.to_address == admin[1].email and "Acme CRM" in mail.text_body


class TestRotation:
    async def test_both_secrets_sign_during_the_grace_period_and_only_the_new_one_after(
        self, ann, receiver, run_deliveries, session
    ):
        browser, _ = ann
        created = await register(browser, receiver.url, ["consent.changed"])
        rotated = (await browser.post(f"{ME}/{created['id']}/rotate-secret")).json()
        await browser.put(MARKETING, json={"granted": True})
        await run_deliveries()
        [during] = receiver.received
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        assert receiver.verifies(created["secret"], during) and receiver.verifies(rotated["secret"], during)
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == UUID(rotated["id"]))
            .values(previous_secret_expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
        await browser.put(MARKETING, json={"granted": False})
        await run_deliveries()
        after = receiver.received[1]
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        assert receiver.verifies(rotated["secret"], after) and not receiver.verifies(created["secret"], after)


class TestDeliveryTimeAddressCheck:
    async def test_a_name_that_now_resolves_inside_is_refused_at_delivery(
        self, ann, receiver, run_deliveries, session, hook_settings, monkeypatch
    ):
        """DNS rebinding: public when registered, loopback when the event goes out."""
        answers = [ipaddress.ip_address("93.184.215.14")]

        async def resolver(host, port):
            return answers

        monkeypatch.setattr(addresses, "system_resolver", resolver)
        strict = hook_settings.model_copy(update={"webhooks_allow_private_addresses": False})
        browser, _ = ann
        created = await register(
            browser, receiver.url.replace("http://127.0.0.1", "http://hooks.example.com")
        )
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == UUID(created["id"]))
            .values(url=f"https://hooks.example.com:{receiver.url.split(':')[2]}")
        )
        await session.commit()
        answers[:] = [ipaddress.ip_address("127.0.0.1")]
        await browser.put(MARKETING, json={"granted": True})
        await run_deliveries(strict)
        [row] = await deliveries_of(session, created["id"])
        assert row.last_error.startswith("refused:") and "only to public addresses" in row.last_error
        assert receiver.received == []

    async def test_the_connection_goes_to_the_checked_address_under_the_endpoints_name(
        self, ann, receiver, run_deliveries, session, monkeypatch
    ):
        """The name resolves once, to the receiver; the request carries the name in Host."""
        port = receiver.url.split(":")[2].split("/")[0]
        seen = []

        async def resolver(host, port_number):
            seen.append(host)
            return [ipaddress.ip_address("127.0.0.1")]

        monkeypatch.setattr(addresses, "system_resolver", resolver)
        browser, _ = ann
        created = await register(browser, f"http://hooks.example.com:{port}/in", ["consent.changed"])
        await browser.put(MARKETING, json={"granted": True})
        assert await run_deliveries() == 1
        [item] = receiver.received
        assert item.headers["Host"] == f"hooks.example.com:{port}" and item.path == "/in"
        assert seen == ["hooks.example.com", "hooks.example.com"]
        assert receiver.verified(created["secret"])


class TestPrune:
    async def test_old_settled_deliveries_are_pruned_and_pending_ones_kept(
        self, ann, receiver, run_deliveries, session, hook_settings, clock
    ):
        browser, _ = ann
        created = await register(browser, receiver.url, ["consent.changed"])
        await browser.put(MARKETING, json={"granted": True})
        await run_deliveries()
        await browser.put(MARKETING, json={"granted": False})
        clock.advance(days=hook_settings.webhook_delivery_retention_days + 1)
        assert await delivery.prune(session, hook_settings) == 1
        await session.commit()
        [left] = await deliveries_of(session, created["id"])
        assert left.status == DeliveryStatus.PENDING


async def test_the_persons_endpoints_and_deliveries_are_in_their_data_summary(ann, receiver):
    browser, _ = ann
    await register(browser, receiver.url, ["consent.changed"])
    await browser.put(MARKETING, json={"granted": True})
    summary = await browser.get("/api/v1/me/data")
    assert summary.status_code == 200
    assert "webhook_endpoint" in summary.text and "webhook_delivery" in summary.text


class TestPasswordReset:
    async def test_a_reset_stops_every_endpoint_until_the_owner_enables_it_again(
        self, ann, receiver, run_deliveries, session, client, hook_settings, make_client
    ):
        browser, user = ann
        created = await register(browser, receiver.url, ["consent.changed"])
        token = await issue_token(session, user, TokenPurpose.RESET_PASSWORD)
        await session.commit()
        reset = await client.post(
            "/api/v1/auth/password/reset", json={"token": token, "new_password": "a brand new passphrase 42"}
        )
        assert reset.status_code == 204, reset.text
        endpoint = await session.get(WebhookEndpoint, UUID(created["id"]), populate_existing=True)
        assert endpoint.enabled is False and "password was reset" in endpoint.disabled_reason
        audited = await session.scalar(
            select(AuditRecord).where(
                AuditRecord.action == "webhook_endpoint.disabled", AuditRecord.subject_id == created["id"]
            )
        )
        assert audited is not None

        owner = make_client()
        await sign_in(owner, user.email, password="a brand new passphrase 42")
        await owner.put(MARKETING, json={"granted": True})
        assert await run_deliveries() == 0 and receiver.received == []
        shown = (await owner.get(f"{ME}/{created['id']}")).json()
        assert shown["enabled"] is False and "password was reset" in shown["disabled_reason"]

        enabled = await owner.patch(f"{ME}/{created['id']}", json={"enabled": True})
        assert enabled.status_code == 200 and enabled.json()["disabled_reason"] is None
        await owner.put(MARKETING, json={"granted": False})
        assert await run_deliveries() == 1
        assert [payload(item)["data"]["action"] for item in receiver.received] == ["withdrawn"]
