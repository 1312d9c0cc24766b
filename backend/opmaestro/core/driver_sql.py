"""Hot-path statements PostgreSQL runs straight on asyncpg when no transaction is open.

SQLAlchemy's work around each execution (compiled-cache lookup, parameter construction, an
execution context, result processing) costs more CPU than asyncpg's own: the consent
context read took 0.16 ms of CPU through a Core connection, 0.24 ms through an ORM session and
0.07 ms on asyncpg alone (2 cores, 3000 sequential runs). A statement wrapped here is compiled once; on a
connection in autocommit (`core.db.EachStatementCommits`) it goes to asyncpg with its
parameters passed through the same bind processors SQLAlchemy would apply. Anywhere else
(a transaction, SQLite) it takes SQLAlchemy's path, which also begins the transaction that
asyncpg alone would not know about.

Rows come back as asyncpg decodes them, without SQLAlchemy's result processing: use this for
statements returning plain columns (text, numbers, booleans, UUIDs), never JSON or timestamps.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Dialect, Select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningInsert

AUTOCOMMIT = "AUTOCOMMIT"


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    literals: dict[str, Any]
    processors: dict[str, Callable[[Any], Any] | None]


class DriverStatement:
    """A Core statement; `fetch_one` runs it and returns its one row as a dict."""

    def __init__(self, statement: Select[Any] | ReturningInsert[Any]) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        assert compiled.positiontup is not None, "asyncpg takes positional parameters"
        names = tuple(compiled.positiontup)
        binds = {name: compiled.binds[name] for name in names}
        assert not any(bind.expanding for bind in binds.values()), "IN lists are rendered per call"
        return _Compiled(
            sql=str(compiled),
            names=names,
            # Literals in the statement (a starting sequence number, say) travel as parameters too.
            literals={name: bind.value for name, bind in binds.items() if bind.value is not None},
            processors={
                name: bind.type.dialect_impl(dialect).bind_processor(dialect) for name, bind in binds.items()
            },
        )

    def _arguments(self, dialect: Dialect, parameters: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for asyncpg, processed as SQLAlchemy would process them."""
        if self._compiled is None:
            self._compiled = self._compile(dialect)
        compiled, arguments = self._compiled, []
        for name in compiled.names:
            value = parameters[name] if name in parameters else compiled.literals.get(name)
            process = compiled.processors[name]
            arguments.append(process(value) if process is not None and value is not None else value)
        return arguments

    async def fetch_one(self, connection: AsyncConnection, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """Run on a session's connection (`await session.connection()`, taken once per request)."""
        if _autocommits_on_asyncpg(connection):
            row = await self._fetch_on_driver(connection, parameters)
        else:
            row = (await connection.execute(self.statement, parameters)).mappings().first()
        if row is None:
            raise LookupError("the statement returned no row")
        return dict(row)

    async def _fetch_on_driver(self, connection: AsyncConnection, parameters: Mapping[str, Any]) -> Any:
        arguments = self._arguments(connection.dialect, parameters)
        compiled = self._compiled
        assert compiled is not None
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        try:
            return await driver.fetchrow(compiled.sql, *arguments)
        except BaseException as error:
            # The server refusing a statement leaves the connection usable; anything else (it
            # broke, the server ended it, the request was cancelled mid-statement) must not
            # send it back to the pool.
            if not isinstance(error, asyncpg.PostgresError) or driver.is_closed():
                await connection.invalidate()
            raise


def _autocommits_on_asyncpg(connection: AsyncConnection) -> bool:
    options = connection.sync_connection.get_execution_options() if connection.sync_connection else {}
    return connection.dialect.driver == "asyncpg" and options.get("isolation_level") == AUTOCOMMIT
