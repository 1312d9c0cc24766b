"""Plain functions that build test data."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.core import jobs


async def queued_job(
    session: AsyncSession, name: str, payload: dict[str, Any] | None = None, **options: Any
) -> jobs.Job:
    job = await jobs.enqueue(session, name, payload or {}, **options)
    await session.commit()
    return job
