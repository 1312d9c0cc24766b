"""Engine, sessions, the declarative base and the column conventions every model shares."""

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, NamedTuple, Protocol
from uuid import UUID

import uuid6
from fastapi import Depends, Request
from sqlalchemy import JSON, DateTime, Dialect, MetaData, Table, Uuid, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.datamap import not_personal

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> UUID:
    """A time-ordered UUIDv7, so primary keys stay index friendly."""
    return UUID(int=uuid6.uuid7().int)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use opmaestro.core.clock.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), UUID: Uuid(), dict[str, Any]: JSON(), list[str]: JSON()}


def table_of(model: type[Base]) -> Table:
    """A model's table, for Core statements (declarative typing only promises a FromClause)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


class IdMixin:
    id: Mapped[UUID] = mapped_column(
        primary_key=True, default=new_id, sort_order=-10, info=not_personal("public id")
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, sort_order=10, info=not_personal())
    updated_at: Mapped[datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, sort_order=10, info=not_personal()
    )


# How long a SQLite writer waits for another connection's transaction before giving up.
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",
    # Deleted and overwritten values are zeroed in the file, not left in free space: an erased
    # person must not be recoverable from the database file's bytes.
    "PRAGMA secure_delete=ON",
)


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL and the pragmas above on every connection, and transactions that begin with the write lock.

    SQLAlchemy's documented recipe for SQLite transactions: the driver's own implicit BEGIN is
    turned off and the `begin` hook emits BEGIN IMMEDIATE. A transaction that read under a
    plain BEGIN and then writes after another connection committed fails at once with
    "database is locked" (its snapshot is stale, and no busy timeout helps); one that takes the
    write lock first waits its turn in the busy handler instead. SAVEPOINT then works too.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(settings: Settings, *, pool_size: int | None = None) -> AsyncEngine:
    """An engine for the configured database; SQLite gets WAL, foreign keys and a busy timeout."""
    options: dict[str, Any] = {"echo": settings.database_echo}
    if settings.is_sqlite:
        # Every transaction holds the write lock (BEGIN IMMEDIATE), so a second request connection
        # would only sleep in SQLite's busy handler: one queues requests on the pool instead, without
        # sleeping (consent PUTs at concurrency 16: 105 req/s with 1, 72 with 2). No overflow.
        options.update(pool_size=pool_size or settings.database_pool_size or 1, max_overflow=0)
    else:
        options.update(pool_size=pool_size or settings.database_pool_size or 10, max_overflow=10)
    engine = create_async_engine(settings.database_url, **options)
    if settings.is_sqlite:
        _configure_sqlite(engine)
    else:
        _ping_idle_connections(engine)
    return engine


# A connection back in the pool for less than this is taken to be alive.
PING_AFTER_IDLE_SECONDS = 2.0
_IDLE_SINCE = "opmaestro.idle_since"


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Check a pooled connection before use only when it has sat idle (SQLAlchemy's pre-ping,
    for connections a restarted or idle-timing-out server may have dropped).

    Pinging at every checkout cost a round trip and 0.4 ms of CPU per request (consent PUTs at
    concurrency 16 on PostgreSQL: 341 req/s with it, 426 without); a connection in use moments
    ago is no likelier to have died than in the moment between a ping and the first statement.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool discards this connection and checks out a fresh one.
            raise DisconnectionError("the pooled connection did not answer a ping") from error


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


PENDING_JOBS_KEY = "opmaestro.pending_jobs"


class PendingJob(NamedTuple):
    """A job enqueued in a transaction, with the lane its worker must come from."""

    id: UUID
    lane: str


class CommitListener(Protocol):
    async def committed(self, pending: Sequence[PendingJob]) -> None: ...


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession], listener: CommitListener | None
) -> AsyncIterator[AsyncSession]:
    """Commit once at the end, roll back on error, then release jobs enqueued inside."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            session.info.pop(PENDING_JOBS_KEY, None)
            raise
        pending = session.info.pop(PENDING_JOBS_KEY, [])
    if pending and listener is not None:
        await listener.committed(pending)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request, committed before the response is sent."""
    async with unit_of_work(request.app.state.sessionmaker, request.app.state.job_backend) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
