"""Who handles which provider event, and the ordering guard handlers use.

Domains above webhooks (integrations, billing) register here:

    from opmaestro.webhooks.inbound.registry import Provider, ProviderEvent, handles

    @handles(Provider.STRIPE, "account.application.deauthorized")
    async def on_deauthorized(context: jobs.JobContext, event: ProviderEvent) -> None:
        if not await is_newer(context.session, event.provider, event.object_id, event.object_version):
            return
        ...

Every handler of an event runs in one job, in one transaction with the event's `handled`
mark; the job is retried with backoff when a handler raises, so handlers must be safe to run
again. An event no handler takes is stored and marked `ignored`.
"""

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.db import table_of
from opmaestro.webhooks.inbound.models import InboundEvent, ObjectVersion


class Provider(StrEnum):
    STRIPE = "stripe"
    GUSTO = "gusto"
    GOOGLE_CALENDAR = "google_calendar"
    GOOGLE_RISC = "google_risc"


@dataclass(frozen=True)
class ProviderEvent:
    """What a handler receives: the stored event, its body already verified and parsed.

    `payload` is the provider's JSON event (Stripe, Gusto), the verified token claims (RISC)
    or the push headers by their names without `X-Goog-` (Calendar: `channel-id`,
    `resource-id`, `resource-state`, `message-number`, ...). `object_version` orders deliveries
    for one object: Stripe's `created`, Gusto's `timestamp`, a channel's message number, the
    token's `iat`.
    """

    id: UUID
    provider: Provider
    event_id: str
    event_type: str
    object_id: str | None
    object_version: int | None
    occurred_at: datetime | None
    payload: dict[str, Any] = field(repr=False)


EventHandler = Callable[[jobs.JobContext, ProviderEvent], Awaitable[None]]

_handlers: dict[tuple[Provider, str], list[EventHandler]] = {}


def handles(provider: Provider, *event_types: str) -> Callable[[EventHandler], EventHandler]:
    """Register `handler` for these event types of `provider` (several handlers may share one)."""
    if not event_types:
        raise ValueError("name at least one event type")

    def register(handler: EventHandler) -> EventHandler:
        for event_type in event_types:
            registered = _handlers.setdefault((Provider(provider), event_type), [])
            if handler not in registered:
                registered.append(handler)
        return handler

    return register


def handlers_for(provider: Provider, event_type: str) -> tuple[EventHandler, ...]:
    """The handlers registered for one event type, in registration order."""
    return tuple(_handlers.get((Provider(provider), event_type), ()))


def handled_types() -> dict[Provider, list[str]]:
    """Every registered event type per provider (for docs and tests)."""
    found: dict[Provider, list[str]] = {}
    for provider, event_type in sorted(_handlers):
        found.setdefault(provider, []).append(event_type)
    return found


def object_key(object_id: str) -> str:
    return hashlib.sha256(object_id.encode()).hexdigest()


async def is_newer(
    session: AsyncSession, provider: Provider, object_id: str | None, version: int | None
) -> bool:
    """Record `version` as the newest applied to this object and say True, or say False when a
    version as new or newer was applied already (an out-of-order or repeated delivery).

    One upsert: on PostgreSQL it locks the object's row until the transaction ends, so two
    jobs about one object apply one after the other; SQLite's write lock does the same. An
    event without an object or a version cannot be ordered and is always newer.
    """
    if object_id is None or version is None:
        return True
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = insert(table_of(ObjectVersion)).values(
        provider=str(provider), object_key=object_key(object_id), version=version, updated_at=utcnow()
    )
    statement = values.on_conflict_do_update(
        index_elements=["provider", "object_key"],
        set_={"version": values.excluded.version, "updated_at": values.excluded.updated_at},
        where=table_of(ObjectVersion).c.version < values.excluded.version,
    ).returning(table_of(ObjectVersion).c.version)
    return (await session.execute(statement)).first() is not None


async def link_subject(session: AsyncSession, event: ProviderEvent, user_id: UUID) -> None:
    """Say whose event this is, so it shows up in that person's export and is erased with them."""
    await session.execute(
        update(InboundEvent)
        .where(InboundEvent.id == event.id)
        .values(user_id=user_id)
        .execution_options(synchronize_session=False)
    )
