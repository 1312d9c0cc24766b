"""One open request per kind holds when a person's requests race (double clicks, two tabs).
The race needs separate connections with real commits, so it runs on PostgreSQL (the CI suite
runs it there); SQLite serialises writers anyway (BEGIN IMMEDIATE)."""

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from opmaestro.core import jobs
from opmaestro.dsar.models import DataRequest
from opmaestro.main import create_app
from tests.databases import only_on_postgresql
from tests.factories import create_user, sign_in

RACERS = 5
pytestmark = [only_on_postgresql, pytest.mark.usefixtures("no_starters")]


async def test_of_concurrent_requests_of_one_kind_exactly_one_is_opened(
    settings, committed_sessionmaker
) -> None:
    async with committed_sessionmaker() as session:
        user = await create_user(session, "ann@example.com")
    app = create_app(settings, sessionmaker=committed_sessionmaker, job_backend=jobs.ExternalWorker())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
        await sign_in(browser, "ann@example.com")
        answers = await asyncio.gather(
            *(browser.post("/api/v1/me/data-requests", json={"kind": "export"}) for _ in range(RACERS))
        )

    assert sorted(answer.status_code for answer in answers) == [201] + [409] * (RACERS - 1)
    async with committed_sessionmaker() as session:
        opened = await session.scalar(
            select(func.count()).select_from(DataRequest).where(DataRequest.user_id == user.id)
        )
    assert opened == 1
