"""The verification scan after an erasure: is the person's email, phone or name still anywhere?

Every text and JSON column of every table is searched, not only the classified-personal ones, so
a feature that copied an address into a free-text column is caught too.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import JSON, Column, MetaData, String, Text, case, cast, func, or_, select
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


def _text_columns(metadata: MetaData, skip: Collection[str]) -> Iterable[tuple[str, list[Column[object]]]]:
    for table in metadata.sorted_tables:
        columns = [
            column
            for column in table.columns
            if isinstance(column.type, String | Text | JSON) and f"{table.name}.{column.name}" not in skip
        ]
        if columns:
            yield table.name, columns


async def scan(
    session: AsyncSession, metadata: MetaData, traces: Traces, *, skip: Collection[str] = ()
) -> ScanResult:
    """Search every text column (except `skip`, as `table.column`) for the person, case-insensitively;
    one full pass over each table."""
    needles = traces.needles()
    searched, found = 0, list[str]()
    for table_name, columns in _text_columns(metadata, skip):
        searched += len(columns)
        if not needles:
            continue
        texts = [
            func.lower(cast(column, Text) if isinstance(column.type, JSON) else column) for column in columns
        ]
        hits = [
            func.max(case((or_(*(text.contains(needle, autoescape=True) for needle in needles)), 1), else_=0))
            for text in texts
        ]
        row = (await session.execute(select(*hits).select_from(metadata.tables[table_name]))).one()
        found.extend(f"{table_name}.{column.name}" for column, hit in zip(columns, row, strict=True) if hit)
    return ScanResult(searched, found)
