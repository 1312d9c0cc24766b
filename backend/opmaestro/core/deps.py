"""What route handlers take from the running app, as typed dependencies; only these read `app.state`.

The providers are `async def` although they never await: FastAPI runs a plain `def` dependency
in a worker thread, a hand-off that cost more than the whole lookup (GET /me at concurrency 16
on SQLite spent 4% of its CPU in `run_in_threadpool` for these alone).
"""

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from opmaestro.core.config import Settings
from opmaestro.core.jobs import JobBackend
from opmaestro.core.ratelimit import RateLimiter


def app_settings(connection: HTTPConnection) -> Settings:
    """The settings the app was built with."""
    settings: Settings = connection.app.state.settings
    return settings


async def app_rate_limiter(connection: HTTPConnection) -> RateLimiter:
    """The app's rate limiter (Redis or in memory)."""
    limiter: RateLimiter = connection.app.state.rate_limiter
    return limiter


async def app_sessionmaker(connection: HTTPConnection) -> async_sessionmaker[AsyncSession]:
    """The app's sessionmaker, for work that must commit apart from the request's session."""
    sessionmaker: async_sessionmaker[AsyncSession] = connection.app.state.sessionmaker
    return sessionmaker


async def app_job_backend(connection: HTTPConnection) -> JobBackend:
    """Where committed jobs are handed to run."""
    backend: JobBackend = connection.app.state.job_backend
    return backend


async def app_migration_heads(connection: HTTPConnection) -> frozenset[str]:
    """The migration revisions the code expects the database to be at."""
    heads: frozenset[str] = connection.app.state.migration_heads
    return heads


async def _settings_dependency(connection: HTTPConnection) -> Settings:
    return app_settings(connection)


SettingsDep = Annotated[Settings, Depends(_settings_dependency)]
RateLimiterDep = Annotated[RateLimiter, Depends(app_rate_limiter)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(app_sessionmaker)]
JobBackendDep = Annotated[JobBackend, Depends(app_job_backend)]
MigrationHeadsDep = Annotated[frozenset[str], Depends(app_migration_heads)]
