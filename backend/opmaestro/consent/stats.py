"""Consent statistics for staff: ledger events per purpose and UTC day, and current grants."""

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from opmaestro.consent.models import ConsentAction, ConsentEvent, ConsentPurpose, ConsentState
from opmaestro.consent.schemas import ConsentStatsRead, DayStats, PurposeStats
from opmaestro.core.clock import utcnow

DEFAULT_DAYS = 30
MAX_DAYS = 365


class utc_day(FunctionElement[date]):  # noqa: N801 - SQL function naming
    """The UTC calendar day of a timestamp column."""

    type = Date()
    name = "utc_day"
    inherit_cache = True


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite stores our timestamps as naive UTC text (see core.db.UtcDateTime).
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day)
def _utc_day_default(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # timestamptz::date would use the connection's TimeZone; pin the bucket to UTC.
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC' AS DATE)"


def _count(action: ConsentAction) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((ConsentEvent.action == action.value, 1), else_=0)), 0)


def opt_in_rate(granted: int, denied: int, withdrawn: int) -> float | None:
    """Share of a day's answers that were grants; None when there were none."""
    total = granted + denied + withdrawn
    return granted / total if total else None


def _day_stats(day: date, granted: int, denied: int, withdrawn: int) -> DayStats:
    return DayStats(
        day=day,
        granted=granted,
        denied=denied,
        withdrawn=withdrawn,
        opt_in_rate=opt_in_rate(granted, denied, withdrawn),
    )


async def consent_stats(session: AsyncSession, days: int = DEFAULT_DAYS) -> ConsentStatsRead:
    """Granted, denied and withdrawn events per purpose per UTC day, and current valid grants."""
    end = utcnow().astimezone(UTC).date()
    start = end - timedelta(days=days - 1)
    day = utc_day(ConsentEvent.created_at)
    rows = await session.execute(
        select(
            ConsentEvent.purpose_key,
            day,
            _count(ConsentAction.GRANTED),
            _count(ConsentAction.DENIED),
            _count(ConsentAction.WITHDRAWN),
        )
        .where(ConsentEvent.created_at >= datetime.combine(start, time.min, tzinfo=UTC))
        .group_by(ConsentEvent.purpose_key, day)
    )
    counts: dict[str, dict[date, tuple[int, int, int]]] = defaultdict(dict)
    for key, bucket, granted, denied, withdrawn in rows:
        counts[key][bucket] = (int(granted), int(denied), int(withdrawn))
    grants = await session.execute(
        select(ConsentState.purpose_key, func.count())
        .join(ConsentPurpose, ConsentPurpose.key == ConsentState.purpose_key)
        .where(ConsentState.granted.is_(True), ConsentState.purpose_version >= ConsentPurpose.renewal_version)
        .group_by(ConsentState.purpose_key)
    )
    granted_now = {key: int(count) for key, count in grants}
    purpose_rows = await session.execute(
        select(ConsentPurpose.key, ConsentPurpose.name).order_by(ConsentPurpose.key)
    )
    names: dict[str, str] = {key: name for key, name in purpose_rows}
    for key in sorted(counts.keys() - names.keys()):
        names[key] = key
    window = [start + timedelta(days=offset) for offset in range(days)]
    purposes = []
    for key, name in names.items():
        per_day = [_day_stats(bucket, *counts[key].get(bucket, (0, 0, 0))) for bucket in window]
        purposes.append(PurposeStats(key=key, name=name, granted_now=granted_now.get(key, 0), days=per_day))
    return ConsentStatsRead(days=days, start=start, end=end, purposes=purposes)
