"""Billing: plans, checkout and portal sessions, the subscription and invoices of the signed-in person."""

from typing import Annotated, Any

from fastapi import APIRouter, Header

from opmaestro.accounts.deps import BrowserSession, VerifiedBrowserSession
from opmaestro.billing import service
from opmaestro.billing.exceptions import (
    AlreadySubscribed,
    BillingNotConfigured,
    IdempotencyKeyReused,
    NoBillingAccount,
    PaymentProviderFailed,
    UnknownPlan,
)
from opmaestro.billing.schemas import (
    CheckoutCreate,
    InvoiceRead,
    PlanList,
    RedirectRead,
    SubscriptionState,
)
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import SettingsDep
from opmaestro.core.errors import problem
from opmaestro.core.http import SIGNED_IN_ERRORS, Cursor, Limit
from opmaestro.core.pagination import DEFAULT_LIMIT, InvalidCursor, Page

router = APIRouter(
    prefix="/billing",
    tags=["billing"],
    responses={**SIGNED_IN_ERRORS, 503: problem(BillingNotConfigured)},
)
PROVIDER_ERRORS: dict[int | str, dict[str, Any]] = {502: problem(PaymentProviderFailed)}
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=200,
        pattern=r"^[A-Za-z0-9_\-:.]+$",
        description="A key of your choice (8 to 200 of A-Z a-z 0-9 _ - : .): a retry with the same key "
        "gets the same checkout session instead of a second one.",
    ),
]


@router.get("/plans", summary="List the plans", response_model=PlanList)
async def list_plans(_principal: BrowserSession, settings: SettingsDep) -> PlanList:
    """The plans on offer, with their price and features."""
    return PlanList(plans=service.list_plans(settings))


@router.post(
    "/checkout",
    summary="Start a checkout",
    response_model=RedirectRead,
    responses={
        **PROVIDER_ERRORS,
        409: problem(AlreadySubscribed, IdempotencyKeyReused),
        422: problem(UnknownPlan),
    },
)
async def create_checkout(
    body: CheckoutCreate,
    principal: VerifiedBrowserSession,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> RedirectRead:
    """A Stripe Checkout page to subscribe to a plan; it sends the browser back to the Billing page."""
    return RedirectRead(
        url=await service.start_checkout(session, settings, principal, body.plan, idempotency_key)
    )


@router.post(
    "/portal",
    summary="Open the billing portal",
    response_model=RedirectRead,
    responses={**PROVIDER_ERRORS, 409: problem(NoBillingAccount)},
)
async def create_portal(
    principal: BrowserSession, session: SessionDep, settings: SettingsDep
) -> RedirectRead:
    """A Stripe Billing Portal page to change plan, update the card or cancel."""
    return RedirectRead(url=await service.open_portal(session, settings, principal))


@router.get("/subscription", summary="Read your subscription", response_model=SubscriptionState)
async def get_subscription(
    principal: BrowserSession, session: SessionDep, settings: SettingsDep
) -> SubscriptionState:
    """Your plan, its status, when the period ends, and whether a payment failed."""
    return SubscriptionState(
        subscription=await service.current_subscription(session, settings, principal.signed_in_user)
    )


@router.get(
    "/invoices",
    summary="List your invoices",
    response_model=Page[InvoiceRead],
    responses={400: problem(InvalidCursor)},
)
async def list_invoices(
    principal: BrowserSession,
    session: SessionDep,
    settings: SettingsDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[InvoiceRead]:
    """Your invoices, newest first, with amounts and links to Stripe's invoice pages."""
    items, next_cursor = await service.list_invoices(
        session, settings, principal.signed_in_user, cursor=cursor, limit=limit
    )
    return Page[InvoiceRead](items=items, next_cursor=next_cursor)
