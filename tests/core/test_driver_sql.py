"""Hot-path statements: straight to asyncpg in autocommit, through SQLAlchemy anywhere else."""

from datetime import UTC, datetime
from uuid import UUID

import pytest
from sqlalchemy import Integer, String, bindparam, insert, literal, select, text

from opmaestro.audit.models import AuditRecord
from opmaestro.audit.service import TABLE as AUDIT
from opmaestro.core import db
from opmaestro.core.db import new_id
from opmaestro.core.driver_sql import AUTOCOMMIT, DriverStatement
from tests.databases import only_on_postgresql, statements_on

ECHO = DriverStatement(
    select(
        literal(41, Integer).label("literal"),
        (bindparam("number", type_=Integer) + 1).label("next"),
        bindparam("name", type_=String).label("name"),
    )
)
NOTHING = DriverStatement(select(literal(1).label("one")).where(bindparam("wanted", type_=Integer) == 2))


@pytest.fixture
async def autocommitting(settings):
    """A session on its own engine whose connection runs each statement on its own."""
    engine = db.create_engine(settings, pool_size=1)
    sessionmaker = db.create_sessionmaker(engine)
    yield engine, sessionmaker
    await engine.dispose()


async def autocommit(session) -> None:
    await session.connection(execution_options={"isolation_level": AUTOCOMMIT})


async def test_inside_a_transaction_it_runs_through_sqlalchemy(session, engine):
    with statements_on(engine) as seen:
        row = await ECHO.fetch_one(await session.connection(), {"number": 1, "name": "Zoë"})
    assert row == {"literal": 41, "next": 2, "name": "Zoë"}
    assert [statement for statement in seen if "AS literal" in statement]


async def test_no_row_is_an_error_on_either_path(session):
    with pytest.raises(LookupError):
        await NOTHING.fetch_one(await session.connection(), {"wanted": 3})


@only_on_postgresql
async def test_in_autocommit_it_runs_on_asyncpg_alone(autocommitting):
    engine, sessionmaker = autocommitting
    async with sessionmaker() as session:
        await autocommit(session)
        with statements_on(engine) as seen:
            row = await ECHO.fetch_one(await session.connection(), {"number": 1, "name": "Zoë"})
            with pytest.raises(LookupError):
                await NOTHING.fetch_one(await session.connection(), {"wanted": 3})
    assert row == {"literal": 41, "next": 2, "name": "Zoë"}
    assert seen == []


@only_on_postgresql
async def test_parameters_are_processed_as_sqlalchemy_would(autocommitting, committed_sessionmaker):
    _, sessionmaker = autocommitting
    written = DriverStatement(
        insert(AUDIT)
        .values({column.key: bindparam(column.key) for column in AUDIT.columns})
        .returning(AUDIT.c.id)
    )
    record_id, at = new_id(), datetime(2026, 11, 25, 23, 0, 1, 250000, tzinfo=UTC)
    values = {
        "id": record_id,
        "actor_id": None,
        "actor_kind": "system",
        "action": "test.driver",
        "subject_type": "test",
        "subject_id": "x",
        "fields": ["b", "a"],
        "reason": None,
        "request_id": None,
        "created_at": at,
        "updated_at": at,
    }
    async with sessionmaker() as session:
        await autocommit(session)
        row = await written.fetch_one(await session.connection(), values)
        await session.rollback()  # nothing to undo: the insert committed on its own
    assert UUID(str(row["id"])) == record_id
    async with committed_sessionmaker() as reader:
        stored = await reader.get(AuditRecord, record_id)
    assert stored is not None
    assert (stored.fields, stored.created_at, stored.actor_id) == (["b", "a"], at, None)


@only_on_postgresql
async def test_a_connection_broken_mid_statement_is_not_pooled_again(autocommitting, engine):
    _, sessionmaker = autocommitting
    pid_of = DriverStatement(
        select(bindparam("tag", type_=String).label("tag"), text("pg_backend_pid() AS pid"))
    )
    async with sessionmaker() as session:
        await autocommit(session)
        broken = (await pid_of.fetch_one(await session.connection(), {"tag": "a"}))["pid"]
        async with engine.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": broken})
        # Which error depends on who notices first: the server's farewell, asyncpg or the OS.
        with pytest.raises(Exception):  # noqa: B017, PT011
            await pid_of.fetch_one(await session.connection(), {"tag": "b"})
    # Back in the pool within the idle-ping window, a dead connection would be handed out as is.
    async with sessionmaker() as session:
        await autocommit(session)
        assert (await pid_of.fetch_one(await session.connection(), {"tag": "c"}))["pid"] != broken


@only_on_postgresql
async def test_each_statement_commits_only_for_sessions_on_the_engine(autocommitting, sessionmaker):
    _, own_engine_sessions = autocommitting
    async with own_engine_sessions() as session:
        await db.each_statement_commits(session)
        options = (await session.connection()).sync_connection.get_execution_options()
        assert options.get("isolation_level") == AUTOCOMMIT
    async with sessionmaker() as joined:
        await db.each_statement_commits(joined)
        options = (await joined.connection()).sync_connection.get_execution_options()
        assert options.get("isolation_level") != AUTOCOMMIT
