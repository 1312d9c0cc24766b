"""The integrations' jobs: importing a connection's slice, pruning abandoned authorizations."""

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.core import jobs
from opmaestro.integrations import service


async def _sync_dead(session: AsyncSession, payload: dict[str, Any], _error: str) -> None:
    await service.sync_gave_up(session, UUID(payload["connection_id"]))


@jobs.handler(service.SYNC_JOB, on_dead=_sync_dead)
async def run_sync(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    await service.sync(context.session, context.settings, UUID(payload["connection_id"]))


@jobs.handler(service.PRUNE_JOB)
async def prune_authorizations(context: jobs.JobContext, _payload: dict[str, Any]) -> None:
    await service.prune_authorizations(context.session)


jobs.periodic(service.PRUNE_JOB, every=timedelta(hours=1))
