"""Storing a verified delivery once and handing it to a job in the same transaction."""

import json
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.db import new_id, table_of
from opmaestro.core.jwt import unverified_claims
from opmaestro.webhooks.inbound.models import EventState, InboundEvent, ObjectVersion
from opmaestro.webhooks.inbound.registry import Provider, ProviderEvent

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
    now = utcnow()
    stored = await session.execute(
        _insert(session.get_bind().dialect.name),
        {
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
            "state": EventState.RECEIVED,
            "attempts": 0,
        },
    )
    row_id = stored.scalar_one_or_none()
    if row_id is None:
        return False
    await jobs.enqueue(session, HANDLE_JOB, {"event_id": str(row_id)}, max_attempts=settings.job_max_attempts)
    return True


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
