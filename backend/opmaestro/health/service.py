"""Readiness: the database answers, its schema is at the migration head, jobs can run."""

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opmaestro.core.errors import ServiceUnavailable
from opmaestro.core.jobs import JobBackend
from opmaestro.health.schemas import Readiness, ReadinessCheck

logger = logging.getLogger(__name__)
CHECK_TIMEOUT_SECONDS = 3.0


class NotReady(ServiceUnavailable):
    slug, title = "not-ready", "Not ready"


async def check_readiness(
    sessionmaker: async_sessionmaker[AsyncSession], job_backend: JobBackend, migration_heads: frozenset[str]
) -> Readiness:
    """Run every check; raise NotReady (with the checks) when any fails."""
    checks = [
        *await _check_database(sessionmaker, migration_heads),
        await _check_jobs(job_backend),
    ]
    readiness = Readiness(status="ready" if all(c.ok for c in checks) else "not_ready", checks=checks)
    if readiness.status != "ready":
        failed = ", ".join(check.name for check in checks if not check.ok)
        raise NotReady(f"Failing checks: {failed}.", extra={"checks": [c.model_dump() for c in checks]})
    return readiness


async def _check_database(
    sessionmaker: async_sessionmaker[AsyncSession], migration_heads: frozenset[str]
) -> list[ReadinessCheck]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), sessionmaker() as session:
            await session.execute(text("SELECT 1"))
            versions = frozenset(
                (await session.scalars(text("SELECT version_num FROM alembic_version"))).all()
            )
    except Exception as error:
        logger.warning("readiness: database check failed: %s", type(error).__name__)
        return [
            ReadinessCheck(name="database", ok=False, detail=f"unreachable ({type(error).__name__})"),
            ReadinessCheck(name="migrations", ok=False, detail="unknown: the database is unreachable"),
        ]
    database = ReadinessCheck(name="database", ok=True, detail="reachable")
    if versions == migration_heads:
        return [database, ReadinessCheck(name="migrations", ok=True, detail="at head")]
    detail = f"database at {sorted(versions) or 'no revision'}, code expects {sorted(migration_heads)}"
    return [database, ReadinessCheck(name="migrations", ok=False, detail=detail)]


async def _check_jobs(job_backend: JobBackend) -> ReadinessCheck:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            ok = await job_backend.is_ready()
    except TimeoutError:
        ok = False
    return ReadinessCheck(name="jobs", ok=ok, detail="running" if ok else "job backend unavailable")
