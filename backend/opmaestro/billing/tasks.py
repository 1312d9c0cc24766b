"""Closing or erasing an account cancels its subscriptions at the end of the paid period, in a job."""

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import hooks as account_hooks
from opmaestro.audit import service as audit
from opmaestro.billing import events as billing_events  # noqa: F401 - registers the event handlers
from opmaestro.billing import gateway, service
from opmaestro.billing.models import BillingSubscription
from opmaestro.core import jobs
from opmaestro.core.config import Settings

CANCEL_JOB = "billing.cancel_at_period_end"


def _still_renewing(user_id: UUID) -> Any:
    return select(BillingSubscription).where(
        BillingSubscription.user_id == user_id,
        BillingSubscription.status.not_in(service.ENDED),
        BillingSubscription.cancel_at_period_end.is_(False),
    )


@account_hooks.on_account_ended
async def _cancel_when_the_account_ends(
    session: AsyncSession, user_id: UUID, settings: Settings, reason: str
) -> None:
    # The Stripe ids go in the job: an erasure deletes the rows in this same transaction.
    renewing = [row.stripe_subscription_id for row in (await session.scalars(_still_renewing(user_id))).all()]
    if renewing:
        await jobs.enqueue(
            session,
            CANCEL_JOB,
            {"user_id": str(user_id), "subscriptions": renewing, "reason": reason},
            max_attempts=settings.job_max_attempts,
        )


@jobs.handler(CANCEL_JOB)
async def cancel_at_period_end(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    """Ask Stripe to end each subscription of the person when its paid period ends."""
    async with gateway.stripe_client(context.settings) as client:
        for subscription_id in payload["subscriptions"]:
            updated = await client.v1.subscriptions.update_async(
                subscription_id,
                params={"cancel_at_period_end": True},
                options={"idempotency_key": f"opmaestro-account-ended-{subscription_id}"},
            )
            row = await context.session.scalar(
                select(BillingSubscription).where(
                    BillingSubscription.stripe_subscription_id == subscription_id
                )
            )
            if row is not None:
                row.cancel_at_period_end = gateway.field(updated, "cancel_at_period_end") is True
            await audit.record(
                context.session,
                actor=None,
                action="billing.subscription_cancel_requested",
                subject_type="billing_subscription",
                subject_id=row.id if row is not None else None,
                fields=["cancel_at_period_end"],
                reason=payload.get("reason") or "account ended",
            )
    await context.session.flush()
