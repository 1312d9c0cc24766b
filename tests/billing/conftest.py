"""An app whose Stripe is the in-process fake, a signed-in member, and Stripe events delivered
to the real webhook route."""

import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opmaestro.accounts.models import User
from opmaestro.core import jobs
from opmaestro.core.config import Settings
from opmaestro.main import create_app
from tests.billing.fake_stripe import SECRET_KEY, FakeStripe
from tests.factories import create_user, sign_in
from tests.webhooks.inbound.signing import STRIPE_SECRET, stripe_signature

WEBHOOK_URL = "/api/v1/webhooks/stripe"
RunJobs = Callable[..., Awaitable[int]]


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture
def billing_settings(settings: Settings, fake_stripe: FakeStripe) -> Settings:
    return settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(SECRET_KEY),
            "stripe_api_base": fake_stripe.base_url,
            "stripe_webhook_secret": SecretStr(STRIPE_SECRET),
            "stripe_max_network_retries": 0,
            "job_backoff_seconds": 0.0,
        }
    )


@pytest.fixture
def app(billing_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]):  # type: ignore[no-untyped-def]
    return create_app(billing_settings, sessionmaker=sessionmaker, job_backend=jobs.ExternalWorker())


@pytest.fixture
async def member(session: AsyncSession) -> User:
    return await create_user(session, "ann@example.com", name="Ann Lee")


@pytest.fixture
async def browser(client: httpx.AsyncClient, member: User) -> httpx.AsyncClient:
    await sign_in(client, member.email)
    return client


@pytest.fixture
def run_jobs(billing_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> RunJobs:
    """Run the queued jobs of one name as a worker would; returns how many ran."""

    async def run(name: str = "webhooks.inbound.handle", with_settings: Settings | None = None) -> int:
        ran = 0
        runner = jobs.JobRunner(sessionmaker, with_settings or billing_settings)
        while True:
            async with sessionmaker() as reader:
                queued = await reader.scalar(
                    select(jobs.Job.id)
                    .where(jobs.Job.name == name, jobs.Job.status == jobs.JobStatus.QUEUED)
                    .order_by(jobs.Job.created_at, jobs.Job.id)
                    .limit(1)
                )
            if queued is None or not await runner.run_by_id(queued):
                return ran
            ran += 1

    return run


def stripe_event(
    event_type: str, data: dict[str, Any], *, created: int | None = None, event_id: str | None = None
) -> bytes:
    """An event as Stripe sends it (`object: event`, the object under `data.object`)."""
    stamp = int(time.time()) if created is None else created
    return json.dumps(
        {
            "id": event_id or f"evt_{event_type.replace('.', '_')}_{data.get('id')}_{stamp}",
            "object": "event",
            "api_version": "2025-10-29.clover",
            "created": stamp,
            "type": event_type,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": data},
        }
    ).encode()


Deliver = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
def deliver(client: httpx.AsyncClient) -> Deliver:
    """Sign an event with Stripe's scheme and POST it to the real webhook route."""

    async def send(event_type: str, data: dict[str, Any], **fields: Any) -> httpx.Response:
        body = stripe_event(event_type, data, **fields)
        response = await client.post(
            WEBHOOK_URL,
            content=body,
            headers={"content-type": "application/json", "stripe-signature": stripe_signature(body)},
        )
        assert response.status_code == 200, response.text
        return response

    return send
