"""A data request's states and the moves between them; every move is audited.

received -> verified -> in_progress -> completed | denied | cancelled (and failed, for an erasure
whose verification scan found traces). Once a request is verified, the part of the product that
fulfils its kind takes over: export and erasure register a starter here (so this module imports
neither), and a kind without one waits in the staff queue.

The requester is told of each step by email: receipt, extension and denial at once (the caller
has the settings), completion and failure through the `dsar.notify` job, because export and
erasure workers finish a request without a request's settings at hand.
"""

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.models import User, UserStatus
from opmaestro.audit import service as audit
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.links import public_url
from opmaestro.dsar import hooks
from opmaestro.dsar.models import CLOSED_STATES, OPEN_STATES, DataRequest, RequestKind, RequestState
from opmaestro.notifications import service as notifications

Starter = Callable[[AsyncSession, Settings, DataRequest, audit.Actor | None], Awaitable[None]]
_starters: dict[RequestKind, Starter] = {}
NOTIFY_JOB = "dsar.notify"
NOTIFY_ATTEMPTS = 8
KIND_LABELS = {
    RequestKind.EXPORT: "a copy of your data",
    RequestKind.ERASURE: "erasure of your data",
    RequestKind.CORRECTION: "correction of your data",
}


class Notice(StrEnum):
    """What the requester is told, each with its template `data_request_<notice>`."""

    RECEIVED = "received"
    EXTENDED = "extended"
    DENIED = "denied"
    COMPLETED = "completed"
    FAILED = "failed"


class InvalidTransition(Exception):
    """The request is not in a state that allows this move."""


def register_starter(kind: RequestKind, starter: Starter) -> None:
    """`starter` begins the work for verified requests of `kind` (and moves them to in_progress)."""
    if kind in _starters:
        raise ValueError(f"a starter for {kind} is already registered")
    _starters[kind] = starter


async def move(
    session: AsyncSession,
    request: DataRequest,
    to: RequestState,
    *,
    actor: audit.Actor | None,
    reason: str | None = None,
) -> None:
    """Change the state, stamp the time, and write the audit record, in the caller's transaction."""
    if request.state in CLOSED_STATES:
        raise InvalidTransition(f"the request is already {request.state}")
    now = utcnow()
    request.state = to
    if to is RequestState.VERIFIED:
        request.verified_at = now
    elif to is RequestState.IN_PROGRESS:
        request.started_at = now
    elif to in CLOSED_STATES:
        request.closed_at = now
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action=f"data_request.{to}",
        subject_type="data_request",
        subject_id=request.id,
        fields=["state"],
        reason=reason,
    )


async def start(
    session: AsyncSession, settings: Settings, request: DataRequest, *, actor: audit.Actor | None
) -> None:
    """Hand a verified request to its kind's starter, if one is registered."""
    if request.state != RequestState.VERIFIED:
        raise InvalidTransition(f"only a verified request can start, not a {request.state} one")
    starter = _starters.get(RequestKind(request.kind))
    if starter is not None:
        await starter(session, settings, request, actor)


async def begin_work(session: AsyncSession, request: DataRequest, *, actor: audit.Actor | None) -> None:
    """Starters call this once the work is queued."""
    await move(session, request, RequestState.IN_PROGRESS, actor=actor)


async def complete(
    session: AsyncSession, request: DataRequest, *, actor: audit.Actor | None, outcome: str | None = None
) -> None:
    """The work is done; the requester is emailed (by the `dsar.notify` job)."""
    request.outcome = outcome
    request.progress_percent = 100
    await move(session, request, RequestState.COMPLETED, actor=actor)
    await _notify_later(session, request, Notice.COMPLETED)
    await hooks.completed(session, request)


async def fail(
    session: AsyncSession, request: DataRequest, *, actor: audit.Actor | None, reason: str
) -> None:
    """The work ran but could not be finished as promised (staff are told by the caller); the
    requester is emailed that it failed and that staff are on it."""
    request.outcome = reason
    await move(session, request, RequestState.FAILED, actor=actor, reason=reason)
    await _notify_later(session, request, Notice.FAILED)


async def deny(
    session: AsyncSession, request: DataRequest, settings: Settings, *, actor: audit.Actor | None, reason: str
) -> None:
    """Refuse the request with a reason the requester is told at once."""
    request.outcome = reason
    await move(session, request, RequestState.DENIED, actor=actor, reason=reason)
    await notify(session, settings, request, Notice.DENIED)


async def _notify_later(session: AsyncSession, request: DataRequest, notice: Notice) -> None:
    await jobs.enqueue(
        session,
        NOTIFY_JOB,
        {"request_id": str(request.id), "notice": notice.value},
        max_attempts=NOTIFY_ATTEMPTS,
    )


async def requester(session: AsyncSession, request: DataRequest) -> tuple[str | None, str | None]:
    """Where to write about a request, and whom to greet: the account's address, else the one given."""
    user = await session.get(User, request.user_id) if request.user_id else None
    if user is not None and user.status == UserStatus.ERASED:
        # Erasure mails its own notice to the address it captured first; the account's is gone.
        return None, None
    if user is not None:
        return user.email, user.name
    return request.email, None


async def notify(session: AsyncSession, settings: Settings, request: DataRequest, notice: Notice) -> None:
    """Email the requester about `request` (nothing when the address is gone: anonymized or erased)."""
    address, name = await requester(session, request)
    if address is None:
        return
    context: dict[str, Any] = {
        "name": name or "there",
        "kind": KIND_LABELS[RequestKind(request.kind)],
        "reference": str(request.id),
        "due_date": request.due_at.date().isoformat(),
        "reason": request.extension_reason if notice is Notice.EXTENDED else request.outcome,
        "url": public_url(settings, "/privacy/data") if request.user_id else None,
        # An erasure in its grace period: when it will run (the receipt says so).
        "erase_after": (
            request.erase_after.date().isoformat()
            if request.erase_after is not None and request.state in OPEN_STATES
            else None
        ),
        "grace_days": settings.erasure_grace_days,
    }
    await notifications.send_email(
        session, settings, address, f"data_request_{notice.value}", context, user_id=request.user_id
    )
