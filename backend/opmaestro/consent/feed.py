"""The change feed of people's consent events that OAuth clients read with `consents:read`.

Every event of a person's chain gets a feed entry in the transaction that appends it, numbered
only by arrival. Positions, which readers page by, are given later and in one place: under the
feed head's lock, to entries already committed, in arrival order. So positions become visible in
order, and a cursor never skips an event that committed late (on PostgreSQL a sequence value
taken by a transaction that commits after a later one would leave such a gap)."""

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.consent.models import ConsentEvent, ConsentFeedEntry, ConsentFeedHead
from opmaestro.core.clock import utcnow
from opmaestro.core.db import table_of
from opmaestro.core.pagination import InvalidCursor

FEED = "people"
# The spec's format name for the cursor `encode_cursor` makes.
FEED_CURSOR_FORMAT = "consent-feed-cursor"
# Entries positioned per read; a reader behind by more asks again (`has_more`).
SEQUENCE_BATCH = 5000
MAX_POSITION = 2**63 - 1

_ENTRY = table_of(ConsentFeedEntry)
_HEAD = table_of(ConsentFeedHead)
_PENDING = select(_ENTRY.c.arrival).where(_ENTRY.c.position.is_(None)).order_by(_ENTRY.c.arrival)
_POSITION = (
    update(_ENTRY)
    .where(_ENTRY.c.arrival == bindparam("entry_arrival"))
    .values(position=bindparam("entry_position"))
)
_ADVANCE = update(_HEAD).where(_HEAD.c.name == bindparam("head_name"))


def _lock_head(insert_for: Any) -> Any:
    values = insert_for(_HEAD).values(name=bindparam("name"), position=0, updated_at=bindparam("now"))
    return values.on_conflict_do_update(
        index_elements=["name"], set_={"updated_at": values.excluded.updated_at}
    ).returning(_HEAD.c.position)


_LOCK_HEAD = {"postgresql": _lock_head(postgresql.insert), "sqlite": _lock_head(sqlite.insert)}


def encode_cursor(position: int) -> str:
    raw = json.dumps({"feed": FEED, "after": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The position a cursor continues after; 0 (the beginning) without one."""
    if cursor is None:
        return 0
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidCursor("The cursor is not one this feed handed out.") from error
    if not isinstance(document, dict):
        raise InvalidCursor("The cursor is not one this feed handed out.")
    after = document.get("after")
    if (
        document.get("feed") != FEED
        or not isinstance(after, int)
        or isinstance(after, bool)
        or not 0 <= after <= MAX_POSITION
    ):
        raise InvalidCursor("The cursor is not one this feed handed out.")
    return after


async def _position_pending(session: AsyncSession) -> bool:
    """Give positions to committed entries that have none; True when more wait than one batch."""
    if await session.scalar(_PENDING.limit(1)) is None:
        return False
    dialect = session.get_bind().dialect.name
    head = await session.scalar(_LOCK_HEAD[dialect], {"name": FEED, "now": utcnow()})
    # Read again under the lock: another reader may have positioned them meanwhile.
    arrivals = list((await session.scalars(_PENDING.limit(SEQUENCE_BATCH))).all())
    if not arrivals:
        return False
    await session.execute(
        _POSITION,
        [
            {"entry_arrival": arrival, "entry_position": head + offset}
            for offset, arrival in enumerate(arrivals, start=1)
        ],
    )
    await session.execute(
        _ADVANCE, {"head_name": FEED, "position": head + len(arrivals), "updated_at": utcnow()}
    )
    return len(arrivals) == SEQUENCE_BATCH


@dataclass(frozen=True)
class FeedPage:
    events: list[ConsentEvent]
    next_cursor: str
    has_more: bool


async def read(session: AsyncSession, cursor: str | None, limit: int) -> FeedPage:
    """Up to `limit` events after `cursor`, in feed order, and the cursor to continue from."""
    after = decode_cursor(cursor)
    more_waiting = await _position_pending(session)
    rows = (
        await session.execute(
            select(_ENTRY.c.position, ConsentEvent)
            .join(ConsentEvent, ConsentEvent.id == _ENTRY.c.event_id)
            .where(_ENTRY.c.position > after)
            .order_by(_ENTRY.c.position)
            .limit(limit + 1)
        )
    ).all()
    page = rows[:limit]
    last = page[-1][0] if page else after
    return FeedPage([event for _, event in page], encode_cursor(last), len(rows) > limit or more_waiting)
