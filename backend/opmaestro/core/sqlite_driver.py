"""SQLAlchemy's aiosqlite dialect, tuned for a server on few cores.

The stock adapter sends every statement to the connection's own thread in four trips (open a
cursor, execute, fetch, close), each a thread hand-off and an event-loop wake-up that costs far
more than SQL answered from the page cache. Here:

- A statement is one trip to aiosqlite's thread; a commit or rollback with no transaction open
  is none.
- Connections opened with `inline=True` run reads, row writes, commits and rollbacks on the
  event loop's thread, with no hand-off, and a busy timeout of zero: a statement that would
  have to wait for another process's lock fails at once with SQLITE_BUSY (which leaves no
  trace) and is run again on aiosqlite's thread with the usual timeout, where waiting does not
  stall the loop. DDL, BEGIN, PRAGMA and everything of `inline=False` connections go to that
  thread too. Inline connections do not checkpoint the WAL as they commit (a checkpoint writes
  and syncs the database file); every `CHECKPOINT_EVERY_COMMITS`th commit runs on the thread
  and is followed there by a passive checkpoint.
- SQLite lets one transaction write at a time, and a waiting writer sleeps 1, 2, 5, 10... ms
  in the busy handler, so the lock sits idle after each commit while many requests wait. The
  connections of one process therefore queue on a per-database asyncio lock (the writer gate)
  before their transaction's first write and hand it on at commit or rollback, in arrival
  order and without sleeping. Other processes (a second worker, the CLI) still meet the busy
  handler, and a writer that waits longer than the busy timeout for the gate goes ahead
  without it, so a stuck holder can delay writers but never wedge them.

Used for `sqlite+aiosqlite` URLs.
"""

import asyncio
import collections
import sqlite3
import weakref
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import EMPTY_DICT, await_

DRIVER_NAME = "sqlite+opmaestro"

_Outcome = tuple[Any, list[Any] | None, int, int | None]
_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER"})
_INLINE = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT", "RELEASE"})
INLINE_OPTION = "opmaestro_inline"
BUSY_TIMEOUT_MS = 10_000
# About what SQLite's default autocheckpoint (1,000 pages) amounts to for request transactions.
CHECKPOINT_EVERY_COMMITS = 100
GATE_TIMEOUT_SECONDS = BUSY_TIMEOUT_MS / 1000
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def _writer_gate(database: str) -> asyncio.Lock:
    """The lock the writers to `database` from this process and event loop queue on."""
    return _gates.setdefault(asyncio.get_running_loop(), {}).setdefault(database, asyncio.Lock())


def writer_gates() -> dict[str, asyncio.Lock]:
    """This event loop's writer gates, by database file."""
    return dict(_gates.get(asyncio.get_running_loop(), {}))


def _first_word(operation: str) -> str:
    head = operation.lstrip()[:10].split(None, 1)
    return head[0].upper() if head else ""


def _shared_file(database: Any) -> str | None:
    """The file a connection opens, or None for a private in-memory database."""
    name = str(database)
    return None if name == ":memory:" or "mode=memory" in name else name


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else None
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _run_patiently(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """`_run` with the busy timeout an inline connection waives on the event loop's thread."""
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    try:
        return _run(connection, operation, parameters, many)
    finally:
        connection.execute("PRAGMA busy_timeout = 0")


def _commit_and_checkpoint(connection: sqlite3.Connection) -> None:
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    async def _trip(self, operation: Any, parameters: Any, many: bool) -> None:
        adapted: OneTripConnection = self._adapt_connection  # type: ignore[assignment]
        self._description, rows, self._rowcount, self._lastrowid = await adapted.run(
            operation, parameters, many
        )
        self._rows = collections.deque(rows or ())

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        await self._trip(operation, seq_of_parameters, many=True)

    def nextset(self) -> None:
        return None

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_commits", "_database", "_gate", "_inline")
    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # a subclass; the stub pins the exact type

    def __init__(self, dbapi: Any, connection: Any, database: str | None, *, inline: bool) -> None:
        super().__init__(dbapi, connection)
        self._database = database
        self._inline = inline
        self._gate: asyncio.Lock | None = None
        self._commits = 0

    async def run(self, operation: str, parameters: Any, many: bool = False) -> _Outcome:
        """One statement in one trip, or none when inline: (description, rows, rowcount, lastrowid).

        What the cursor runs; callable directly (`core.driver_sql`) by code that has begun its
        transaction through SQLAlchemy and wants none of its per-statement machinery.
        """
        word = _first_word(operation)
        if word in _WRITES and self._gate is None and self._database is not None:
            await self._enter_gate()
        raw = self._connection._conn
        async with self._execute_mutex:
            if self._inline and word in _INLINE and not (many and word != "SELECT"):
                try:
                    return _run(raw, operation, parameters, many)
                except sqlite3.OperationalError as error:
                    if not _is_busy(error):
                        raise
            # aiosqlite's own queue: the function runs on the thread that owns the connection.
            run = _run_patiently if self._inline else _run
            outcome: _Outcome = await self._connection._execute(run, raw, operation, parameters, many)
            return outcome

    async def _enter_gate(self) -> None:
        assert self._database is not None
        gate = _writer_gate(self._database)
        try:
            async with asyncio.timeout(GATE_TIMEOUT_SECONDS):
                await gate.acquire()
        except TimeoutError:
            return
        self._gate = gate

    def _leave_gate(self) -> None:
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.release()

    def _in_transaction(self) -> bool:
        # sqlite3_get_autocommit() reads a flag; sqlite3 allows it from any thread.
        raw: sqlite3.Connection | None = self._connection._connection
        return raw is not None and raw.in_transaction

    def commit(self) -> None:
        try:
            if self._in_transaction():
                self._commit()
        finally:
            self._leave_gate()

    def _commit(self) -> None:
        raw = self._connection._conn
        if not self._inline:
            super().commit()
            return
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY_COMMITS:
            try:
                raw.commit()
                return
            except sqlite3.OperationalError as error:
                # A failed COMMIT leaves the transaction open, to be committed again.
                if not _is_busy(error):
                    self._handle_exception(error)
        try:
            await_(self._connection._execute(_commit_and_checkpoint, raw))
        except Exception as error:
            self._handle_exception(error)

    def rollback(self) -> None:
        try:
            if self._in_transaction():
                if self._inline:
                    self._rollback_inline()
                else:
                    super().rollback()
        finally:
            self._leave_gate()

    def _rollback_inline(self) -> None:
        try:
            self._connection._conn.rollback()
        except Exception as error:
            self._handle_exception(error)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._leave_gate()

    def terminate(self) -> None:
        # How the pool drops a connection whose task was cancelled mid-transaction.
        try:
            super().terminate()
        finally:
            self._leave_gate()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        inline = bool(kw.pop(INLINE_OPTION, False))
        if inline:
            # Statements run on the loop's thread, the rest on aiosqlite's; never both at once.
            kw["check_same_thread"] = False
        adapted = super().connect(*arg, **kw)
        database = _shared_file(arg[0] if arg else kw.get("database", ":memory:"))
        return OneTripConnection(self, adapted._connection, database, inline=inline)


class OneTripSQLiteDialect(SQLiteDialect_aiosqlite):
    driver = "opmaestro"
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> AsyncAdapt_aiosqlite_dbapi:
        return OneTripDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


registry.register("sqlite.opmaestro", __name__, "OneTripSQLiteDialect")
