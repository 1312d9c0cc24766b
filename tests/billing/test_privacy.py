"""Stripe in the access report, billing records kept on erasure, and closing an account."""

import time

from sqlalchemy import func, select

from opmaestro.audit.models import AuditRecord
from opmaestro.billing.models import BillingCustomer, BillingInvoice, BillingSubscription
from opmaestro.billing.tasks import CANCEL_JOB, RESUME_JOB
from opmaestro.core import jobs
from opmaestro.dsar import erasure
from tests.dsar.test_erasure import erase_now
from tests.factories import PASSWORD, sign_in

PERIOD_END = 2_000_000_000


async def subscribe(browser, fake_stripe, deliver, run_jobs):
    assert (await browser.post("/api/v1/billing/checkout", json={"plan": "starter"})).status_code == 200
    [checkout_id] = fake_stripe.checkout_sessions
    completed, subscription = fake_stripe.complete_checkout(checkout_id, period_end=PERIOD_END)
    await deliver("checkout.session.completed", completed, created=int(time.time()) - 30)
    await deliver("customer.subscription.created", subscription, created=int(time.time()) - 30)
    await deliver("invoice.paid", fake_stripe.invoice(subscription["id"], status="paid"))
    assert await run_jobs() == 3
    return subscription


async def queued(session, name):
    return await session.scalar(
        select(func.count())
        .select_from(jobs.Job)
        .where(jobs.Job.name == name, jobs.Job.status == jobs.JobStatus.QUEUED)
    )


class TestClosingTheAccount:
    async def test_cancels_the_subscription_at_period_end_in_a_job(
        self, browser, fake_stripe, deliver, run_jobs, session
    ):
        subscription = await subscribe(browser, fake_stripe, deliver, run_jobs)
        closed = await browser.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
        assert closed.status_code == 202, closed.text
        assert fake_stripe.calls_to("POST", f"/v1/subscriptions/{subscription['id']}") == []
        assert await run_jobs(CANCEL_JOB) == 1
        [call] = fake_stripe.calls_to("POST", f"/v1/subscriptions/{subscription['id']}")
        assert call.params == {"cancel_at_period_end": "true", "metadata[opmaestro_ended_by]": "account"}
        assert call.headers["idempotency-key"].startswith("opmaestro-account-ended-")
        assert fake_stripe.subscriptions[subscription["id"]]["cancel_at_period_end"] is True
        session.expire_all()
        row = await session.scalar(select(BillingSubscription))
        assert row.cancel_at_period_end is True and row.status == "active"

    async def test_stripe_failing_retries_the_job(self, browser, fake_stripe, deliver, run_jobs, session):
        from tests.billing.fake_stripe import StripeError

        subscription = await subscribe(browser, fake_stripe, deliver, run_jobs)
        await browser.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
        fake_stripe.fail_next[f"/v1/subscriptions/{subscription['id']}"] = StripeError(
            500, "api_error", "down"
        )
        await run_jobs(CANCEL_JOB)
        assert fake_stripe.subscriptions[subscription["id"]]["cancel_at_period_end"] is True
        assert len(fake_stripe.calls_to("POST", f"/v1/subscriptions/{subscription['id']}")) == 2

    async def test_without_a_subscription_nothing_is_queued(self, browser, session):
        closed = await browser.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
        assert closed.status_code == 202, closed.text
        assert await queued(session, CANCEL_JOB) == 0

    async def test_an_ended_subscription_is_left_alone(
        self, browser, fake_stripe, deliver, run_jobs, session
    ):
        subscription = await subscribe(browser, fake_stripe, deliver, run_jobs)
        await deliver("customer.subscription.deleted", subscription | {"status": "canceled"})
        assert await run_jobs() == 1
        await browser.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
        assert await queued(session, CANCEL_JOB) == 0


class TestReopeningTheAccount:
    async def reopen(self, make_client):
        again = make_client()
        await sign_in(again, "ann@example.com")
        return again

    async def test_renews_what_closing_set_to_end(
        self, browser, make_client, fake_stripe, deliver, run_jobs, session
    ):
        subscription = await subscribe(browser, fake_stripe, deliver, run_jobs)
        await browser.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
        assert await run_jobs(CANCEL_JOB) == 1
        again = await self.reopen(make_client)
        assert await run_jobs(RESUME_JOB) == 1
        stored = fake_stripe.subscriptions[subscription["id"]]
        assert stored["cancel_at_period_end"] is False and "opmaestro_ended_by" not in stored["metadata"]
        found = (await again.get("/api/v1/billing/subscription")).json()["subscription"]
        assert found["cancel_at_period_end"] is False and found["status"] == "active"
        audited = await session.scalar(
            select(AuditRecord).where(AuditRecord.action == "billing.subscription_resumed")
        )
        assert audited is not None and audited.reason == "account reopened"

    async def test_a_subscription_the_person_had_cancelled_stays_cancelled(
        self, browser, make_client, fake_stripe, deliver, run_jobs, session
    ):
        subscription = await subscribe(browser, fake_stripe, deliver, run_jobs)
        # Cancelled in Stripe's portal before closing: closing leaves it alone, so must reopening.
        cancelled = fake_stripe.update_subscription(subscription["id"], {"cancel_at_period_end": "true"})
        await deliver("customer.subscription.updated", cancelled)
        assert await run_jobs() == 1
        await browser.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
        assert await queued(session, CANCEL_JOB) == 0
        await self.reopen(make_client)
        assert await run_jobs(RESUME_JOB) == 1
        assert fake_stripe.subscriptions[subscription["id"]]["cancel_at_period_end"] is True
        assert fake_stripe.calls_to("POST", f"/v1/subscriptions/{subscription['id']}") == []

    async def test_reopening_before_the_job_ran_cancels_nothing(
        self, browser, make_client, fake_stripe, deliver, run_jobs, session
    ):
        subscription = await subscribe(browser, fake_stripe, deliver, run_jobs)
        await browser.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
        await self.reopen(make_client)
        assert await queued(session, RESUME_JOB) == 0
        assert await run_jobs(CANCEL_JOB) == 1
        assert fake_stripe.calls_to("POST", f"/v1/subscriptions/{subscription['id']}") == []
        assert fake_stripe.subscriptions[subscription["id"]]["cancel_at_period_end"] is False

    async def test_closing_again_cancels_again(self, browser, make_client, fake_stripe, deliver, run_jobs):
        subscription = await subscribe(browser, fake_stripe, deliver, run_jobs)
        await browser.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
        assert await run_jobs(CANCEL_JOB) == 1
        again = await self.reopen(make_client)
        assert await run_jobs(RESUME_JOB) == 1
        closed = await again.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
        assert closed.status_code == 202, closed.text
        assert await run_jobs(CANCEL_JOB) == 1
        assert fake_stripe.subscriptions[subscription["id"]]["cancel_at_period_end"] is True
        keys = {
            call.headers["idempotency-key"]
            for call in fake_stripe.calls_to("POST", f"/v1/subscriptions/{subscription['id']}")
        }
        assert len(keys) == 3


class TestAccessReport:
    async def test_stripe_is_named_and_the_legal_retention_is_shown(self, browser):
        response = await browser.get("/api/v1/me/data")
        assert response.status_code == 200, response.text
        billing = next(entry for entry in response.json()["categories"] if entry["category"] == "billing")
        assert "Stripe (payments and invoices)" in billing["recipients"]
        assert (
            "invoices, and the records tying them to the customer, are kept for ten years"
            in billing["retention"]
        )
        columns = {(column["table"], column["column"]) for column in billing["columns"]}
        assert {
            ("billing_invoice", "amount_due"),
            ("billing_subscription", "status"),
            ("billing_customer", "stripe_customer_id"),
        } <= columns

    async def test_the_persons_billing_rows_are_counted(self, browser, fake_stripe, deliver, run_jobs):
        before = next(
            entry
            for entry in (await browser.get("/api/v1/me/data")).json()["categories"]
            if entry["category"] == "billing"
        )
        assert before["record_count"] == 0
        await subscribe(browser, fake_stripe, deliver, run_jobs)
        billing = next(
            entry
            for entry in (await browser.get("/api/v1/me/data")).json()["categories"]
            if entry["category"] == "billing"
        )
        # The customer, the subscription and one invoice (the events are counted under their own category).
        assert billing["record_count"] == 3


class TestErasure:
    async def test_invoices_are_kept_for_the_legal_period_and_the_rest_goes(
        self, browser, fake_stripe, deliver, run_jobs, session, member, billing_settings
    ):
        await subscribe(browser, fake_stripe, deliver, run_jobs)
        member_id = member.id

        async def run_erasure(name=erasure.ERASURE_JOB):
            return await run_jobs(name)

        request = await erase_now(session, billing_settings, member, run_erasure)
        certificate = str(request.certificate)
        session.expire_all()
        [invoice] = (await session.scalars(select(BillingInvoice))).all()
        assert (invoice.user_id, invoice.amount_paid, invoice.currency) == (member_id, 2900, "eur")
        assert invoice.hosted_invoice_url is None
        assert await session.scalar(select(func.count()).select_from(BillingSubscription)) == 0
        assert await session.scalar(select(func.count()).select_from(BillingCustomer)) == 1
        assert "kept for ten years" in certificate

    async def test_the_erasure_cancels_the_subscription_at_period_end(
        self, browser, fake_stripe, deliver, run_jobs, session, member, billing_settings
    ):
        subscription = await subscribe(browser, fake_stripe, deliver, run_jobs)

        async def run_erasure(name=erasure.ERASURE_JOB):
            return await run_jobs(name)

        await erase_now(session, billing_settings, member, run_erasure)
        # The rows are gone with the erasure; the job still knows which subscription to end.
        assert await session.scalar(select(func.count()).select_from(BillingSubscription)) == 0
        assert await run_jobs(CANCEL_JOB) == 1
        [call] = fake_stripe.calls_to("POST", f"/v1/subscriptions/{subscription['id']}")
        assert call.params == {"cancel_at_period_end": "true", "metadata[opmaestro_ended_by]": "account"}

    async def test_events_after_the_erasure_are_not_kept(
        self, browser, fake_stripe, deliver, run_jobs, session, member, billing_settings
    ):
        subscription = await subscribe(browser, fake_stripe, deliver, run_jobs)

        async def run_erasure(name=erasure.ERASURE_JOB):
            return await run_jobs(name)

        await erase_now(session, billing_settings, member, run_erasure)
        await deliver("customer.subscription.deleted", subscription | {"status": "canceled"})
        assert await run_jobs() == 1
        session.expire_all()
        assert await session.scalar(select(func.count()).select_from(BillingSubscription)) == 0
