"""Erasure leaves no trace in the database file itself: not in free pages, indexes or the WAL."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import delete, make_url, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opmaestro.core import jobs, migrations
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.db import create_engine, create_sessionmaker
from opmaestro.dsar import erasure
from opmaestro.dsar.models import DataRequest, Jurisdiction, RequestKind, RequestState
from opmaestro.notifications.models import OutboxMessage
from tests.databases import only_on_sqlite
from tests.factories import create_person_with_data

EMAIL = "raw.file.person@example.com"
NAME = "Ottilie Vandersloot"
PHONE = "+442079460321"


def checkpoint(database_url: str) -> None:
    """Copy the WAL into the database file and empty it, as SQLite does on its own in time."""
    with closing(sqlite3.connect(make_url(database_url).database or "")) as connection:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0


def database_bytes(database_url: str) -> bytes:
    path = Path(make_url(database_url).database or "")
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture
def own_settings(settings: Settings, tmp_dir: Path) -> Settings:
    """A database file of this test's own. Reading the shared file with `open()` would drop this
    process's POSIX locks on it (closing any descriptor of a file does), and the next process to
    close a connection (a worker in another test) would then delete the WAL from under the suite."""
    return settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{tmp_dir / 'erasure.db'}"})


@pytest.fixture
async def committed_sessionmaker(own_settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await asyncio.to_thread(migrations.upgrade, own_settings.database_url)
    engine = create_engine(own_settings)
    yield create_sessionmaker(engine)
    await engine.dispose()


@only_on_sqlite
async def test_the_database_file_holds_no_trace_after_erasure(
    committed_sessionmaker: async_sessionmaker[AsyncSession], own_settings: Settings
) -> None:
    settings, database_url = own_settings, own_settings.database_url
    async with committed_sessionmaker() as session:
        person = await create_person_with_data(session, EMAIL, name=NAME, phone=PHONE)
        request = DataRequest(
            kind=RequestKind.ERASURE,
            state=RequestState.VERIFIED,
            user_id=person.id,
            jurisdiction=Jurisdiction.OTHER,
            due_at=utcnow(),
            verified_at=utcnow(),
        )
        session.add(request)
        await session.flush()
        await erasure.schedule(session, settings.model_copy(update={"erasure_grace_days": 0}), request)
        await session.commit()
        job_id = await session.scalar(
            select(jobs.Job.id).where(
                jobs.Job.name == erasure.ERASURE_JOB, jobs.Job.status == jobs.JobStatus.QUEUED
            )
        )
    checkpoint(database_url)
    assert EMAIL.encode() in database_bytes(database_url)

    assert job_id is not None and await jobs.JobRunner(committed_sessionmaker, settings).run_by_id(job_id)

    async with committed_sessionmaker() as session:
        finished = await session.get(DataRequest, request.id)
        assert finished is not None and finished.state == RequestState.COMPLETED, (
            finished and finished.outcome
        )
        # The completion notice is the one message allowed to name the address; once it is sent
        # the outbox may drop it, and then nothing at all is left.
        removed = await session.execute(delete(OutboxMessage).where(OutboxMessage.to_address == EMAIL))
        assert getattr(removed, "rowcount", 0) == 1
        await session.commit()
    checkpoint(database_url)
    raw = database_bytes(database_url).lower()
    assert [value for value in (EMAIL, NAME, PHONE) if value.lower().encode() in raw] == []
