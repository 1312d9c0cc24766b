"""What we hold about a person, by data-map category (GDPR Art. 15), read from the data map.

Nothing here names a table: a table added later with personal columns and subject keys shows
up in the summary, its counts and the export the day it lands.
"""

from collections import defaultdict
from uuid import UUID

from sqlalchemy import MetaData, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.core.clock import utcnow
from opmaestro.core.datamap import Category, PersonalColumn, personal_columns
from opmaestro.core.db import Base
from opmaestro.dsar import catalog, ownership
from opmaestro.dsar.access_schemas import CategoryRead, ColumnRead, DataSummaryRead, HoldRead
from opmaestro.dsar.models import LegalHold


def columns_by_category(metadata: MetaData) -> dict[Category, list[PersonalColumn]]:
    """The data map's personal columns, grouped by category in the order categories are declared."""
    grouped: dict[Category, list[PersonalColumn]] = defaultdict(list)
    for column in personal_columns(metadata):
        grouped[column.category].append(column)
    return {category: grouped[category] for category in Category if grouped[category]}


async def count_rows(
    session: AsyncSession, tables: list[Table], user_id: UUID, email: str | None = None
) -> dict[str, int]:
    """The person's rows in each table, in one round trip (with their unowned mail, given `email`)."""
    if not tables:
        return {}
    counts = [
        select(func.count())
        .select_from(table)
        .where(ownership.rows_of(table, user_id, email))
        .scalar_subquery()
        .label(table.name)
        for table in tables
    ]
    row = (await session.execute(select(*counts))).one()
    return {table.name: int(row[index]) for index, table in enumerate(tables)}


async def summary(
    session: AsyncSession, user_id: UUID, metadata: MetaData = Base.metadata
) -> DataSummaryRead:
    """Every category we hold about the person: why, on which basis, who receives it, how long, how many."""
    grouped = columns_by_category(metadata)
    tables = sorted({column.table for columns in grouped.values() for column in columns})
    email = await ownership.email_of(session, user_id)
    counts = await count_rows(session, [metadata.tables[name] for name in tables], user_id, email)
    everything = [column for columns in grouped.values() for column in columns]
    categories = []
    for category, columns in grouped.items():
        facts = catalog.facts_of(category)
        categories.append(
            CategoryRead(
                category=category.value,
                label=facts.label,
                purpose=facts.purpose,
                legal_basis=facts.legal_basis,
                recipients=[recipient.describe() for recipient in facts.recipients],
                retention=catalog.retention(category, everything),
                source=", ".join(source.value for source in facts.sources),
                record_count=sum(counts[table] for table in sorted({column.table for column in columns})),
                columns=[
                    ColumnRead(table=c.table, column=c.column, erasure=c.erasure.describe()) for c in columns
                ],
            )
        )
    holds = await session.scalars(
        select(LegalHold)
        .where(LegalHold.user_id == user_id, LegalHold.released_at.is_(None))
        .order_by(LegalHold.created_at)
    )
    return DataSummaryRead(
        generated_at=utcnow(),
        categories=categories,
        legal_holds=[HoldRead(category=h.category, reason=h.reason, since=h.created_at) for h in holds],
    )
