"""Billing in the browser: from the Billing page to (fake) Stripe Checkout and back, the
subscription arriving through signed webhook events, then a failed payment's banner."""

import json
import re
import time
from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer, assert_accessible
from tests.webhooks.inbound.signing import stripe_signature

PASSWORD = "billing member passphrase 1"


def send_event(live_server: LiveServer, event_type: str, data: dict[str, Any]) -> None:
    """An event signed as Stripe signs it, delivered to the server's real webhook route."""
    body = json.dumps(
        {
            "id": f"evt_{event_type.replace('.', '_')}_{data['id']}_{time.monotonic_ns()}",
            "object": "event",
            "created": int(time.time()),
            "type": event_type,
            "livemode": False,
            "data": {"object": data},
        }
    ).encode()
    response = httpx.post(
        f"{live_server.url}/api/v1/webhooks/stripe",
        content=body,
        headers={"content-type": "application/json", "stripe-signature": stripe_signature(body)},
    )
    assert response.status_code == 200, response.text


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label(re.compile(r"^Password\b")).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1)).to_be_visible()


async def test_subscribe_through_checkout_and_see_a_failed_payment(page: Page, live_server: LiveServer):
    email = "billing-member@example.com"
    live_server.register(email, PASSWORD, name="Bea Buyer")
    live_server.verify(email)
    await sign_in(page, email)

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing").click()
    await expect(page.get_by_role("heading", name="Billing", level=1)).to_be_visible()
    await expect(page.get_by_text("You have no subscription yet. Choose a plan below.")).to_be_visible()
    await expect(page.get_by_text("No invoices yet.")).to_be_visible()
    await assert_accessible(page)

    await page.get_by_role("button", name="Subscribe to Starter").click()
    await expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
    assert page.url.startswith(f"{live_server.stripe.base_url}/pay/cs_")

    # Stripe takes the payment, then tells the server: the session completed, the subscription
    # exists, its first invoice is paid.
    [session_id] = [key for key in live_server.stripe.checkout_sessions if page.url.endswith(key)]
    completed, subscription = live_server.stripe.complete_checkout(
        session_id, period_end=int(time.time()) + 2_592_000
    )
    send_event(live_server, "checkout.session.completed", completed)
    send_event(live_server, "customer.subscription.created", subscription)
    send_event(live_server, "invoice.paid", live_server.stripe.invoice(subscription["id"], status="paid"))

    await page.get_by_role("link", name="Pay").click()
    await expect(page).to_have_url(re.compile(r"/billing\?checkout=success$"))
    await expect(page.get_by_text("Active", exact=True)).to_be_visible()
    await expect(page.get_by_text("Your subscription is set up.")).to_be_visible()
    await expect(page.get_by_role("table", name="Invoices").get_by_role("row")).to_have_count(2)
    await expect(page.get_by_role("button", name="Subscribe to Team")).to_be_disabled()

    send_event(
        live_server, "invoice.payment_failed", live_server.stripe.invoice(subscription["id"], status="open")
    )
    send_event(live_server, "customer.subscription.updated", subscription | {"status": "past_due"})
    # The server handles the events in its job worker: read the page again until they landed
    # (the deadline guards against a hang, not a slow machine).
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        await page.goto("/billing")
        await expect(page.get_by_role("heading", name="Your subscription")).to_be_visible()
        await expect(page.get_by_role("status", name="Loading your subscription")).to_have_count(0)
        if await page.get_by_text("Payment overdue").count():
            break
        await page.wait_for_timeout(250)
    await expect(page.get_by_role("alert").filter(has_text="Your last payment failed")).to_be_visible()
    await assert_accessible(page)

    await page.get_by_role("button", name="Manage billing").click()
    await expect(page.get_by_role("heading", name="Fake Stripe Billing Portal")).to_be_visible()
    await page.get_by_role("link", name="Return").click()
    await expect(page.get_by_role("heading", name="Billing", level=1)).to_be_visible()
