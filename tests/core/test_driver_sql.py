"""Hot-path statements: on the driver (asyncpg in autocommit, SQLite inside a transaction),
through SQLAlchemy anywhere else, with the same values either way."""

from datetime import UTC, datetime
from uuid import UUID

import pytest
from sqlalchemy import Integer, String, bindparam, delete, func, insert, literal, select, text

from opmaestro.audit.models import AuditRecord
from opmaestro.audit.service import TABLE as AUDIT
from opmaestro.core import db, sqlite_driver
from opmaestro.core.db import new_id
from opmaestro.core.driver_sql import AUTOCOMMIT, DriverStatement
from tests.databases import ON_POSTGRESQL, only_on_postgresql, only_on_sqlite, statements_on

ECHO = DriverStatement(
    select(
        literal(41, Integer).label("literal"),
        (bindparam("number", type_=Integer) + 1).label("next"),
        bindparam("name", type_=String).label("name"),
    )
)
NOTHING = DriverStatement(select(literal(1).label("one")).where(bindparam("wanted", type_=Integer) == 2))
WRITTEN_BY_THESE_TESTS = "test.driver"
AUDIT_WRITE = DriverStatement(
    insert(AUDIT)
    .values({column.key: bindparam(column.key) for column in AUDIT.columns})
    .returning(AUDIT.c.id, AUDIT.c.fields, AUDIT.c.created_at, AUDIT.c.actor_id)
)


@pytest.fixture
async def autocommitting(settings):
    """A session on its own engine whose connection runs each statement on its own."""
    engine = db.create_engine(settings, pool_size=1)
    sessionmaker = db.create_sessionmaker(engine)
    yield engine, sessionmaker
    await engine.dispose()


async def autocommit(session) -> None:
    await session.connection(execution_options={"isolation_level": AUTOCOMMIT})


@pytest.fixture
async def on_the_driver(session, autocommitting):
    """A connection whose statements go to the driver, and the engine SQLAlchemy would use:
    PostgreSQL in autocommit (whose rows are deleted afterwards), SQLite inside the test's
    transaction."""
    if not ON_POSTGRESQL:
        yield await session.connection(), session.bind.engine
        return
    engine, sessionmaker = autocommitting
    async with sessionmaker() as own:
        await autocommit(own)
        yield await own.connection(), engine
        await own.execute(delete(AuditRecord).where(AuditRecord.action == WRITTEN_BY_THESE_TESTS))


def audit_values(record_id: UUID) -> dict[str, object]:
    at = datetime(2026, 11, 25, 23, 0, 1, 250000, tzinfo=UTC)
    return {
        "id": record_id,
        "actor_id": None,
        "actor_kind": "system",
        "action": WRITTEN_BY_THESE_TESTS,
        "subject_type": "test",
        "subject_id": "x",
        "fields": ["b", "a"],
        "reason": None,
        "request_id": None,
        "created_at": at,
        "updated_at": at,
    }


async def test_statements_go_to_the_driver_alone(on_the_driver):
    connection, engine = on_the_driver
    with statements_on(engine) as seen:
        row = await ECHO.fetch_one(connection, {"number": 1, "name": "Zoë"})
        with pytest.raises(LookupError):
            await NOTHING.fetch_one(connection, {"wanted": 3})
        assert await NOTHING.fetch_optional(connection, {"wanted": 3}) is None
    assert row == {"literal": 41, "next": 2, "name": "Zoë"}
    assert seen == []


async def test_outside_a_transaction_they_go_through_sqlalchemy(engine):
    async with engine.connect() as connection:
        with statements_on(engine) as seen:
            row = await ECHO.fetch_one(connection, {"number": 1, "name": "Zoë"})
        assert connection.in_transaction()  # begun by SQLAlchemy, to end with the connection
    assert row == {"literal": 41, "next": 2, "name": "Zoë"}
    assert [statement for statement in seen if "AS literal" in statement]


@only_on_postgresql
async def test_in_a_postgresql_transaction_they_go_through_sqlalchemy(session, engine):
    with statements_on(engine) as seen:
        row = await ECHO.fetch_one(await session.connection(), {"number": 1, "name": "Zoë"})
    assert row == {"literal": 41, "next": 2, "name": "Zoë"}
    assert [statement for statement in seen if "AS literal" in statement]


async def test_no_row_is_an_error_on_either_path(session, engine):
    with pytest.raises(LookupError):
        await NOTHING.fetch_one(await session.connection(), {"wanted": 3})
    async with engine.connect() as connection:
        with pytest.raises(LookupError):
            await NOTHING.fetch_one(connection, {"wanted": 3})


async def test_values_go_in_and_come_out_as_sqlalchemy_would_give_them(on_the_driver, sessionmaker):
    connection, _ = on_the_driver
    record_id = new_id()
    values = audit_values(record_id)
    row = await AUDIT_WRITE.fetch_one(connection, values)
    # JSON, a zone-aware timestamp, a UUID and a NULL, decoded as the ORM decodes them.
    assert row == {
        "id": record_id,
        "fields": ["b", "a"],
        "created_at": values["created_at"],
        "actor_id": None,
    }
    async with sessionmaker() as reader:
        stored = await reader.get(AuditRecord, record_id)
    assert stored is not None
    assert (stored.fields, stored.created_at, stored.actor_id) == (["b", "a"], values["created_at"], None)


async def test_every_parameter_must_be_given(on_the_driver):
    connection, _ = on_the_driver
    values = audit_values(new_id())
    del values["updated_at"]  # SQLAlchemy would fill in the column default; the driver cannot
    with pytest.raises(KeyError, match="updated_at"):
        await AUDIT_WRITE.execute(connection, values)


@only_on_sqlite
async def test_a_sqlite_write_on_the_driver_holds_the_writer_gate_until_the_transaction_ends(engine):
    async with engine.connect() as connection:
        await connection.begin()
        await AUDIT_WRITE.execute(connection, audit_values(new_id()))
        assert any(gate.locked() for gate in sqlite_driver.writer_gates().values())
        await connection.rollback()
    assert not any(gate.locked() for gate in sqlite_driver.writer_gates().values())


@only_on_postgresql
async def test_a_connection_broken_mid_statement_is_not_pooled_again(autocommitting, engine):
    _, sessionmaker = autocommitting
    pid_of = DriverStatement(
        select(bindparam("tag", type_=String).label("tag"), func.pg_backend_pid().label("pid"))
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
