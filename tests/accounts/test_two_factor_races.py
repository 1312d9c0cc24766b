"""A two-factor code is accepted once, even when several requests race with it (RFC 6238 §5.2).
The races need separate connections with real commits, so these run on PostgreSQL (the CI
suite runs them there); SQLite serialises writers anyway."""

import asyncio

import httpx
import pyotp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opmaestro.accounts import mfa
from opmaestro.accounts.models import RecoveryCode, User
from opmaestro.core import jobs
from opmaestro.core.config import Settings
from opmaestro.core.security import hash_token
from opmaestro.main import create_app
from tests.databases import only_on_postgresql
from tests.factories import PASSWORD, create_user

RACERS = 5
SECRET = pyotp.random_base32()
RECOVERY_CODE = "0a1b2c3d-4e5f6a7b"

pytestmark = only_on_postgresql


@pytest.fixture
async def ann(committed_sessionmaker: async_sessionmaker[AsyncSession]) -> User:
    async with committed_sessionmaker() as session:
        user = await create_user(session, "ann@example.com", mfa_secret=SECRET)
        session.add(RecoveryCode(user_id=user.id, code_hash=hash_token(RECOVERY_CODE)))
        await session.commit()
    return user


async def race(sessionmaker: async_sessionmaker[AsyncSession], user: User, code: str) -> list[bool]:
    """Each racer loads the user before any of them checks the code (the interleaving that
    lets a read-then-write check accept a code twice), then checks it and commits."""
    loaded = asyncio.Barrier(RACERS)

    async def one() -> bool:
        async with sessionmaker() as session:
            own = await session.get(User, user.id)
            assert own is not None
            await loaded.wait()
            accepted = await mfa.verify(session, own, code)
            await session.commit()
            return accepted

    return list(await asyncio.gather(*(one() for _ in range(RACERS))))


async def test_of_concurrent_uses_of_one_totp_code_exactly_one_is_accepted(committed_sessionmaker, ann):
    results = await race(committed_sessionmaker, ann, pyotp.TOTP(SECRET).now())

    assert sorted(results) == [False] * (RACERS - 1) + [True]


async def test_of_concurrent_uses_of_one_recovery_code_exactly_one_is_accepted(committed_sessionmaker, ann):
    results = await race(committed_sessionmaker, ann, RECOVERY_CODE)

    assert sorted(results) == [False] * (RACERS - 1) + [True]


async def test_of_concurrent_sign_ins_with_one_code_exactly_one_succeeds(
    settings: Settings, committed_sessionmaker, ann
):
    app = create_app(settings, sessionmaker=committed_sessionmaker, job_backend=jobs.ExternalWorker())
    code = pyotp.TOTP(SECRET).now()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        body = {"email": "ann@example.com", "password": PASSWORD, "otp": code}
        answers = await asyncio.gather(*(client.post("/api/v1/auth/login", json=body) for _ in range(RACERS)))

    assert sorted(answer.status_code for answer in answers) == [200] + [401] * (RACERS - 1)
