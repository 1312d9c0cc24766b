"""Hot-path statements run on the database driver itself, without SQLAlchemy's per-statement work.

SQLAlchemy's work around each execution (compiled-cache lookup, parameter construction, an
execution context, result processing) costs more CPU than the driver's own: the consent
context read took 0.16 ms of CPU through a Core connection, 0.24 ms through an ORM session and
0.07 ms on asyncpg alone (2 cores, 3000 sequential runs). A statement wrapped here is compiled
once per dialect; its parameters pass through the bind processors SQLAlchemy would apply and
its row through the result processors, so callers see the same values either way. It goes to:

- asyncpg, on a connection in autocommit (`core.db.EachStatementCommits`);
- `core.sqlite_driver`'s connection, inside a transaction SQLAlchemy has begun (so the `begin`
  hooks have run and the commit or rollback ends what the statement did);
- SQLAlchemy's own path anywhere else, which also begins the transaction the driver alone
  would not know about.

Every parameter of the statement must be given: a column default SQLAlchemy would fill in is
not applied on the driver. Errors on the driver are the driver's own (`sqlite3`, `asyncpg`),
not SQLAlchemy's wrappers of them.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Dialect, Insert, Select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningInsert

from opmaestro.core.sqlite_driver import OneTripConnection, OneTripSQLiteDialect

AUTOCOMMIT = "AUTOCOMMIT"
Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    literals: dict[str, Any]
    processors: dict[str, Processor]
    columns: tuple[str, ...]
    column_processors: tuple[Processor, ...]


class DriverStatement:
    """A Core statement: `fetch_one` and `fetch_optional` return a row as a dict, `execute` only runs it."""

    def __init__(self, statement: Select[Any] | ReturningInsert[Any] | Insert) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        assert compiled.positiontup is not None, "drivers take positional parameters"
        names = tuple(compiled.positiontup)
        binds = {name: compiled.binds[name] for name in names}
        assert not any(bind.expanding for bind in binds.values()), "IN lists are rendered per call"
        columns = tuple(self.statement.exported_columns)
        return _Compiled(
            sql=str(compiled),
            names=names,
            # Literals in the statement (a starting sequence number, say) travel as parameters too.
            literals={name: bind.value for name, bind in binds.items() if not bind.required},
            processors={
                name: bind.type.dialect_impl(dialect).bind_processor(dialect) for name, bind in binds.items()
            },
            columns=tuple(str(column.key) for column in columns),
            column_processors=tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
            ),
        )

    def _compiled_for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = self._compile(dialect)
        return compiled

    @staticmethod
    def _arguments(compiled: _Compiled, parameters: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for the driver, processed as SQLAlchemy would process them."""
        arguments = []
        for name in compiled.names:
            if name in parameters:
                value = parameters[name]
            elif name in compiled.literals:
                value = compiled.literals[name]
            else:
                raise KeyError(f"the statement needs the parameter {name!r}")
            process = compiled.processors[name]
            arguments.append(process(value) if process is not None and value is not None else value)
        return arguments

    @staticmethod
    def _row(compiled: _Compiled, values: Any) -> dict[str, Any]:
        return {
            name: process(value) if process is not None else value
            for name, process, value in zip(compiled.columns, compiled.column_processors, values, strict=True)
        }

    async def fetch_one(self, connection: AsyncConnection, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """Run on a session's connection (`await session.connection()`, taken once per request)."""
        row = await self.fetch_optional(connection, parameters)
        if row is None:
            raise LookupError("the statement returned no row")
        return row

    async def fetch_optional(
        self, connection: AsyncConnection, parameters: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The first row, or None when there is none."""
        if _autocommits_on_asyncpg(connection):
            compiled = self._compiled_for(connection.dialect)
            values = await _on_asyncpg(
                connection, "fetchrow", compiled.sql, self._arguments(compiled, parameters)
            )
            row = None if values is None else self._row(compiled, values)
        elif driver := await _sqlite_in_transaction(connection):
            compiled = self._compiled_for(connection.dialect)
            _, rows, _, _ = await driver.run(compiled.sql, self._arguments(compiled, parameters))
            row = self._row(compiled, rows[0]) if rows else None
        else:
            found = (await connection.execute(self.statement, parameters)).mappings().first()
            row = None if found is None else dict(found)
        return row

    async def execute(self, connection: AsyncConnection, parameters: Mapping[str, Any]) -> None:
        """Run a statement whose rows, if any, are not wanted."""
        if _autocommits_on_asyncpg(connection):
            compiled = self._compiled_for(connection.dialect)
            await _on_asyncpg(connection, "execute", compiled.sql, self._arguments(compiled, parameters))
        elif driver := await _sqlite_in_transaction(connection):
            compiled = self._compiled_for(connection.dialect)
            await driver.run(compiled.sql, self._arguments(compiled, parameters))
        else:
            await connection.execute(self.statement, parameters)


async def _on_asyncpg(connection: AsyncConnection, method: str, sql: str, arguments: list[Any]) -> Any:
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    try:
        return await getattr(driver, method)(sql, *arguments)
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


async def _sqlite_in_transaction(connection: AsyncConnection) -> OneTripConnection | None:
    if connection.dialect.driver != OneTripSQLiteDialect.driver or not connection.in_transaction():
        return None
    adapted = (await connection.get_raw_connection()).dbapi_connection
    return adapted if isinstance(adapted, OneTripConnection) else None
