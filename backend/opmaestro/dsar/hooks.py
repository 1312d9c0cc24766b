"""Data-request events other domains react to, in the same unit of work, without dsar knowing them."""

from collections.abc import Awaitable, Callable
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.dsar.models import DataRequest

CompletedListener = Callable[[AsyncSession, DataRequest], Awaitable[None]]
ErasedListener = Callable[[AsyncSession, UUID], Awaitable[None]]
_completed: list[CompletedListener] = []
_erased: list[ErasedListener] = []


def on_completed(listener: CompletedListener) -> CompletedListener:
    """Call `listener` with each data request that completes, in the transaction completing it."""
    if listener not in _completed:
        _completed.append(listener)
    return listener


def on_erased(listener: ErasedListener) -> ErasedListener:
    """Call `listener` with the id of each person whose erasure completed, in its transaction."""
    if listener not in _erased:
        _erased.append(listener)
    return listener


async def completed(session: AsyncSession, request: DataRequest) -> None:
    for listener in _completed:
        await listener(session, request)


async def erased(session: AsyncSession, user_id: UUID) -> None:
    for listener in _erased:
        await listener(session, user_id)
