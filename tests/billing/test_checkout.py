"""Plans, checkout and portal through the official stripe client against the fake Stripe API."""

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from opmaestro.billing.models import BillingCustomer
from opmaestro.core import jobs
from opmaestro.main import create_app
from tests.billing.fake_stripe import StripeError
from tests.factories import create_user, sign_in
from tests.problems import assert_problem

CHECKOUT = "/api/v1/billing/checkout"
PORTAL = "/api/v1/billing/portal"


async def checkout(browser, plan="starter", key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return await browser.post(CHECKOUT, json={"plan": plan}, headers=headers)


class TestPlans:
    async def test_the_configured_plans_are_listed_without_their_price_ids(self, browser, billing_settings):
        response = await browser.get("/api/v1/billing/plans")
        assert response.status_code == 200, response.text
        plans = response.json()["plans"]
        assert [plan["key"] for plan in plans] == [plan.key for plan in billing_settings.billing_plans]
        assert plans[0] == {
            "key": "starter",
            "name": "Starter",
            "interval": "month",
            "amount": 2900,
            "currency": "eur",
            "features": list(billing_settings.billing_plans[0].features),
        }


class TestCheckout:
    async def test_creates_the_customer_with_name_and_email_only_and_a_subscription_session(
        self, browser, member, fake_stripe, session
    ):
        response = await checkout(browser)
        assert response.status_code == 200, response.text
        [created] = fake_stripe.calls_to("POST", "/v1/customers")
        assert created.params == {"name": "Ann Lee", "email": "ann@example.com"}
        [call] = fake_stripe.calls_to("POST", "/v1/checkout/sessions")
        customer = await session.scalar(select(BillingCustomer).where(BillingCustomer.user_id == member.id))
        assert customer is not None and customer.stripe_customer_id in fake_stripe.customers
        assert call.params["mode"] == "subscription"
        assert call.params["customer"] == customer.stripe_customer_id
        assert call.params["client_reference_id"] == str(member.id)
        assert call.params["line_items[0][price]"] == "price_opmaestro_starter_monthly"
        assert call.params["line_items[0][quantity]"] == "1"
        assert call.params["success_url"] == "http://127.0.0.1:8000/billing?checkout=success"
        assert call.params["cancel_url"] == "http://127.0.0.1:8000/billing?checkout=cancelled"
        [checkout_session] = fake_stripe.checkout_sessions.values()
        assert response.json() == {"url": checkout_session["url"]}

    async def test_the_customer_is_created_once(self, browser, fake_stripe):
        assert (await checkout(browser)).status_code == 200
        assert (await checkout(browser, "team")).status_code == 200
        assert len(fake_stripe.calls_to("POST", "/v1/customers")) == 1
        first, second = fake_stripe.calls_to("POST", "/v1/checkout/sessions")
        assert first.params["customer"] == second.params["customer"]

    async def test_a_customer_id_from_the_client_is_refused(self, browser, fake_stripe):
        response = await browser.post(CHECKOUT, json={"plan": "starter", "customer": "cus_someone_else"})
        assert_problem(response, 422)
        assert fake_stripe.calls == []

    async def test_the_idempotency_key_is_passed_on_and_a_retry_gets_the_same_session(
        self, browser, fake_stripe
    ):
        first = await checkout(browser, key="retry-key-0001")
        again = await checkout(browser, key="retry-key-0001")
        assert first.status_code == again.status_code == 200
        assert first.json() == again.json()
        assert len(fake_stripe.checkout_sessions) == 1
        sent = {
            call.headers.get("idempotency-key")
            for call in fake_stripe.calls_to("POST", "/v1/checkout/sessions")
        }
        assert len(sent) == 1 and "retry-key-0001" not in sent.pop()  # scoped to the person

    async def test_the_same_key_for_another_plan_is_a_conflict(self, browser, fake_stripe):
        assert (await checkout(browser, key="retry-key-0002")).status_code == 200
        assert_problem(await checkout(browser, "team", key="retry-key-0002"), 409, "idempotency-key-reused")

    async def test_one_persons_key_never_replays_anothers_session(
        self, browser, make_client, session, fake_stripe
    ):
        first = await checkout(browser, key="shared-key-0001")
        await create_user(session, "bob@example.com", name="Bob Roe")
        other = make_client()
        await sign_in(other, "bob@example.com")
        second = await checkout(other, key="shared-key-0001")
        assert second.status_code == 200, second.text
        assert first.json()["url"] != second.json()["url"]
        assert len(fake_stripe.customers) == 2

    @pytest.mark.parametrize("key", ["short", "x" * 201, "has space in it", "ünïcode-key".encode("latin-1")])
    async def test_a_malformed_idempotency_key_is_refused(self, browser, fake_stripe, key):
        response = await browser.post(CHECKOUT, json={"plan": "starter"}, headers={"Idempotency-Key": key})
        assert_problem(response, 422, "validation")
        assert fake_stripe.calls == []

    async def test_an_unknown_plan(self, browser, fake_stripe):
        assert_problem(await checkout(browser, "platinum"), 422, "unknown-plan")
        assert fake_stripe.calls == []

    @pytest.mark.parametrize(
        "body",
        [{}, {"plan": 3}, {"plan": ""}, {"plan": "x" * 65}, {"plan": "../team"}, ["starter"], "starter"],
    )
    async def test_malformed_bodies(self, browser, body, fake_stripe):
        assert_problem(await browser.post(CHECKOUT, json=body), 422)
        assert fake_stripe.calls == []

    async def test_an_oversized_body(self, browser, fake_stripe):
        response = await browser.post(
            CHECKOUT,
            content=b'{"plan": "' + b"a" * 2_000_000 + b'"}',
            headers={"content-type": "application/json"},
        )
        assert_problem(response, 413)
        assert fake_stripe.calls == []

    async def test_a_second_subscription_is_refused(self, browser, fake_stripe, deliver, run_jobs):
        await checkout(browser)
        [checkout_id] = fake_stripe.checkout_sessions
        completed, _subscription = fake_stripe.complete_checkout(checkout_id, period_end=2_000_000_000)
        await deliver("checkout.session.completed", completed)
        assert await run_jobs() == 1
        assert_problem(await checkout(browser, "team"), 409, "already-subscribed")

    async def test_stripe_failing_is_a_502_problem_that_names_no_secret(self, browser, fake_stripe):
        fake_stripe.fail_next["/v1/checkout/sessions"] = StripeError(
            500, "api_error", "Something went wrong on Stripe's end (sk_test_fake_billing_key)."
        )
        body = assert_problem(await checkout(browser), 502, "payment-provider-error")
        assert "sk_test" not in str(body)

    async def test_a_failed_first_checkout_leaves_one_stripe_customer(self, browser, fake_stripe, session):
        # The customer is made, then the session fails: our row is rolled back with the request,
        # and the retry gets the same customer back from Stripe through its idempotency key.
        fake_stripe.fail_next["/v1/checkout/sessions"] = StripeError(500, "api_error", "down")
        assert_problem(await checkout(browser), 502, "payment-provider-error")
        assert await session.scalar(select(BillingCustomer.id)) is None
        assert (await checkout(browser)).status_code == 200
        assert len(fake_stripe.calls_to("POST", "/v1/customers")) == 2
        assert len(fake_stripe.customers) == 1
        [customer] = (await session.scalars(select(BillingCustomer))).all()
        assert customer.stripe_customer_id in fake_stripe.customers

    async def test_a_name_changed_after_a_failed_first_checkout_does_not_block_the_retry(
        self, browser, fake_stripe, session
    ):
        # Stripe refuses a key reused with other parameters for a day; the customer's key covers
        # the name and email sent, so the retry is a new request rather than a stuck one.
        fake_stripe.fail_next["/v1/checkout/sessions"] = StripeError(500, "api_error", "down")
        assert_problem(await checkout(browser), 502, "payment-provider-error")
        renamed = await browser.patch("/api/v1/me", json={"name": "Renamed Person"})
        assert renamed.status_code == 200, renamed.text
        assert (await checkout(browser)).status_code == 200
        [first, second] = fake_stripe.calls_to("POST", "/v1/customers")
        assert first.params["name"] != "Renamed Person" and second.params["name"] == "Renamed Person"

    async def test_a_refused_card_setup_is_a_502_problem(self, browser, fake_stripe):
        fake_stripe.fail_next["/v1/customers"] = StripeError(
            400, "invalid_request_error", "Invalid email", "email_invalid"
        )
        assert_problem(await checkout(browser), 502, "payment-provider-error")


class TestPortal:
    async def test_no_customer_yet(self, browser, fake_stripe):
        assert_problem(await browser.post(PORTAL), 409, "no-billing-account")
        assert fake_stripe.calls == []

    async def test_a_portal_session_for_the_persons_own_customer(self, browser, fake_stripe, member, session):
        await checkout(browser)
        response = await browser.post(PORTAL)
        assert response.status_code == 200, response.text
        [call] = fake_stripe.calls_to("POST", "/v1/billing_portal/sessions")
        customer = await session.scalar(select(BillingCustomer).where(BillingCustomer.user_id == member.id))
        assert call.params == {
            "customer": customer.stripe_customer_id,
            "return_url": "http://127.0.0.1:8000/billing",
        }
        assert response.json()["url"].startswith(fake_stripe.base_url + "/portal/bps_")

    async def test_another_persons_customer_is_never_used(self, browser, make_client, session, fake_stripe):
        await checkout(browser)
        await create_user(session, "bob@example.com", name="Bob Roe")
        other = make_client()
        await sign_in(other, "bob@example.com")
        assert_problem(await other.post(PORTAL), 409, "no-billing-account")


ENDPOINTS = [
    ("GET", "/api/v1/billing/plans"),
    ("GET", "/api/v1/billing/subscription"),
    ("GET", "/api/v1/billing/invoices"),
    ("POST", CHECKOUT),
    ("POST", PORTAL),
]


class TestAccess:
    @pytest.mark.parametrize(("method", "path"), ENDPOINTS)
    async def test_anonymous_callers_are_refused(self, client, method, path):
        assert_problem(await client.request(method, path, json={"plan": "starter"}), 401, "not-authenticated")

    @pytest.mark.parametrize(("method", "path"), [e for e in ENDPOINTS if e[0] == "POST"])
    async def test_unsafe_requests_need_the_csrf_header(self, browser, method, path, fake_stripe):
        del browser.headers["X-CSRF-Token"]
        assert_problem(await browser.request(method, path, json={"plan": "starter"}), 403)
        assert fake_stripe.calls == []

    @pytest.mark.parametrize(("method", "path"), ENDPOINTS)
    async def test_personal_access_tokens_cannot_use_billing(self, browser, make_client, method, path):
        created = await browser.post("/api/v1/me/tokens", json={"name": "cli", "scopes": ["profile:read"]})
        assert created.status_code == 201, created.text
        api = make_client()
        api.headers["Authorization"] = f"Bearer {created.json()['token']}"
        assert_problem(await api.request(method, path, json={"plan": "starter"}), 403)

    async def test_an_unverified_email_cannot_check_out(self, client, session, fake_stripe):
        await create_user(session, "new@example.com", verified=False)
        await sign_in(client, "new@example.com")
        assert_problem(await checkout(client), 403)
        assert fake_stripe.calls == []

    @pytest.mark.parametrize(("method", "path"), ENDPOINTS)
    async def test_unknown_query_parameters_are_refused(self, browser, method, path, fake_stripe):
        response = await browser.request(
            method, path, params={"customer": "cus_other"}, json={"plan": "starter"}
        )
        assert_problem(response, 422)
        assert fake_stripe.calls == []

    async def test_a_body_that_is_not_json(self, browser, fake_stripe):
        response = await browser.post(
            CHECKOUT, content=b"plan=starter", headers={"content-type": "text/plain"}
        )
        assert_problem(response, 415, "unsupported-media-type")
        assert fake_stripe.calls == []


class TestWrongKey:
    @pytest.fixture
    def billing_settings(self, billing_settings):  # type: ignore[no-untyped-def]
        return billing_settings.model_copy(update={"stripe_secret_key": SecretStr("sk_test_revoked")})

    async def test_a_key_stripe_refuses_is_a_502_not_a_500(self, browser, fake_stripe):
        assert_problem(await checkout(browser), 502, "payment-provider-error")
        assert len(fake_stripe.calls) == 1


class TestNotConfigured:
    @pytest.fixture
    def app(self, settings, sessionmaker):  # type: ignore[no-untyped-def]
        return create_app(settings, sessionmaker=sessionmaker, job_backend=jobs.ExternalWorker())

    @pytest.mark.parametrize(("method", "path"), ENDPOINTS)
    async def test_every_billing_endpoint_says_billing_is_not_configured(self, browser, method, path):
        body = assert_problem(
            await browser.request(method, path, json={"plan": "starter"}), 503, "billing-not-configured"
        )
        assert "OPMAESTRO_STRIPE_SECRET_KEY" in body["detail"]
