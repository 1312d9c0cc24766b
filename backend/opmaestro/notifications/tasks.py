"""Job handlers of the notifications domain."""

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.core import jobs
from opmaestro.notifications import service


async def _give_up(session: AsyncSession, payload: dict[str, Any], reason: str) -> None:
    await service.mark_undeliverable(session, UUID(payload["message_id"]), reason)


@jobs.handler(service.DELIVER_JOB, on_dead=_give_up)
async def deliver_message(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    await service.deliver(
        context.session, UUID(payload["message_id"]), context.settings, before_smtp=context.session.commit
    )
