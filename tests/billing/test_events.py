"""Subscription and invoice state from signed Stripe events delivered to the real webhook route."""

import time

import pytest
from sqlalchemy import func, select

from opmaestro.billing.models import BillingInvoice, BillingSubscription
from opmaestro.notifications.models import OutboxMessage
from opmaestro.webhooks.inbound.models import InboundEvent
from tests.factories import create_user, sign_in
from tests.problems import assert_problem

SUBSCRIPTION = "/api/v1/billing/subscription"
INVOICES = "/api/v1/billing/invoices"
PERIOD_END = 2_000_000_000


@pytest.fixture
async def subscribed(browser, fake_stripe, deliver, run_jobs):
    """Ann checked out the Starter plan and paid: Stripe's events came and were handled."""
    assert (await browser.post("/api/v1/billing/checkout", json={"plan": "starter"})).status_code == 200
    [checkout_id] = fake_stripe.checkout_sessions
    completed, subscription = fake_stripe.complete_checkout(checkout_id, period_end=PERIOD_END)
    now = int(time.time())
    await deliver("checkout.session.completed", completed, created=now - 60)
    await deliver("customer.subscription.created", subscription, created=now - 60)
    await deliver("invoice.paid", fake_stripe.invoice(subscription["id"], status="paid"), created=now - 59)
    assert await run_jobs() == 3
    return subscription


async def state(browser):
    response = await browser.get(SUBSCRIPTION)
    assert response.status_code == 200, response.text
    return response.json()["subscription"]


class TestCheckoutCompleted:
    async def test_a_paid_checkout_shows_the_active_plan(self, browser, subscribed):
        assert await state(browser) == {
            "plan": "starter",
            "plan_name": "Starter",
            "status": "active",
            "current_period_end": "2033-05-18T03:33:20Z",
            "cancel_at_period_end": False,
            "payment_failed": False,
        }

    async def test_no_subscription_yet(self, browser):
        assert await state(browser) is None

    async def test_the_checkout_event_alone_records_the_subscription(
        self, browser, fake_stripe, deliver, run_jobs
    ):
        await browser.post("/api/v1/billing/checkout", json={"plan": "team"})
        [checkout_id] = fake_stripe.checkout_sessions
        completed, _ = fake_stripe.complete_checkout(checkout_id, period_end=PERIOD_END)
        await deliver("checkout.session.completed", completed)
        assert await run_jobs() == 1
        found = await state(browser)
        assert (found["plan"], found["status"], found["current_period_end"]) == ("team", "active", None)

    async def test_the_events_are_linked_to_the_person(self, subscribed, session, member):
        owners = set((await session.scalars(select(InboundEvent.user_id))).all())
        assert owners == {member.id}

    async def test_a_checkout_naming_another_person_changes_nothing(
        self, browser, fake_stripe, deliver, run_jobs, session, member
    ):
        await browser.post("/api/v1/billing/checkout", json={"plan": "starter"})
        [checkout_id] = fake_stripe.checkout_sessions
        completed, _ = fake_stripe.complete_checkout(checkout_id, period_end=PERIOD_END)
        other = await create_user(session, "bob@example.com")
        await deliver("checkout.session.completed", completed | {"client_reference_id": str(other.id)})
        assert await run_jobs() == 1
        assert await state(browser) is None
        assert await session.scalar(select(func.count()).select_from(BillingSubscription)) == 0

    async def test_events_about_a_customer_we_did_not_create_are_ignored(self, deliver, run_jobs, session):
        await deliver(
            "customer.subscription.updated",
            {"id": "sub_foreign", "object": "subscription", "customer": "cus_foreign", "status": "active"},
        )
        assert await run_jobs() == 1
        assert await session.scalar(select(func.count()).select_from(BillingSubscription)) == 0


class TestRenewal:
    async def test_a_renewal_moves_the_period_and_adds_the_invoice(
        self, browser, subscribed, fake_stripe, deliver, run_jobs
    ):
        renewed = subscribed | {
            "items": {
                "object": "list",
                "data": [subscribed["items"]["data"][0] | {"current_period_end": PERIOD_END + 2_592_000}],
            }
        }
        await deliver("customer.subscription.updated", renewed)
        await deliver("invoice.paid", fake_stripe.invoice(subscribed["id"], status="paid"))
        assert await run_jobs() == 2
        assert (await state(browser))["current_period_end"] == "2033-06-17T03:33:20Z"
        invoices = (await browser.get(INVOICES)).json()
        assert [invoice["number"] for invoice in invoices["items"]] == ["OPM-0002", "OPM-0001"]
        newest = invoices["items"][0]
        assert newest["amount_paid"] == 2900 and newest["currency"] == "eur" and newest["status"] == "paid"
        assert newest["hosted_invoice_url"].startswith("https://invoice.stripe.com/i/in_")
        assert invoices["next_cursor"] is None


class TestFailedPayment:
    async def test_a_failed_payment_flags_the_subscription_and_mails_the_person(
        self, browser, subscribed, fake_stripe, deliver, run_jobs, billing_settings, smtp_server
    ):
        failed = fake_stripe.invoice(subscribed["id"], status="open")
        await deliver("invoice.payment_failed", failed)
        await deliver("customer.subscription.updated", subscribed | {"status": "past_due"})
        assert await run_jobs() == 2
        found = await state(browser)
        assert found["payment_failed"] is True and found["status"] == "past_due"
        inbox, port = smtp_server
        smtp = billing_settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
        )
        assert await run_jobs("notifications.deliver", smtp) == 1
        [mail] = inbox.messages
        assert mail["To"] == "ann@example.com"
        assert mail["Subject"] == "Your OpMaestro payment did not go through"
        text = mail.get_body(("plain",)).get_content()
        assert (
            "29.00 EUR" in text
            and "http://127.0.0.1:8000/billing" in text
            and failed["hosted_invoice_url"] in text
        )

    async def test_paying_the_failed_invoice_clears_the_flag(
        self, browser, subscribed, fake_stripe, deliver, run_jobs
    ):
        failed = fake_stripe.invoice(subscribed["id"], status="open")
        now = int(time.time())
        await deliver("invoice.payment_failed", failed, created=now)
        await deliver(
            "invoice.paid", failed | {"status": "paid", "amount_paid": failed["amount_due"]}, created=now + 1
        )
        assert await run_jobs() == 2
        assert (await state(browser))["payment_failed"] is False

    async def test_a_late_failure_of_an_invoice_paid_since_changes_nothing(
        self, browser, subscribed, fake_stripe, deliver, run_jobs, session
    ):
        failed = fake_stripe.invoice(subscribed["id"], status="open")
        now = int(time.time())
        await deliver("invoice.paid", failed | {"status": "paid"}, created=now)
        await deliver("invoice.payment_failed", failed, created=now - 30)
        assert await run_jobs() == 2
        assert (await state(browser))["payment_failed"] is False
        row = await session.scalar(
            select(BillingInvoice).where(BillingInvoice.stripe_invoice_id == failed["id"])
        )
        assert row.status == "paid"
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0

    async def test_a_duplicate_failure_event_mails_once(
        self, subscribed, fake_stripe, client, run_jobs, session
    ):
        from tests.billing.conftest import WEBHOOK_URL, stripe_event
        from tests.webhooks.inbound.signing import stripe_signature

        body = stripe_event("invoice.payment_failed", fake_stripe.invoice(subscribed["id"], status="open"))
        for _ in range(3):
            sent = await client.post(
                WEBHOOK_URL,
                content=body,
                headers={"content-type": "application/json", "stripe-signature": stripe_signature(body)},
            )
            assert sent.status_code == 200
        assert await run_jobs() == 1
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1

    async def test_the_job_running_again_mails_no_second_time(
        self, subscribed, fake_stripe, deliver, run_jobs, session
    ):
        await deliver("invoice.payment_failed", fake_stripe.invoice(subscribed["id"], status="open"))
        assert await run_jobs() == 1
        assert await run_jobs() == 0
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


class TestCancellation:
    async def test_cancel_at_period_end_then_deleted(self, browser, subscribed, deliver, run_jobs):
        now = int(time.time())
        await deliver(
            "customer.subscription.updated", subscribed | {"cancel_at_period_end": True}, created=now
        )
        assert await run_jobs() == 1
        assert (await state(browser))["cancel_at_period_end"] is True
        await deliver("customer.subscription.deleted", subscribed | {"status": "canceled"}, created=now + 10)
        assert await run_jobs() == 1
        found = await state(browser)
        assert found["status"] == "canceled"

    async def test_a_new_checkout_is_possible_after_cancellation(
        self, browser, subscribed, deliver, run_jobs
    ):
        await deliver("customer.subscription.deleted", subscribed | {"status": "canceled"})
        assert await run_jobs() == 1
        assert (await browser.post("/api/v1/billing/checkout", json={"plan": "team"})).status_code == 200


class TestOrdering:
    async def test_an_older_update_arriving_late_does_not_roll_back(
        self, browser, subscribed, deliver, run_jobs
    ):
        now = int(time.time())
        await deliver("customer.subscription.deleted", subscribed | {"status": "canceled"}, created=now)
        await deliver("customer.subscription.updated", subscribed | {"status": "past_due"}, created=now - 5)
        assert await run_jobs() == 2
        assert (await state(browser))["status"] == "canceled"

    async def test_an_update_of_the_same_second_cannot_undo_a_cancellation(
        self, browser, subscribed, deliver, run_jobs
    ):
        now = int(time.time())
        await deliver("customer.subscription.deleted", subscribed | {"status": "canceled"}, created=now)
        await deliver("customer.subscription.updated", subscribed | {"status": "active"}, created=now)
        assert await run_jobs() == 2
        assert (await state(browser))["status"] == "canceled"

    async def test_the_created_event_arriving_after_an_update(self, browser, fake_stripe, deliver, run_jobs):
        await browser.post("/api/v1/billing/checkout", json={"plan": "starter"})
        [checkout_id] = fake_stripe.checkout_sessions
        _, subscription = fake_stripe.complete_checkout(checkout_id, period_end=PERIOD_END)
        now = int(time.time())
        await deliver(
            "customer.subscription.updated", subscription | {"cancel_at_period_end": True}, created=now
        )
        await deliver(
            "customer.subscription.created", subscription | {"status": "incomplete"}, created=now - 3
        )
        assert await run_jobs() == 2
        found = await state(browser)
        assert (found["status"], found["cancel_at_period_end"]) == ("active", True)


class TestInvoices:
    async def test_pages_newest_first(self, browser, subscribed, fake_stripe, deliver, run_jobs):
        for _ in range(4):
            await deliver("invoice.paid", fake_stripe.invoice(subscribed["id"], status="paid"))
        assert await run_jobs() == 4
        first = (await browser.get(INVOICES, params={"limit": 2})).json()
        second = (await browser.get(INVOICES, params={"limit": 2, "cursor": first["next_cursor"]})).json()
        third = (await browser.get(INVOICES, params={"limit": 2, "cursor": second["next_cursor"]})).json()
        numbers = [item["number"] for page in (first, second, third) for item in page["items"]]
        assert numbers == ["OPM-0005", "OPM-0004", "OPM-0003", "OPM-0002", "OPM-0001"]
        assert third["next_cursor"] is None

    @pytest.mark.parametrize(
        "params", [{"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 1000}, {"cursor": "x" * 300}]
    )
    async def test_malformed_paging(self, browser, params):
        response = await browser.get(INVOICES, params=params)
        assert response.status_code in (400, 422)
        assert_problem(response, response.status_code)

    async def test_another_person_sees_none_of_it(self, subscribed, make_client, session):
        await create_user(session, "bob@example.com")
        other = make_client()
        await sign_in(other, "bob@example.com")
        assert (await other.get(SUBSCRIPTION)).json() == {"subscription": None}
        assert (await other.get(INVOICES)).json() == {"items": [], "next_cursor": None}
