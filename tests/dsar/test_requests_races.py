"""One open request per kind holds when a person's requests race (double clicks, two tabs).
The race needs separate connections with real commits, so it runs on PostgreSQL (the CI suite
runs it there); SQLite serialises writers anyway (BEGIN IMMEDIATE)."""

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.security import hash_token
from opmaestro.dsar.models import OPEN_STATES, DataRequest, RequestKind, RequestState
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


async def test_links_and_the_account_racing_open_one_erasure(settings, committed_sessionmaker) -> None:
    # A member's own erasure and emailed ones for the same address, confirmed at the same time.
    tokens = [f"race-token-{n}".ljust(43, "x") for n in range(RACERS - 1)]
    async with committed_sessionmaker() as session:
        user = await create_user(session, "ann@example.com")
        for token in tokens:
            session.add(
                DataRequest(
                    kind=RequestKind.ERASURE,
                    state=RequestState.RECEIVED,
                    email="ann@example.com",
                    jurisdiction="other",
                    due_at=utcnow() + timedelta(days=30),
                    fields=[],
                    progress_percent=0,
                    verification_hash=hash_token(token),
                    created_at=utcnow(),
                )
            )
        await session.commit()
    app = create_app(settings, sessionmaker=committed_sessionmaker, job_backend=jobs.ExternalWorker())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as stranger,
    ):
        await sign_in(browser, "ann@example.com")
        answers = await asyncio.gather(
            browser.post("/api/v1/me/data-requests", json={"kind": "erasure"}),
            *(stranger.post("/api/v1/data-requests/verify", json={"token": token}) for token in tokens),
        )

    assert all(answer.status_code in (200, 201, 409) for answer in answers), [a.text for a in answers]
    async with committed_sessionmaker() as session:
        states = list(await session.scalars(select(DataRequest.state).where(DataRequest.user_id == user.id)))
    assert sorted(state for state in states if state in OPEN_STATES) == [RequestState.VERIFIED]
    assert states.count(RequestState.RECEIVED) == 0
