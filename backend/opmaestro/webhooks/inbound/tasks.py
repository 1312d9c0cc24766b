"""Job handlers: run an event's registered handlers; prune old events every day."""

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.logging import redact
from opmaestro.webhooks.inbound import gusto_events, store
from opmaestro.webhooks.inbound.models import EventState, InboundEvent
from opmaestro.webhooks.inbound.registry import Provider, handlers_for
from opmaestro.webhooks.inbound.store import HANDLE_JOB


async def _record_failure(context: jobs.JobContext, event_id: UUID, error: Exception) -> None:
    # The job's own transaction is rolled back with the failed handler; the attempt is
    # recorded apart so staff can see why an event is still waiting.
    await context.session.rollback()
    async with context.sessionmaker() as session:
        await session.execute(
            update(InboundEvent)
            .where(InboundEvent.id == event_id)
            .values(attempts=context.attempt, last_error=redact(f"{type(error).__name__}: {error}")[:2000])
            .execution_options(synchronize_session=False)
        )
        await session.commit()


async def handle_event(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    """Run every handler registered for the event, once; mark it handled, or ignored if none."""
    event_id = UUID(payload["event_id"])
    row = await context.session.get(InboundEvent, event_id)
    if row is None or row.state != EventState.RECEIVED:
        return
    handlers = handlers_for(Provider(row.provider), row.event_type)
    row.attempts = context.attempt
    row.handled_at = utcnow()
    if not handlers:
        row.state = EventState.IGNORED
        return
    try:
        event = store.event_of(row)
        for handler in handlers:
            await handler(context, event)
    except Exception as error:
        await _record_failure(context, event_id, error)
        raise
    row.state = EventState.HANDLED
    row.last_error = None


async def _give_up(session: AsyncSession, payload: dict[str, Any], message: str) -> None:
    await session.execute(
        update(InboundEvent)
        .where(InboundEvent.id == UUID(payload["event_id"]), InboundEvent.state == EventState.RECEIVED)
        .values(state=EventState.FAILED, last_error=message, handled_at=utcnow())
        .execution_options(synchronize_session=False)
    )


jobs.handler(HANDLE_JOB, on_dead=_give_up)(handle_event)


@jobs.handler("webhooks.inbound.prune")
async def _prune(context: jobs.JobContext, _payload: dict[str, Any]) -> None:
    await store.prune(context.session, context.settings.inbound_webhook_keep_days)
    await gusto_events.prune_unverified(context.session)


jobs.periodic("webhooks.inbound.prune", every=timedelta(days=1))
