"""An app with the Stripe secrets set, and a job runner over the test's transaction."""

from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opmaestro.core import jobs
from opmaestro.core.config import Settings
from opmaestro.main import create_app
from opmaestro.webhooks.inbound.models import EventState, InboundEvent
from opmaestro.webhooks.inbound.registry import Provider, ProviderEvent, handlers_for, handles
from tests.webhooks.inbound.signing import OLD_STRIPE_SECRET, STRIPE_SECRET

# A type each provider's tests deliver when they need its handling queued.
QUEUED_TYPE = "test.queued"


@handles(Provider.STRIPE, QUEUED_TYPE)
@handles(Provider.GUSTO, QUEUED_TYPE)
async def _taken(context: jobs.JobContext, event: ProviderEvent) -> None:
    return None


@pytest.fixture
def overrides() -> dict[str, Any]:
    """Settings a test module or test changes (override this fixture)."""
    return {}


@pytest.fixture
def hook_settings(settings: Settings, overrides: dict[str, Any]) -> Settings:
    base = {
        "stripe_webhook_secret": SecretStr(f"{STRIPE_SECRET}, {OLD_STRIPE_SECRET}"),
        "google_risc_audiences": "client-1.apps.googleusercontent.com,client-2.apps.googleusercontent.com",
        "job_backoff_seconds": 0.0,
    }
    return settings.model_copy(update=base | overrides)


@pytest.fixture
def app(hook_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]):  # type: ignore[no-untyped-def]
    return create_app(hook_settings, sessionmaker=sessionmaker, job_backend=jobs.ExternalWorker())


@pytest.fixture
def runner(hook_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> jobs.JobRunner:
    return jobs.JobRunner(sessionmaker, hook_settings)


async def stored(session: AsyncSession, **where: Any) -> list[InboundEvent]:
    session.expire_all()
    query = select(InboundEvent).filter_by(**where).order_by(InboundEvent.received_at)
    return list((await session.scalars(query)).all())


async def queued(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(jobs.Job).where(jobs.Job.name == "webhooks.inbound.handle")
        )
        or 0
    )


async def assert_queued_if_handled(session: AsyncSession, event: InboundEvent) -> None:
    """A type some handler takes is queued; one nobody takes is stored as ignored, with no job."""
    if handlers_for(Provider(event.provider), event.event_type):
        assert event.state == EventState.RECEIVED and await queued(session) == 1
    else:
        assert event.state == EventState.IGNORED and await queued(session) == 0
