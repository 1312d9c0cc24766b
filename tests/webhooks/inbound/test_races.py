"""Concurrent duplicate deliveries and concurrent handlers of one object, on separate
connections with real commits: PostgreSQL only (SQLite serialises writers with BEGIN IMMEDIATE)."""

import asyncio

import httpx
from sqlalchemy import func, select

from opmaestro.core import jobs
from opmaestro.core.db import create_sessionmaker
from opmaestro.main import create_app
from opmaestro.webhooks.inbound.models import InboundEvent
from opmaestro.webhooks.inbound.registry import Provider, is_newer
from tests.databases import only_on_postgresql
from tests.webhooks.inbound.conftest import QUEUED_TYPE
from tests.webhooks.inbound.signing import stripe_event, stripe_signature

RACERS = 8
pytestmark = [only_on_postgresql]


async def test_concurrent_duplicate_deliveries_store_and_queue_once(hook_settings, committed_sessionmaker):
    """As from several API processes: each app has its own batch writer, so the repeats meet in
    the database (ON CONFLICT), not only within one process's batch."""
    engine = committed_sessionmaker.kw["bind"]
    apps = [
        create_app(hook_settings, sessionmaker=create_sessionmaker(engine), job_backend=jobs.ExternalWorker())
        for _ in range(RACERS)
    ]
    body = stripe_event("evt_race", QUEUED_TYPE)
    signed = {"stripe-signature": stripe_signature(body)}
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
        )
        for app in apps
    ]
    try:
        answers = await asyncio.gather(
            *(client.post("/api/v1/webhooks/stripe", content=body, headers=signed) for client in clients)
        )
    finally:
        for client in clients:
            await client.aclose()
    assert [answer.status_code for answer in answers] == [200] * RACERS
    statuses = sorted(answer.json()["status"] for answer in answers)
    assert statuses == ["accepted"] + ["duplicate"] * (RACERS - 1)
    async with committed_sessionmaker() as session:
        events = await session.scalar(
            select(func.count()).select_from(InboundEvent).where(InboundEvent.event_id == "evt_race")
        )
        queued = await session.scalar(
            select(func.count()).select_from(jobs.Job).where(jobs.Job.name == "webhooks.inbound.handle")
        )
    assert (events, queued) == (1, 1)


async def test_concurrent_versions_of_one_object_apply_in_order(committed_sessionmaker):
    """A lower version written while a higher one is uncommitted waits for it, then is not newer."""
    async with committed_sessionmaker() as first, committed_sessionmaker() as second:
        assert await is_newer(first, Provider.STRIPE, "sub_race", 20)
        waiting = asyncio.create_task(is_newer(second, Provider.STRIPE, "sub_race", 10))
        await asyncio.sleep(0)
        await first.commit()
        assert await waiting is False
        await second.commit()
