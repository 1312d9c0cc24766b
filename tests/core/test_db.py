import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from opmaestro.core import migrations
from opmaestro.core.config import Settings
from opmaestro.core.db import Base, create_engine, new_id
from opmaestro.notifications.models import OutboxMessage

APP_TABLES = {"job", "outbox_message", "periodic_schedule"}


async def test_models_match_migrations(engine):
    async with engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
            )
        )
    assert diff == []


async def _table_names(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names


@pytest.fixture
async def scratch_database_url(database_url, tmp_dir):
    """An empty database of the same kind as the test database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_dir / 'scratch.db'}"
        return
    name = f"opm_scratch_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def test_upgrade_downgrade_upgrade_round_trip(scratch_database_url):
    await asyncio.to_thread(migrations.upgrade, scratch_database_url)
    assert await _table_names(scratch_database_url) >= APP_TABLES
    await asyncio.to_thread(migrations.downgrade, scratch_database_url, "base")
    assert await _table_names(scratch_database_url) <= {"alembic_version"}
    await asyncio.to_thread(migrations.upgrade, scratch_database_url)
    assert await _table_names(scratch_database_url) >= APP_TABLES


def test_migration_files_are_date_named():
    versions = migrations.PROJECT_ROOT / "migrations" / "versions"
    names = [path.name for path in versions.glob("*.py")]
    assert names
    for name in names:
        datetime.strptime(name[:15], "%Y-%m-%d-%H%M")


class TestTransactionPerTest:
    async def test_first_writes_a_row(self, session):
        session.add(_message("isolation@example.com"))
        await session.commit()
        assert await _count(session, "isolation@example.com") == 1

    async def test_second_does_not_see_it(self, session):
        assert await _count(session, "isolation@example.com") == 0


class TestColumnConventions:
    async def test_ids_are_time_ordered_uuids(self):
        first, second = new_id(), new_id()
        assert first.version == 7 and first < second

    async def test_timestamps_come_back_aware_in_utc(self, session):
        message = _message("tz@example.com")
        message.sent_at = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
        session.add(message)
        await session.commit()
        session.expunge_all()
        loaded = await session.get(OutboxMessage, message.id)
        assert loaded.sent_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
        assert loaded.sent_at.tzinfo is not None and loaded.created_at.tzinfo is not None

    async def test_naive_timestamps_are_refused(self, session):
        message = _message("naive@example.com")
        message.sent_at = datetime(2026, 3, 1, 12, 0)
        session.add(message)
        with pytest.raises(Exception, match="naive datetimes"):
            await session.flush()

    async def test_constraint_names_follow_the_convention(self, engine):
        async with engine.connect() as connection:
            pk = await connection.run_sync(lambda sync: inspect(sync).get_pk_constraint("job"))
        if engine.dialect.name != "sqlite":
            assert pk["name"] == "pk_job"
        assert pk["constrained_columns"] == ["id"]


async def test_sqlite_writers_that_read_first_wait_their_turn(tmp_dir):
    """Read, then write what was read, in many transactions at once: none fails with "database is
    locked" (a stale snapshot cannot be upgraded to a write) and no update is lost."""
    writers = 12
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_dir / 'writers.db'}")
    engine = create_engine(settings, pool_size=writers)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        await connection.execute(text("INSERT INTO counter (n) VALUES (0)"))

    async def increment() -> None:
        async with engine.begin() as connection:
            seen = (await connection.execute(text("SELECT n FROM counter"))).scalar_one()
            await connection.execute(text("UPDATE counter SET n = :n"), {"n": seen + 1})

    await asyncio.gather(*(increment() for _ in range(writers)))
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT n FROM counter"))).scalar_one() == writers
    await engine.dispose()


async def test_sqlite_runs_in_wal_with_foreign_keys(tmp_dir):
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_dir / 'pragmas.db'}")
    engine = create_engine(settings)
    async with engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 10000
    await engine.dispose()


def _message(to: str) -> OutboxMessage:
    return OutboxMessage(
        to_address=to,
        category="service",
        template="smtp_test",
        subject="s",
        text_body="t",
        html_body="<p>t</p>",
        headers={},
        status="held",
    )


async def _count(session, to: str) -> int:
    return await session.scalar(select(func.count()).where(OutboxMessage.to_address == to))
