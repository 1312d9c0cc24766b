"""SQLite statements run in one trip to aiosqlite's thread or inline on the event loop, with
DB-API results intact, and writers of one process queue on the writer gate."""

import asyncio
import sqlite3
import threading

import aiosqlite
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, OperationalError

from opmaestro.core import sqlite_driver
from opmaestro.core.db import create_engine


@pytest.fixture
async def sqlite_engine(settings, tmp_dir):
    engine = create_engine(
        settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{tmp_dir}/t.db"})
    )
    yield engine
    await engine.dispose()


async def test_sqlite_urls_use_the_one_trip_driver(sqlite_engine):
    assert sqlite_engine.dialect.driver == "opmaestro"


async def test_rows_rowcount_lastrowid_and_executemany(sqlite_engine):
    async with sqlite_engine.begin() as connection:
        await connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)"))
        inserted = await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        await connection.execute(
            text("INSERT INTO item (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}]
        )
        updated = await connection.execute(text("UPDATE item SET name = upper(name) WHERE id > 1"))
        assert updated.rowcount == 2
        rows = (await connection.execute(text("SELECT id, name FROM item ORDER BY id"))).all()
        assert [tuple(row) for row in rows] == [(1, "a"), (2, "B"), (3, "C")]
        assert (await connection.execute(text("SELECT name FROM item WHERE id = 99"))).first() is None


async def test_errors_keep_their_dbapi_types_and_roll_back(sqlite_engine):
    async with sqlite_engine.begin() as connection:
        await connection.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
        await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
    with pytest.raises(Exception, match="UNIQUE constraint failed") as raised:
        async with sqlite_engine.begin() as connection:
            await connection.execute(text("INSERT INTO item (name) VALUES ('b')"))
            await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
    assert type(raised.value).__name__ == "IntegrityError"
    async with sqlite_engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM item"))).scalar() == 1


def _engine(settings, path, *, inline, busy_timeout_ms=None):
    engine = create_engine(
        settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{path}"}), inline_statements=inline
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _register(dbapi_connection, _record):
        dbapi_connection.create_function("thread_id", 0, threading.get_ident)
        if busy_timeout_ms is not None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            cursor.close()

    return engine


@pytest.fixture
def database(tmp_dir):
    path = tmp_dir / "gate.db"
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT UNIQUE, thread INTEGER)")
    return path


async def writing(engine, name):
    """A connection in the middle of a write transaction (holding the writer gate)."""
    connection = await engine.connect()
    await connection.begin()
    await connection.execute(text("INSERT INTO item (name) VALUES (:name)"), {"name": name})
    return connection


@pytest.fixture
async def engines():
    made = []
    yield made
    for engine in made:
        await engine.dispose()


async def test_inline_connections_run_reads_and_row_writes_on_the_event_loop(settings, database, engines):
    inline = _engine(settings, database, inline=True)
    threaded = _engine(settings, database, inline=False)
    engines += [inline, threaded]
    loop_thread = threading.get_ident()
    async with inline.begin() as connection:
        assert (await connection.execute(text("SELECT thread_id()"))).scalar() == loop_thread
        await connection.execute(text("INSERT INTO item (name, thread) VALUES ('inline', thread_id())"))
    async with threaded.begin() as connection:
        assert (await connection.execute(text("SELECT thread_id()"))).scalar() != loop_thread
        await connection.execute(text("INSERT INTO item (name, thread) VALUES ('threaded', thread_id())"))
    async with inline.connect() as connection:
        rows = dict((await connection.execute(text("SELECT name, thread FROM item"))).all())
    assert rows["inline"] == loop_thread
    assert rows["threaded"] != loop_thread


@pytest.fixture
def trips(monkeypatch):
    """The functions sent to aiosqlite's thread."""
    sent = []
    original = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        sent.append(fn)
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return sent


async def test_uncontended_transactions_never_leave_the_event_loop(settings, database, engines, trips):
    inline = _engine(settings, database, inline=True)
    engines.append(inline)
    async with inline.connect() as connection:
        await connection.execute(text("SELECT 1"))
        await connection.commit()
    trips.clear()
    async with inline.begin() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM item"))).scalar() == 0
    async with inline.begin() as connection:
        await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
    with pytest.raises(IntegrityError):
        async with inline.begin() as connection:
            await connection.execute(text("INSERT INTO item (name) VALUES ('b')"))
            await connection.execute(text("INSERT INTO item (name) VALUES ('a')"))
    assert trips == []
    async with inline.connect() as connection:
        assert (await connection.execute(text("SELECT name FROM item"))).scalars().all() == ["a"]


async def test_inline_commits_checkpoint_the_wal_off_the_event_loop(
    settings, database, engines, trips, monkeypatch
):
    monkeypatch.setattr(sqlite_driver, "CHECKPOINT_EVERY_COMMITS", 10)
    inline = _engine(settings, database, inline=True)
    engines.append(inline)
    wal = database.with_name(database.name + "-wal")
    async with inline.connect() as connection:
        await connection.execute(text("SELECT 1"))
    trips.clear()
    sizes = []
    for number in range(200):
        async with inline.begin() as connection:
            await connection.execute(
                text("INSERT INTO item (name) VALUES (:name)"), {"name": f"{number:04}" + "x" * 8000}
            )
        sizes.append(wal.stat().st_size)
    # Each commit adds pages to the WAL; only checkpoints let writers start it over.
    assert max(sizes) < sizes[-1] * 2 < 200 * 8000
    assert trips == [sqlite_driver._commit_and_checkpoint] * (200 // 10)


async def test_writers_of_one_process_wait_their_turn_instead_of_failing(settings, database, engines):
    # With no busy timeout at all, SQLite refuses a second writer at once; only the gate can
    # make the second transaction wait for the first.
    impatient = _engine(settings, database, inline=False, busy_timeout_ms=0)
    engines.append(impatient)
    first = await writing(impatient, "first")

    async def second_writer():
        async with impatient.begin() as connection:
            await connection.execute(text("INSERT INTO item (name) VALUES ('second')"))

    second = asyncio.create_task(second_writer())
    await asyncio.sleep(0.05)
    assert not second.done()
    await first.commit()
    await first.close()
    await asyncio.wait_for(second, timeout=5)
    async with impatient.connect() as connection:
        names = (await connection.execute(text("SELECT name FROM item ORDER BY id"))).scalars().all()
    assert names == ["first", "second"]


async def test_a_failed_write_hands_the_gate_on_at_rollback(settings, database, engines):
    impatient = _engine(settings, database, inline=True, busy_timeout_ms=0)
    engines.append(impatient)
    async with impatient.begin() as connection:
        await connection.execute(text("INSERT INTO item (name) VALUES ('taken')"))
    with pytest.raises(IntegrityError):
        async with impatient.begin() as connection:
            await connection.execute(text("INSERT INTO item (name) VALUES ('taken')"))
    async with asyncio.timeout(5), impatient.begin() as connection:
        await connection.execute(text("INSERT INTO item (name) VALUES ('next')"))


async def test_another_process_holding_the_lock_is_waited_for_off_the_event_loop(settings, database, engines):
    inline = _engine(settings, database, inline=True)
    engines.append(inline)
    other_process = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    other_process.execute("BEGIN IMMEDIATE")
    loop_thread = threading.get_ident()
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write():
        async with inline.begin() as connection:
            await connection.execute(text("INSERT INTO item (name, thread) VALUES ('waited', thread_id())"))

    ticking = asyncio.create_task(ticker())
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    assert not writing.done()
    ticks_while_waiting = ticks
    other_process.execute("COMMIT")
    other_process.close()
    await asyncio.wait_for(writing, timeout=5)
    ticking.cancel()
    assert ticks_while_waiting > 0, "the event loop stood still while the write waited"
    async with inline.connect() as connection:
        thread = (await connection.execute(text("SELECT thread FROM item WHERE name = 'waited'"))).scalar()
    assert thread != loop_thread


async def test_a_stuck_gate_holder_delays_other_writers_but_never_wedges_them(
    settings, database, engines, monkeypatch
):
    monkeypatch.setattr(sqlite_driver, "GATE_TIMEOUT_SECONDS", 0.1)
    monkeypatch.setattr(sqlite_driver, "BUSY_TIMEOUT_MS", 100)
    inline = _engine(settings, database, inline=True)
    engines.append(inline)
    stuck = await writing(inline, "stuck")
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            async with asyncio.timeout(5), inline.begin() as connection:
                await connection.execute(text("INSERT INTO item (name) VALUES ('blocked')"))
    finally:
        await stuck.rollback()
        await stuck.close()
    async with asyncio.timeout(5), inline.begin() as connection:
        await connection.execute(text("INSERT INTO item (name) VALUES ('after')"))


async def test_a_connection_dropped_mid_transaction_hands_the_gate_on(settings, database, engines):
    # The pool terminates, rather than closes, connections whose task was cancelled mid-transaction.
    impatient = _engine(settings, database, inline=True, busy_timeout_ms=0)
    engines.append(impatient)
    dropped = await writing(impatient, "lost")
    await dropped.invalidate()
    await dropped.close()
    assert not any(gate.locked() for gate in sqlite_driver.writer_gates().values())
    async with asyncio.timeout(5), impatient.begin() as connection:
        await connection.execute(text("INSERT INTO item (name) VALUES ('next')"))
        names = (await connection.execute(text("SELECT name FROM item"))).scalars().all()
    assert names == ["next"]


@pytest.mark.parametrize(
    ("operation", "word"),
    [
        ("SELECT 1", "SELECT"),
        ("  insert into item values (1)", "INSERT"),
        ("SAVEPOINT sa_savepoint_1", "SAVEPOINT"),
        ("RELEASE SAVEPOINT sa_savepoint_1", "RELEASE"),
        ("BEGIN", "BEGIN"),
        ("", ""),
    ],
)
def test_statements_are_routed_by_their_first_word(operation, word):
    assert sqlite_driver._first_word(operation) == word
