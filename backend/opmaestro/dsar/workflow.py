"""A data request's states and the moves between them; every move is audited.

received -> verified -> in_progress -> completed | denied | cancelled (and failed, for an erasure
whose verification scan found traces). Once a request is verified, the part of the product that
fulfils its kind takes over: export and erasure register a starter here (so this module imports
neither), and a kind without one waits in the staff queue.
"""

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.audit import service as audit
from opmaestro.core.clock import utcnow
from opmaestro.dsar.models import CLOSED_STATES, DataRequest, RequestKind, RequestState

Starter = Callable[[AsyncSession, DataRequest], Awaitable[None]]
_starters: dict[RequestKind, Starter] = {}


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


async def start(session: AsyncSession, request: DataRequest, *, actor: audit.Actor | None) -> None:
    """Hand a verified request to its kind's starter, if one is registered."""
    if request.state != RequestState.VERIFIED:
        raise InvalidTransition(f"only a verified request can start, not a {request.state} one")
    starter = _starters.get(RequestKind(request.kind))
    if starter is not None:
        await starter(session, request)


async def begin_work(session: AsyncSession, request: DataRequest, *, actor: audit.Actor | None) -> None:
    """Starters call this once the work is queued."""
    await move(session, request, RequestState.IN_PROGRESS, actor=actor)


async def complete(
    session: AsyncSession, request: DataRequest, *, actor: audit.Actor | None, outcome: str | None = None
) -> None:
    request.outcome = outcome
    request.progress_percent = 100
    await move(session, request, RequestState.COMPLETED, actor=actor)


async def fail(
    session: AsyncSession, request: DataRequest, *, actor: audit.Actor | None, reason: str
) -> None:
    """The work ran but could not be finished as promised (staff are told by the caller)."""
    request.outcome = reason
    await move(session, request, RequestState.FAILED, actor=actor, reason=reason)
