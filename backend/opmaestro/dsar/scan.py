"""The verification scan after an erasure: is the person's email, phone or name still anywhere?

Every text and JSON column of every table is searched, not only the classified-personal ones, so
a feature that copied an address into a free-text column is caught too.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    MetaData,
    String,
    Text,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

# Shorter values (a one-letter name, say) match everywhere and prove nothing.
MIN_NEEDLE_LENGTH = 3
MIN_PHONE_DIGITS = 7


@dataclass(frozen=True)
class Traces:
    """What identifies the person in free text, captured before their data is erased."""

    email: str | None
    phone: str | None
    name: str | None

    def needles(self) -> list[str]:
        """The lowercase strings to look for, without duplicates or meaningless short ones."""
        found = [value.strip().lower() for value in (self.email, self.phone, self.name) if value]
        if self.phone:
            digits = "".join(character for character in self.phone if character.isdigit())
            if len(digits) >= MIN_PHONE_DIGITS:
                found.append(digits)
        return sorted({needle for needle in found if len(needle) >= MIN_NEEDLE_LENGTH})


@dataclass(frozen=True)
class ScanResult:
    columns_searched: int
    # `table.column` names only: the values found are never copied anywhere.
    found: list[str]


def _text_columns(metadata: MetaData, skip: Collection[str]) -> Iterable[tuple[str, list[Column[Any]]]]:
    for table in metadata.sorted_tables:
        columns = [
            column
            for column in table.columns
            if isinstance(column.type, String | Text | JSON) and f"{table.name}.{column.name}" not in skip
        ]
        if columns:
            yield table.name, columns


def _text(column: Column[Any]) -> ColumnElement[Any]:
    return cast(column, Text) if isinstance(column.type, JSON) else column


def _matches(session: AsyncSession, column: Column[Any], needles: list[str]) -> ColumnElement[bool]:
    # SQLite's LIKE ignores ASCII case (as its lower() does); PostgreSQL needs ILIKE. Wildcards in
    # a needle (`_` in an address) are left unescaped: they can only widen the match, never miss.
    text = _text(column)
    sqlite = session.get_bind().dialect.name == "sqlite"
    return or_(*((text.like if sqlite else text.ilike)(f"%{needle}%") for needle in needles))


async def scan(
    session: AsyncSession, metadata: MetaData, traces: Traces, *, skip: Collection[str] = ()
) -> ScanResult:
    """Search every text column (except `skip`, as `table.column`) for the person, case-insensitively:
    one pass over each table, and a second, naming the columns, only where the first found one."""
    needles = traces.needles()
    searched, found = 0, list[str]()
    for table_name, columns in _text_columns(metadata, skip):
        table = metadata.tables[table_name]
        searched += len(columns)
        if not needles:
            continue
        matches = [_matches(session, column, needles) for column in columns]
        first = select(literal(1)).select_from(table).where(or_(*matches)).limit(1)
        if await session.scalar(first) is None:
            continue
        row = (
            await session.execute(
                select(*(func.max(case((match, 1), else_=0)) for match in matches)).select_from(table)
            )
        ).one()
        found.extend(f"{table_name}.{column.name}" for column, hit in zip(columns, row, strict=True) if hit)
    return ScanResult(searched, found)
