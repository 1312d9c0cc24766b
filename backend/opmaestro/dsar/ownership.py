"""Which rows are one person's: the data map's subject keys, plus the mail sent to their address
before it carried their id. Access counts, the export and erasure all go by this one definition.
"""

from uuid import UUID

from sqlalchemy import ColumnElement, Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.models import User
from opmaestro.core import datamap
from opmaestro.notifications.models import OutboxMessage


def unowned_mail(email: str) -> ColumnElement[bool]:
    """Outbox rows written to `email` without a user id (sign-up confirmation, request verification)."""
    return (OutboxMessage.user_id.is_(None)) & (func.lower(OutboxMessage.to_address) == email.lower())


def rows_of(table: Table, user_id: UUID, email: str | None) -> ColumnElement[bool]:
    """The person's rows of `table`, including their unowned mail when `email` is given."""
    mine = datamap.rows_of(table, user_id)
    if email and table is OutboxMessage.__table__:
        return or_(mine, unowned_mail(email))
    return mine


async def email_of(session: AsyncSession, user_id: UUID) -> str | None:
    """The account's current address (None once erased or when there is no account)."""
    return await session.scalar(select(User.email).where(User.id == user_id))


async def adopt_unowned_mail(session: AsyncSession, user_id: UUID, email: str | None = None) -> None:
    """Give the person's unowned mail their id, so every later read by subject key finds it."""
    address = email if email is not None else await email_of(session, user_id)
    if not address:
        return
    await session.execute(
        update(OutboxMessage)
        .where(unowned_mail(address))
        .values(user_id=user_id)
        .execution_options(synchronize_session=False)
    )
