"""Write audit records in the caller's transaction."""

from collections.abc import Iterable
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.audit.models import AuditRecord
from opmaestro.core.clock import utcnow
from opmaestro.core.db import new_id, table_of
from opmaestro.core.logging import current_request_id

TABLE = table_of(AuditRecord)
# Takes the values `entry` builds; for callers that write a record on a connection themselves.
INSERT = insert(TABLE)


class Actor(Protocol):
    """Who acts, as a record names them; `accounts.deps.Principal` is one."""

    @property
    def audit_actor(self) -> tuple[UUID, str]:
        """The actor's id and kind: `user`, `staff` or `client`."""
        ...


def _actor(actor: Actor | None) -> tuple[UUID | None, str]:
    return (None, "system") if actor is None else actor.audit_actor


def entry(
    *,
    actor: Actor | None,
    action: str,
    subject_type: str,
    subject_id: UUID | str | None,
    fields: Iterable[str] = (),
    reason: str | None = None,
) -> dict[str, Any]:
    """The column values of one record: who did what to which subject, which fields, and why."""
    actor_id, actor_kind = _actor(actor)
    now = utcnow()
    return {
        "id": new_id(),
        "actor_id": actor_id,
        "actor_kind": actor_kind,
        "action": action,
        "subject_type": subject_type,
        "subject_id": str(subject_id) if subject_id is not None else None,
        "fields": sorted(fields),
        "reason": reason,
        "request_id": current_request_id(),
        "created_at": now,
        "updated_at": now,
    }


async def record(
    session: AsyncSession,
    *,
    actor: Actor | None,
    action: str,
    subject_type: str,
    subject_id: UUID | str | None,
    fields: Iterable[str] = (),
    reason: str | None = None,
) -> UUID:
    """Append one record now (see `entry`); returns its id.

    A plain INSERT, not `session.add`: records are never read back or changed by the request
    that writes them, and the unit of work's bookkeeping cost more than the insert.
    """
    values = entry(
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        fields=fields,
        reason=reason,
    )
    await session.execute(INSERT, values)
    record_id: UUID = values["id"]
    return record_id
