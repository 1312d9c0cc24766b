"""Shared fixtures: a migrated real database (SQLite, or PostgreSQL via OPMAESTRO_DATABASE_URL),
one rolled-back transaction per test, and an HTTP client over the ASGI app."""

import asyncio
import os
import socket
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import RowMapping, Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

_TEST_DIR = Path(tempfile.mkdtemp(prefix="opmaestro-tests-"))
os.environ.setdefault("OPMAESTRO_DATABASE_URL", f"sqlite+aiosqlite:///{_TEST_DIR / 'test.db'}")
os.environ["OPMAESTRO_ENVIRONMENT"] = "development"
# Argon2 at its production cost would spend minutes of the suite on hashing; tests of the
# cost itself set their own. (The browser tests' server keeps the production cost.)
os.environ.setdefault("OPMAESTRO_PASSWORD_HASH_TIME_COST", "1")
os.environ.setdefault("OPMAESTRO_PASSWORD_HASH_MEMORY_KIB", "1024")
os.environ.setdefault("OPMAESTRO_PASSWORD_HASH_PARALLELISM", "1")
for _name in ("OPMAESTRO_SMTP_HOST", "OPMAESTRO_JOB_BACKEND"):
    os.environ.pop(_name, None)

import opmaestro.models  # noqa: E402, F401
from opmaestro.core import jobs, migrations  # noqa: E402
from opmaestro.core.clock import set_clock  # noqa: E402
from opmaestro.core.config import Settings, get_settings  # noqa: E402
from opmaestro.core.db import Base, create_engine, create_sessionmaker  # noqa: E402
from opmaestro.main import create_app  # noqa: E402


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def database_url(settings: Settings) -> str:
    return settings.database_url


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The test database, migrated to head once per run."""
    await asyncio.to_thread(migrations.upgrade, settings.database_url)
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions whose commits are savepoints inside the test's rolled-back transaction."""
    return async_sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False, autoflush=False
    )


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def app(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]):  # type: ignore[no-untyped-def]
    return create_app(settings, sessionmaker=sessionmaker, job_backend=jobs.ExternalWorker())


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def make_client(app) -> AsyncIterator[Callable[[], httpx.AsyncClient]]:  # type: ignore[no-untyped-def]
    """More browsers for the same app (each with its own cookie jar), for cross-user tests."""
    clients: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
        return clients[-1]

    yield make
    for made in clients:
        await made.aclose()


class Clock:
    """A controllable clock: `clock.advance(minutes=31)` moves every `utcnow()` in the app."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock() -> Iterator[Clock]:
    controlled = Clock()
    set_clock(controlled.now)
    yield controlled
    set_clock(None)


@pytest.fixture
async def committed_sessionmaker(
    settings: Settings, engine: AsyncEngine
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Real commits, for workers and other processes. Afterwards the database is put back as it
    was: rows the test added are deleted, rows it changed (a schedule's next run, say) get
    their old values back and rows it deleted are inserted again."""
    real_engine = create_engine(settings)
    tables = Base.metadata.sorted_tables

    def key_of(table: Table, row: RowMapping) -> tuple[object, ...]:
        return tuple(row[column.name] for column in table.primary_key.columns)

    async with real_engine.connect() as connection:
        before = {
            table.name: {
                key_of(table, row): dict(row) for row in (await connection.execute(select(table))).mappings()
            }
            for table in tables
        }
    yield create_sessionmaker(real_engine)
    async with real_engine.begin() as connection:
        remaining: dict[str, set[tuple[object, ...]]] = {}
        for table in reversed(tables):
            key = tuple(table.primary_key.columns)
            remaining[table.name] = set()
            for row in (await connection.execute(select(table))).mappings().all():
                where = [column == value for column, value in zip(key, key_of(table, row), strict=True)]
                original = before[table.name].get(key_of(table, row))
                if original is None:
                    await connection.execute(delete(table).where(*where))
                    continue
                remaining[table.name].add(key_of(table, row))
                if original != dict(row):
                    await connection.execute(update(table).where(*where).values(original))
        # Rows the test deleted (a seeded schedule, say) come back, parents before children.
        for table in tables:
            deleted = [row for key, row in before[table.name].items() if key not in remaining[table.name]]
            if deleted:
                await connection.execute(insert(table), deleted)
    await real_engine.dispose()


@pytest.fixture
def tmp_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="opmaestro-test-") as path:
        yield Path(path)


class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses chosen recipients."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=email_policy.default))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on loopback."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def smtp_settings(settings: Settings, smtp_server: tuple[Inbox, int]) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server[1],
            "smtp_security": "none",
            "job_backoff_seconds": 0.0,
        }
    )
