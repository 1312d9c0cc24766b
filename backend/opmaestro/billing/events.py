"""Subscription and invoice state from Stripe's events (verified and stored by webhooks.inbound).

Each handler is safe to run again, and an event older than what a row already shows changes
nothing: subscriptions compare the event's `created` with the last one applied; invoices
compare it too and, within one second, let `paid` outrank `open`.
"""

import logging
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.models import User, UserStatus
from opmaestro.billing import service
from opmaestro.billing.models import BillingInvoice, BillingSubscription
from opmaestro.billing.money import format_amount
from opmaestro.core import jobs
from opmaestro.core.config import Settings
from opmaestro.core.links import public_url
from opmaestro.notifications import service as notifications
from opmaestro.webhooks.inbound.registry import Provider, ProviderEvent, handles, link_subject

logger = logging.getLogger(__name__)
INVOICE_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "void": 3, "paid": 3}


def _object(event: ProviderEvent) -> dict[str, Any]:
    data = event.payload.get("data")
    found = data.get("object") if isinstance(data, dict) else None
    return found if isinstance(found, dict) else {}


def _id_of(value: Any) -> str | None:
    """A Stripe reference: an id, or an expanded object with one."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and 0 < len(value) <= 255 else None


def _text(value: Any, limit: int = 255) -> str | None:
    return value if isinstance(value, str) and len(value) <= limit else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


async def _owner(context: jobs.JobContext, event: ProviderEvent, customer: Any) -> UUID | None:
    user_id = await service.user_of_customer(context.session, _id_of(customer))
    if user_id is None:
        logger.info("billing: %s %s is about a customer we did not create", event.event_type, event.event_id)
        return None
    await link_subject(context.session, event, user_id)
    return user_id


def _subscription_facts(settings: Settings, found: dict[str, Any]) -> dict[str, Any]:
    items = found.get("items")
    entries = items.get("data") if isinstance(items, dict) else None
    first = entries[0] if isinstance(entries, list) and entries and isinstance(entries[0], dict) else {}
    price = first.get("price")
    price_id = _id_of(price)
    # Since API version 2025-03-31 the period lives on each item, before it on the subscription.
    period_end = found.get("current_period_end")
    if period_end is None and isinstance(entries, list):
        ends = [entry.get("current_period_end") for entry in entries if isinstance(entry, dict)]
        period_end = max((end for end in ends if isinstance(end, int)), default=None)
    metadata = found.get("metadata")
    plan = service.plan_by_price(settings, price_id)
    plan_key = plan.key if plan else (metadata.get("plan") if isinstance(metadata, dict) else None)
    return {
        "price_id": price_id,
        "plan_key": _text(plan_key, 64),
        "status": _text(found.get("status"), 32) or "incomplete",
        "current_period_end": service.as_datetime(period_end),
        "cancel_at_period_end": found.get("cancel_at_period_end") is True,
    }


async def _subscription(session: AsyncSession, subscription_id: str) -> BillingSubscription | None:
    return await session.scalar(
        select(BillingSubscription).where(BillingSubscription.stripe_subscription_id == subscription_id)
    )


def _applies(row: BillingSubscription, version: int | None) -> bool:
    if row.event_version is None or version is None:
        return True
    if version != row.event_version:
        return version > row.event_version
    # Two events of one second: a cancellation is final.
    return row.status not in service.ENDED


@handles(
    Provider.STRIPE,
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
)
async def on_subscription(context: jobs.JobContext, event: ProviderEvent) -> None:
    """Apply the subscription as the event shows it, unless a newer event was applied already."""
    found = _object(event)
    subscription_id = _id_of(found.get("id"))
    user_id = await _owner(context, event, found.get("customer"))
    if subscription_id is None or user_id is None:
        return
    facts = _subscription_facts(context.settings, found)
    if event.event_type == "customer.subscription.deleted":
        facts["status"] = "canceled"
    row = await _subscription(context.session, subscription_id)
    if row is None:
        row = BillingSubscription(
            user_id=user_id,
            stripe_subscription_id=subscription_id,
            stripe_customer_id=_id_of(found.get("customer")),
        )
        context.session.add(row)
    elif not _applies(row, event.object_version):
        return
    for name, value in facts.items():
        if name == "plan_key" and value is None:
            continue
        setattr(row, name, value)
    row.event_version = event.object_version
    await context.session.flush()


@handles(Provider.STRIPE, "checkout.session.completed")
async def on_checkout_completed(context: jobs.JobContext, event: ProviderEvent) -> None:
    """Record the new subscription at once; its own events bring its full state."""
    found = _object(event)
    if found.get("mode") != "subscription":
        return
    subscription_id = _id_of(found.get("subscription"))
    user_id = await _owner(context, event, found.get("customer"))
    if subscription_id is None or user_id is None:
        return
    if found.get("client_reference_id") != str(user_id):
        logger.warning("billing: checkout %s names another person than its customer", event.event_id)
        return
    metadata = found.get("metadata")
    plan_key = _text(metadata.get("plan"), 64) if isinstance(metadata, dict) else None
    row = await _subscription(context.session, subscription_id)
    if row is None:
        paid = found.get("payment_status") in ("paid", "no_payment_required")
        context.session.add(
            BillingSubscription(
                user_id=user_id,
                stripe_subscription_id=subscription_id,
                stripe_customer_id=_id_of(found.get("customer")),
                plan_key=plan_key,
                price_id=(
                    plan.price_id if (plan := service.plan_by_key(context.settings, plan_key)) else None
                ),
                status="active" if paid else "incomplete",
                cancel_at_period_end=False,
            )
        )
    elif row.plan_key is None:
        row.plan_key = plan_key
    await context.session.flush()


def _subscription_of_invoice(found: dict[str, Any]) -> str | None:
    direct = _id_of(found.get("subscription"))
    if direct:
        return direct
    # API versions since 2025-03-31 name it under parent.subscription_details.
    parent = found.get("parent")
    details = parent.get("subscription_details") if isinstance(parent, dict) else None
    return _id_of(details.get("subscription")) if isinstance(details, dict) else None


@handles(Provider.STRIPE, "invoice.paid", "invoice.payment_failed")
async def on_invoice(context: jobs.JobContext, event: ProviderEvent) -> None:
    """Keep the invoice; a failed payment flags the subscription and emails the person, a
    payment clears the flag."""
    found = _object(event)
    invoice_id = _id_of(found.get("id"))
    user_id = await _owner(context, event, found.get("customer"))
    issued_at = service.as_datetime(found.get("created"))
    currency = found.get("currency")
    if invoice_id is None or user_id is None or issued_at is None or not isinstance(currency, str):
        return
    status = _text(found.get("status"), 32) or "open"
    if event.event_type == "invoice.paid":
        status = "paid"
    version = event.object_version or 0
    rank = INVOICE_RANK.get(status, 1)
    session = context.session
    row = await session.scalar(select(BillingInvoice).where(BillingInvoice.stripe_invoice_id == invoice_id))
    if row is not None and (version, rank) < (row.event_version, row.status_rank):
        return
    if row is None:
        row = BillingInvoice(user_id=user_id, stripe_invoice_id=invoice_id, issued_at=issued_at)
        session.add(row)
    hosted = found.get("hosted_invoice_url")
    row.stripe_subscription_id = _subscription_of_invoice(found)
    row.number = _text(found.get("number"))
    row.amount_due = _count(found.get("amount_due"))
    row.amount_paid = _count(found.get("amount_paid"))
    row.currency = currency[:3].lower()
    row.status = status
    row.hosted_invoice_url = hosted if isinstance(hosted, str) and hosted.startswith("https://") else None
    row.event_version, row.status_rank = version, rank
    await session.flush()
    subscription = (
        await _subscription(session, row.stripe_subscription_id) if row.stripe_subscription_id else None
    )
    if event.event_type == "invoice.paid":
        if subscription is not None and subscription.failed_invoice_id is not None:
            failed = await session.scalar(
                select(BillingInvoice.issued_at).where(
                    BillingInvoice.stripe_invoice_id == subscription.failed_invoice_id
                )
            )
            if subscription.failed_invoice_id == invoice_id or failed is None or issued_at >= failed:
                subscription.failed_invoice_id = None
        return
    if subscription is not None:
        subscription.failed_invoice_id = invoice_id
    await _mail_payment_failed(context, user_id, row)


async def _mail_payment_failed(context: jobs.JobContext, user_id: UUID, invoice: BillingInvoice) -> None:
    user = await context.session.get(User, user_id)
    if user is None or user.status in (UserStatus.ERASED, UserStatus.DISABLED):
        return
    await notifications.send_email(
        context.session,
        context.settings,
        user.email,
        "billing_payment_failed",
        {
            "name": user.name,
            "amount": format_amount(invoice.amount_due, invoice.currency),
            "invoice_url": invoice.hosted_invoice_url,
            "billing_url": public_url(context.settings, service.BILLING_PAGE),
        },
        user_id=user.id,
    )
