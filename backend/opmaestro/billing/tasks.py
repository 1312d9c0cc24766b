"""Closing an account cancels its subscriptions at the end of the paid period, in a job."""

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import hooks as account_hooks
from opmaestro.accounts.models import User
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


@account_hooks.on_closed
async def _cancel_on_close(session: AsyncSession, user: User, settings: Settings) -> None:
    if await session.scalar(_still_renewing(user.id).limit(1)) is not None:
        await jobs.enqueue(
            session, CANCEL_JOB, {"user_id": str(user.id)}, max_attempts=settings.job_max_attempts
        )


@jobs.handler(CANCEL_JOB)
async def cancel_at_period_end(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    """Ask Stripe to end each renewing subscription of the person when its paid period ends."""
    user_id = UUID(payload["user_id"])
    rows = (await context.session.scalars(_still_renewing(user_id))).all()
    if not rows:
        return
    async with gateway.stripe_client(context.settings) as client:
        for row in rows:
            updated = await client.v1.subscriptions.update_async(
                row.stripe_subscription_id,
                params={"cancel_at_period_end": True},
                options={"idempotency_key": f"opmaestro-close-{row.id}"},
            )
            row.cancel_at_period_end = gateway.field(updated, "cancel_at_period_end") is True
            await audit.record(
                context.session,
                actor=None,
                action="billing.subscription_cancel_requested",
                subject_type="billing_subscription",
                subject_id=row.id,
                fields=["cancel_at_period_end"],
                reason="account closed",
            )
    await context.session.flush()
