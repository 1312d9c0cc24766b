"""Fixtures shared by the account tests."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opmaestro import main
from opmaestro.accounts.signin import FORGOT_PASSWORD_JOB
from opmaestro.core import jobs
from opmaestro.core.config import Settings
from tests.clocked_storage import clocked_rate_limiter
from tests.conftest import Clock


@pytest.fixture
def clocked_rate_limits(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> Clock:
    """Apps built from now on count rate limits by the test clock, so moving it ends a window."""
    monkeypatch.setattr(main, "build_rate_limiter", lambda settings: clocked_rate_limiter())
    return clock


@pytest.fixture
async def limited_app(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Callable[..., Callable[[str], httpx.AsyncClient]]]:
    """An app with changed settings; returns a function opening browsers on it from an address.
    Its rate-limit windows start at each key's first hit, so a test's requests count in one."""
    clients: list[httpx.AsyncClient] = []

    def build(**changes: Any) -> Callable[[str], httpx.AsyncClient]:
        app = main.create_app(
            settings.model_copy(update=changes), sessionmaker=sessionmaker, job_backend=jobs.ExternalWorker()
        )

        def browser_at(ip: str = "127.0.0.1") -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 40000))
            clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
            return clients[-1]

        return browser_at

    yield build
    for made in clients:
        await made.aclose()


@pytest.fixture
def run_jobs(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> Callable[..., Any]:
    """Run the queued jobs of one name (the password-reset mails by default), as a worker would
    after the request committed; returns how many ran."""

    async def run(name: str = FORGOT_PASSWORD_JOB) -> int:
        async with sessionmaker() as reader:
            queued = list(
                await reader.scalars(
                    select(jobs.Job.id)
                    .where(jobs.Job.name == name, jobs.Job.status == jobs.JobStatus.QUEUED)
                    .order_by(jobs.Job.created_at)
                )
            )
        runner = jobs.JobRunner(sessionmaker, settings)
        return sum([await runner.run_by_id(job_id) for job_id in queued])

    return run
