"""Sign-in on the served SQLite set-up: one pooled connection, shared by the request and the
security events that must outlive it."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

import opmaestro.models  # noqa: F401 - every table, for create_all
from opmaestro.accounts.models import SecurityEvent, UserStatus
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.db import Base, create_engine, create_sessionmaker
from opmaestro.main import create_app
from tests.factories import PASSWORD, create_user


@pytest.mark.parametrize(
    "state",
    [
        {"status": UserStatus.DISABLED},
        {"status": UserStatus.CLOSED, "deletion_due_at": utcnow() - timedelta(days=1)},
    ],
    ids=["disabled", "closed past its deletion date"],
)
async def test_the_right_password_for_an_account_that_cannot_sign_in_is_refused_and_recorded(
    tmp_dir, settings, state
):
    own = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{tmp_dir / 'one.db'}"})
    engine = create_engine(own)  # SQLite: a pool of one connection, as `opmaestro serve` runs it
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        user = await create_user(session, "locked@example.com", **state)
    app = create_app(own, sessionmaker=sessionmaker, job_backend=jobs.ExternalWorker())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post(
                "/api/v1/auth/login", json={"email": "locked@example.com", "password": PASSWORD}
            )
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == "application/problem+json"
        async with sessionmaker() as session:
            kinds = (
                await session.scalars(select(SecurityEvent.kind).where(SecurityEvent.user_id == user.id))
            ).all()
        assert kinds == ["login_failed"]
    finally:
        await engine.dispose()
