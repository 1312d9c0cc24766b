"""Closing or erasing an account cancels its subscriptions at the end of the paid period, in a
job; reopening a closed account undoes what closing it did, and only that."""

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import hooks as account_hooks
from opmaestro.accounts.models import User, UserStatus
from opmaestro.audit import service as audit
from opmaestro.billing import events as billing_events  # noqa: F401 - registers the event handlers
from opmaestro.billing import gateway, service
from opmaestro.billing.models import BillingSubscription
from opmaestro.core import jobs
from opmaestro.core.config import Settings

CANCEL_JOB = "billing.cancel_at_period_end"
RESUME_JOB = "billing.resume_after_reopening"
# Set on a subscription we told to end because its account ended: reopening the account renews
# only those, never one the person had cancelled themselves.
ENDED_BY = "opmaestro_ended_by"
ENDED_BY_ACCOUNT = "account"
# The reason accounts gives when the person closes the account (the only end that can be undone).
ACCOUNT_CLOSED = "account closed"


def _subscriptions(user_id: UUID, *, cancelling: bool) -> Any:
    return select(BillingSubscription).where(
        BillingSubscription.user_id == user_id,
        BillingSubscription.status.not_in(service.ENDED),
        BillingSubscription.cancel_at_period_end.is_(cancelling),
    )


async def _record_answer(
    session: AsyncSession, subscription_id: str, updated: Any, action: str, reason: str
) -> None:
    """Keep what Stripe answered (whether the subscription ends with its period), audited."""
    row = await session.scalar(
        select(BillingSubscription).where(BillingSubscription.stripe_subscription_id == subscription_id)
    )
    if row is not None:
        row.cancel_at_period_end = gateway.field(updated, "cancel_at_period_end") is True
    await audit.record(
        session,
        actor=None,
        action=action,
        subject_type="billing_subscription",
        subject_id=row.id if row is not None else None,
        fields=["cancel_at_period_end"],
        reason=reason,
    )


@account_hooks.on_account_ended
async def _cancel_when_the_account_ends(
    session: AsyncSession, user_id: UUID, settings: Settings, reason: str
) -> None:
    # The Stripe ids go in the job: an erasure deletes the rows in this same transaction.
    rows = (await session.scalars(_subscriptions(user_id, cancelling=False))).all()
    if rows:
        await jobs.enqueue(
            session,
            CANCEL_JOB,
            {
                "user_id": str(user_id),
                "subscriptions": [row.stripe_subscription_id for row in rows],
                "reason": reason,
            },
            max_attempts=settings.job_max_attempts,
        )


@account_hooks.on_reopened
async def _resume_when_the_account_reopens(session: AsyncSession, user: User, settings: Settings) -> None:
    rows = (await session.scalars(_subscriptions(user.id, cancelling=True))).all()
    if rows:
        await jobs.enqueue(
            session,
            RESUME_JOB,
            {"user_id": str(user.id), "subscriptions": [row.stripe_subscription_id for row in rows]},
            max_attempts=settings.job_max_attempts,
        )


async def _reopened_since(context: jobs.JobContext, payload: dict[str, Any]) -> bool:
    """The account was closed, and signed into again before this job ran."""
    if payload.get("reason") != ACCOUNT_CLOSED:
        return False
    user = await context.session.get(User, UUID(payload["user_id"]))
    return user is not None and user.status == UserStatus.ACTIVE


@jobs.handler(CANCEL_JOB)
async def cancel_at_period_end(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    """Ask Stripe to end each subscription of the person when its paid period ends."""
    if await _reopened_since(context, payload):
        return
    async with gateway.stripe_client(context.settings) as client:
        for subscription_id in payload["subscriptions"]:
            updated = await client.v1.subscriptions.update_async(
                subscription_id,
                params={"cancel_at_period_end": True, "metadata": {ENDED_BY: ENDED_BY_ACCOUNT}},
                # Per job: closing, reopening and closing again is two cancellations, not a replay.
                options={"idempotency_key": f"opmaestro-account-ended-{subscription_id}-{context.job_id}"},
            )
            await _record_answer(
                context.session,
                subscription_id,
                updated,
                "billing.subscription_cancel_requested",
                payload.get("reason") or "account ended",
            )
    await context.session.flush()


@jobs.handler(RESUME_JOB)
async def resume_after_reopening(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    """Renew again each subscription that closing the account set to end; one the person had
    cancelled themselves stays cancelled."""
    async with gateway.stripe_client(context.settings) as client:
        for subscription_id in payload["subscriptions"]:
            current = await client.v1.subscriptions.retrieve_async(subscription_id)
            metadata = gateway.field(current, "metadata") or {}
            if (
                gateway.field(metadata, ENDED_BY) != ENDED_BY_ACCOUNT
                or gateway.field(current, "cancel_at_period_end") is not True
                or gateway.field(current, "status") in service.ENDED
            ):
                continue
            updated = await client.v1.subscriptions.update_async(
                subscription_id,
                # An empty value removes the key (Stripe's rule for metadata).
                params={"cancel_at_period_end": False, "metadata": {ENDED_BY: ""}},
                options={"idempotency_key": f"opmaestro-account-reopened-{subscription_id}-{context.job_id}"},
            )
            await _record_answer(
                context.session, subscription_id, updated, "billing.subscription_resumed", "account reopened"
            )
    await context.session.flush()
