"""Storing a verified delivery once and handing it to a job in the same transaction."""

import asyncio
import json
import weakref
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.db import CommitListener, new_id, table_of, unit_of_work
from opmaestro.core.jwt import unverified_claims
from opmaestro.webhooks.inbound.models import EventState, InboundEvent, ObjectVersion
from opmaestro.webhooks.inbound.registry import Provider, ProviderEvent, handlers_for

HANDLE_JOB = "webhooks.inbound.handle"


@cache
def _insert(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table_of(InboundEvent))
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(table_of(InboundEvent).c.id)
    )


async def receive(
    session: AsyncSession,
    settings: Settings,
    *,
    provider: Provider,
    event_id: str,
    event_type: str,
    body: str,
    object_id: str | None = None,
    object_version: int | None = None,
    occurred_at: datetime | None = None,
    user_id: UUID | None = None,
) -> bool:
    """Store a verified event unless it was stored before, and queue its handling in the same
    transaction; False for a duplicate delivery, which then has no effect at all."""
    row = _row(
        provider=provider,
        event_id=event_id,
        event_type=event_type,
        body=body,
        object_id=object_id,
        object_version=object_version,
        occurred_at=occurred_at,
        user_id=user_id,
    )
    stored = await session.execute(_insert(session.get_bind().dialect.name), row)
    row_id = stored.scalar_one_or_none()
    if row_id is None:
        return False
    if row["state"] == EventState.RECEIVED:
        payload = {"event_id": str(row_id)}
        await jobs.enqueue(session, HANDLE_JOB, payload, max_attempts=settings.job_max_attempts)
    return True


def _row(
    *,
    provider: Provider,
    event_id: str,
    event_type: str,
    body: str,
    object_id: str | None,
    object_version: int | None,
    occurred_at: datetime | None,
    user_id: UUID | None,
) -> dict[str, Any]:
    """An event's row; one no handler takes is stored as ignored, and no job is queued for it."""
    now = utcnow()
    handled = bool(handlers_for(provider, event_type))
    return {
        "id": new_id(),
        "provider": str(provider),
        "event_id": event_id,
        "event_type": event_type,
        "object_id": object_id,
        "object_version": object_version,
        "occurred_at": occurred_at,
        "body": body,
        "user_id": user_id,
        "received_at": now,
        "state": EventState.RECEIVED if handled else EventState.IGNORED,
        "handled_at": None if handled else now,
        "attempts": 0,
    }


class Ingest:
    """Writes the verified deliveries that arrive together in one transaction: one INSERT ...
    ON CONFLICT DO NOTHING for the events, one INSERT for the jobs of those that were new, one
    commit; each caller then learns whether its event was new.

    Deliveries come in bursts (a provider retrying, a bulk change), and a commit per delivery
    made the database the bottleneck; while one batch is written the next one gathers. Nothing
    is answered before its batch has committed, so a 2xx still means stored and queued.
    """

    MAX_BATCH = 200

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], listener: CommitListener | None
    ) -> None:
        self.sessionmaker = sessionmaker
        self.listener = listener
        self._pending: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def receive(self, settings: Settings, **fields: Any) -> bool:
        """Store the event unless stored before, with its job; False for a duplicate."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((_row(**fields), future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending(settings.job_max_attempts))
        return await future

    async def _write_pending(self, max_attempts: int) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.MAX_BATCH], self._pending[self.MAX_BATCH :]
            try:
                new = await self._write([row for row, _ in batch], max_attempts)
            except Exception as error:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for row, future in batch:
                if not future.done():
                    future.set_result(row["id"] in new)

    async def _write(self, rows: Sequence[dict[str, Any]], max_attempts: int) -> set[UUID]:
        # A repeat within the batch is a duplicate of its first occurrence.
        first: dict[tuple[str, str], dict[str, Any]] = {}
        for row in rows:
            first.setdefault((row["provider"], row["event_id"]), row)
        async with unit_of_work(self.sessionmaker, self.listener) as session:
            # One statement with many parameter sets: SQLAlchemy sends it as one multi-row
            # INSERT and compiles it once, whatever the batch size.
            stored = await session.execute(_insert(session.get_bind().dialect.name), list(first.values()))
            new = set(stored.scalars().all())
            await jobs.enqueue_many(
                session,
                HANDLE_JOB,
                [
                    {"event_id": str(row["id"])}
                    for row in first.values()
                    if row["id"] in new and row["state"] == EventState.RECEIVED
                ],
                max_attempts=max_attempts,
            )
        return new


_ingests: "weakref.WeakKeyDictionary[async_sessionmaker[AsyncSession], Ingest]" = weakref.WeakKeyDictionary()


def ingest_for(sessionmaker: async_sessionmaker[AsyncSession], listener: CommitListener | None) -> Ingest:
    """The app's one batch writer (one per sessionmaker, so per app)."""
    found = _ingests.get(sessionmaker)
    if found is None:
        found = _ingests.setdefault(sessionmaker, Ingest(sessionmaker, listener))
    return found


def payload_of(provider: Provider, body: str) -> dict[str, Any]:
    """The stored body as handlers see it: a RISC token's claims, the JSON of the others."""
    if provider is Provider.GOOGLE_RISC:
        return unverified_claims(body)
    parsed = json.loads(body)
    return parsed if isinstance(parsed, dict) else {}


def event_of(row: InboundEvent) -> ProviderEvent:
    provider = Provider(row.provider)
    return ProviderEvent(
        id=row.id,
        provider=provider,
        event_id=row.event_id,
        event_type=row.event_type,
        object_id=row.object_id,
        object_version=row.object_version,
        occurred_at=row.occurred_at,
        payload=payload_of(provider, row.body),
    )


async def prune(session: AsyncSession, keep_days: int) -> int:
    """Delete handled and ignored events after `keep_days`, failed ones after twice that, and
    object versions not moved within `keep_days`."""
    now = utcnow()
    done = (InboundEvent.state.in_([EventState.HANDLED, EventState.IGNORED])) & (
        InboundEvent.handled_at < now - timedelta(days=keep_days)
    )
    failed = (InboundEvent.state == EventState.FAILED) & (
        InboundEvent.handled_at < now - timedelta(days=2 * keep_days)
    )
    removed = await session.execute(
        delete(InboundEvent).where(done | failed).execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(ObjectVersion)
        .where(ObjectVersion.updated_at < now - timedelta(days=keep_days))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(removed, "rowcount", 0))
