"""Plans, checkout and portal sessions, and what the Billing page reads."""

import hashlib
import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.deps import Principal
from opmaestro.accounts.models import User, UserStatus
from opmaestro.audit import service as audit
from opmaestro.billing import gateway
from opmaestro.billing.exceptions import (
    AlreadySubscribed,
    NoBillingAccount,
    PaymentProviderFailed,
    UnknownPlan,
)
from opmaestro.billing.models import BillingCustomer, BillingInvoice, BillingSubscription
from opmaestro.billing.schemas import InvoiceRead, PlanRead, SubscriptionRead
from opmaestro.core.clock import utcnow
from opmaestro.core.config import BillingPlan, Settings
from opmaestro.core.db import new_id, table_of
from opmaestro.core.links import public_url
from opmaestro.core.pagination import decode_cursor, encode_cursor

logger = logging.getLogger(__name__)
BILLING_PAGE = "/billing"
# Statuses in which the person holds a subscription: a second checkout would charge twice.
HELD = frozenset({"active", "trialing", "past_due", "unpaid", "incomplete", "paused"})
ENDED = frozenset({"canceled", "incomplete_expired"})


def list_plans(settings: Settings) -> list[PlanRead]:
    """The plans offered (503 when billing is not configured)."""
    gateway.require_configured(settings)
    return [
        PlanRead(
            key=plan.key,
            name=plan.name,
            interval=plan.interval,
            amount=plan.amount,
            currency=plan.currency,
            features=list(plan.features),
        )
        for plan in settings.billing_plans
    ]


def plan_by_key(settings: Settings, key: str | None) -> BillingPlan | None:
    return next((plan for plan in settings.billing_plans if plan.key == key), None)


def plan_by_price(settings: Settings, price_id: str | None) -> BillingPlan | None:
    return next((plan for plan in settings.billing_plans if plan.price_id == price_id), None)


async def customer_of(session: AsyncSession, user_id: UUID) -> BillingCustomer | None:
    return await session.scalar(select(BillingCustomer).where(BillingCustomer.user_id == user_id))


async def user_of_customer(session: AsyncSession, stripe_customer_id: str | None) -> UUID | None:
    """Whose Stripe customer this is; None for a customer we did not create, or whose person
    was erased (what Stripe says about them later is not kept)."""
    if not stripe_customer_id:
        return None
    return await session.scalar(
        select(BillingCustomer.user_id)
        .join(User, User.id == BillingCustomer.user_id)
        .where(BillingCustomer.stripe_customer_id == stripe_customer_id, User.status != UserStatus.ERASED)
    )


async def _ensure_customer(session: AsyncSession, client: Any, principal: Principal) -> BillingCustomer:
    user = principal.signed_in_user
    existing = await customer_of(session, user.id)
    if existing is not None:
        return existing
    # Only the name and the email go to Stripe. The key makes a retried or concurrent first
    # checkout get the same customer back from Stripe rather than a second one. It covers what is
    # sent too: Stripe refuses a key reused with other parameters for a day, so a person who
    # changed their name after a failed first checkout would otherwise be stuck until then.
    sent = {"name": user.name, "email": user.email}
    fingerprint = hashlib.sha256(f"{user.id}\n{user.name}\n{user.email}".encode()).hexdigest()[:32]
    created = await client.v1.customers.create_async(
        params=sent, options={"idempotency_key": f"opmaestro-customer-{fingerprint}"}
    )
    customer_id = gateway.field(created, "id")
    if not isinstance(customer_id, str) or not customer_id.startswith("cus_"):
        raise PaymentProviderFailed("Stripe answered without a customer id.")
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    await session.execute(
        insert(table_of(BillingCustomer))
        .values(id=new_id(), user_id=user.id, stripe_customer_id=customer_id, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    customer = await customer_of(session, user.id)
    if customer is None:
        raise PaymentProviderFailed("The billing customer could not be recorded.")
    await audit.record(
        session,
        actor=principal,
        action="billing.customer_created",
        subject_type="billing_customer",
        subject_id=customer.id,
        fields=["stripe_customer_id"],
    )
    return customer


def scoped_idempotency_key(user_id: UUID, purpose: str, key: str) -> str:
    """The key sent to Stripe: the client's, scoped to the person, so one person's key can never
    replay another person's session."""
    return f"opmaestro-{purpose}-" + hashlib.sha256(f"{user_id}\n{key}".encode()).hexdigest()


async def start_checkout(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    plan_key: str,
    idempotency_key: str | None,
) -> str:
    """A Stripe Checkout Session in subscription mode for the signed-in person; its URL."""
    gateway.require_configured(settings)
    plan = plan_by_key(settings, plan_key)
    if plan is None:
        raise UnknownPlan(f"There is no plan {plan_key!r}.")
    user = principal.signed_in_user
    held = await session.scalar(
        select(BillingSubscription.id).where(
            BillingSubscription.user_id == user.id, BillingSubscription.status.in_(HELD)
        )
    )
    if held is not None:
        raise AlreadySubscribed("You already have a subscription: change it from Manage billing.")
    async with gateway.stripe_client(settings) as client:
        customer = await _ensure_customer(session, client, principal)
        options: dict[str, Any] = {}
        if idempotency_key:
            options["idempotency_key"] = scoped_idempotency_key(user.id, "checkout", idempotency_key)
        checkout = await client.v1.checkout.sessions.create_async(
            params={
                "mode": "subscription",
                "customer": customer.stripe_customer_id,
                "client_reference_id": str(user.id),
                "line_items": [{"price": plan.price_id, "quantity": 1}],
                "success_url": public_url(settings, BILLING_PAGE) + "?checkout=success",
                "cancel_url": public_url(settings, BILLING_PAGE) + "?checkout=cancelled",
                "metadata": {"plan": plan.key},
                "subscription_data": {"metadata": {"plan": plan.key}},
            },
            options=options,  # type: ignore[arg-type]
        )
    return _url_of(checkout)


async def open_portal(session: AsyncSession, settings: Settings, principal: Principal) -> str:
    """A Stripe Billing Portal session for the signed-in person's customer; its URL."""
    gateway.require_configured(settings)
    customer = await customer_of(session, principal.signed_in_user.id)
    if customer is None:
        raise NoBillingAccount("Subscribe to a plan first: there is no billing account to manage yet.")
    async with gateway.stripe_client(settings) as client:
        portal = await client.v1.billing_portal.sessions.create_async(
            params={"customer": customer.stripe_customer_id, "return_url": public_url(settings, BILLING_PAGE)}
        )
    return _url_of(portal)


def _url_of(created: Any) -> str:
    url = gateway.field(created, "url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise PaymentProviderFailed("Stripe answered without a page address.")
    return url


async def current_subscription(
    session: AsyncSession, settings: Settings, user: User
) -> SubscriptionRead | None:
    """The person's subscription: the one they hold, or else the one that ended last."""
    gateway.require_configured(settings)
    rows = (
        await session.scalars(
            select(BillingSubscription)
            .where(BillingSubscription.user_id == user.id)
            .order_by(BillingSubscription.updated_at.desc(), BillingSubscription.id.desc())
        )
    ).all()
    if not rows:
        return None
    row = next((row for row in rows if row.status not in ENDED), rows[0])
    plan = plan_by_key(settings, row.plan_key) or plan_by_price(settings, row.price_id)
    return SubscriptionRead(
        plan=plan.key if plan else row.plan_key,
        plan_name=plan.name if plan else None,
        status=row.status,
        current_period_end=row.current_period_end,
        cancel_at_period_end=row.cancel_at_period_end,
        payment_failed=row.failed_invoice_id is not None or row.status in ("past_due", "unpaid"),
    )


def _invoice_read(row: BillingInvoice) -> InvoiceRead:
    return InvoiceRead(
        id=row.stripe_invoice_id,
        number=row.number,
        amount_due=row.amount_due,
        amount_paid=row.amount_paid,
        currency=row.currency,
        status=row.status,
        issued_at=row.issued_at,
        hosted_invoice_url=row.hosted_invoice_url,
    )


async def list_invoices(
    session: AsyncSession, settings: Settings, user: User, *, cursor: str | None, limit: int
) -> tuple[list[InvoiceRead], str | None]:
    """The person's invoices, newest first, a page at a time."""
    gateway.require_configured(settings)
    query = select(BillingInvoice).where(BillingInvoice.user_id == user.id)
    if cursor:
        after_at, after_id = decode_cursor(cursor)
        query = query.where(
            or_(
                BillingInvoice.issued_at < after_at,
                and_(BillingInvoice.issued_at == after_at, BillingInvoice.id < after_id),
            )
        )
    rows = list(
        (
            await session.scalars(
                query.order_by(BillingInvoice.issued_at.desc(), BillingInvoice.id.desc()).limit(limit + 1)
            )
        ).all()
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].issued_at, rows[-1].id)
    return [_invoice_read(row) for row in rows], next_cursor


def as_datetime(timestamp: Any) -> datetime | None:
    if isinstance(timestamp, int) and not isinstance(timestamp, bool) and timestamp >= 0:
        return datetime.fromtimestamp(timestamp, UTC)
    return None
