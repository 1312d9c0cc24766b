"""The fake providers on a real local server, an app pointed at them, and the connect flow."""

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opmaestro.core import jobs
from opmaestro.core.config import Settings
from opmaestro.integrations import service
from opmaestro.main import create_app
from tests.conftest import free_port
from tests.factories import create_user, sign_in
from tests.integrations.fakes import FakeProviders


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeProviders]:
    fake = FakeProviders()
    fake.start(free_port())
    yield fake
    fake.stop()


@pytest.fixture
def fake(fake_server: FakeProviders) -> FakeProviders:
    fake_server.state.reset()
    return fake_server


@pytest.fixture
def overrides() -> dict[str, Any]:
    """Settings a test module or test changes (override this fixture)."""
    return {}


@pytest.fixture
def integration_settings(settings: Settings, fake: FakeProviders, overrides: dict[str, Any]) -> Settings:
    return settings.model_copy(update=fake.settings_overrides() | {"job_backoff_seconds": 0.0} | overrides)


@pytest.fixture
def app(integration_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]):  # type: ignore[no-untyped-def]
    return create_app(integration_settings, sessionmaker=sessionmaker, job_backend=jobs.ExternalWorker())


@pytest.fixture
async def member(session):
    return await create_user(session, "ann@example.com", name="Ann Lee")


@pytest.fixture
async def browser(client, member):
    await sign_in(client, member.email)
    return client


async def authorize(browser: httpx.AsyncClient, provider: str) -> str:
    """Start connecting and let the fake provider consent: the callback path and query it redirects to."""
    started = await browser.post(f"/api/v1/integrations/{provider}/connect")
    assert started.status_code == 200, started.text
    async with httpx.AsyncClient() as outside:
        consent = await outside.get(started.json()["authorization_url"])
    assert consent.status_code == 302, consent.text
    location = urlsplit(consent.headers["location"])
    return f"{location.path}?{location.query}"


async def run_sync_jobs(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    async with sessionmaker() as reader:
        queued = list(
            await reader.scalars(
                select(jobs.Job.id)
                .where(jobs.Job.name == service.SYNC_JOB, jobs.Job.status == jobs.JobStatus.QUEUED)
                .order_by(jobs.Job.created_at)
            )
        )
    runner = jobs.JobRunner(sessionmaker, settings)
    return sum([await runner.run_by_id(job_id) for job_id in queued])


async def connect(
    browser: httpx.AsyncClient,
    provider: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> httpx.Response:
    """The whole connect flow, then the import job; returns the callback's answer."""
    callback = await browser.get(await authorize(browser, provider))
    assert callback.status_code == 303, callback.text
    assert "connected=1" in callback.headers["location"], callback.headers["location"]
    assert await run_sync_jobs(sessionmaker, settings) == 1
    return callback
