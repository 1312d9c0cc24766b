"""Cursor pagination: an opaque cursor holding the last row's sort key."""

import base64
import json
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from opmaestro.core.errors import AppError

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class InvalidCursor(AppError):
    status, slug, title = 400, "invalid-cursor", "Invalid cursor"


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(created_at: datetime, row_id: UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = json.loads(raw)
        if not isinstance(created_at, str) or not isinstance(row_id, str):
            raise TypeError("cursor parts must be strings")
        after_at = datetime.fromisoformat(created_at)
        if after_at.tzinfo is None:
            raise ValueError("cursor time has no zone")
        return after_at.astimezone(UTC), UUID(row_id)
    except (ValueError, TypeError, OverflowError) as error:
        raise InvalidCursor("The cursor is not one this API handed out.") from error


def newest_first(
    query: Select[Any],
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[UUID],
    cursor: str | None,
    limit: int,
) -> Select[Any]:
    """Order by (created_at, id) descending, continuing after `cursor`; fetch one extra row."""
    if cursor:
        after_at, after_id = decode_cursor(cursor)
        query = query.where(or_(created_at < after_at, and_(created_at == after_at, row_id < after_id)))
    return query.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)


def page_of(rows: list[Any], limit: int) -> tuple[list[Any], str | None]:
    """Split the extra row off and turn it into the next cursor."""
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(last.created_at, last.id)
