"""Changes to a person's consents that other domains react to, in the same unit of work.

The ledger tells the listeners of every event appended to a person's chain, whatever the method
(settings, sign-up, unsubscribe link, banner, API); consent knows none of the listeners.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class ConsentChange:
    """One recorded answer: whose, which purpose, what, how and when."""

    user_id: UUID
    event_id: UUID
    purpose_key: str
    purpose_version: int
    action: str
    method: str
    recorded_at: datetime


ChangeListener = Callable[[AsyncSession, Sequence[ConsentChange]], Awaitable[None]]
_listeners: list[ChangeListener] = []


def on_recorded(listener: ChangeListener) -> ChangeListener:
    """Call `listener` with the answers each append records for a person, in its transaction."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


async def recorded(session: AsyncSession, changes: Sequence[ConsentChange]) -> None:
    """Tell every listener; an error in one rolls the consent change back."""
    if changes:
        for listener in _listeners:
            await listener(session, changes)
