"""Legal holds: staff keep one category of one person's data through erasure, for a stated reason."""

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.deps import Principal
from opmaestro.accounts.models import User
from opmaestro.audit import service as audit
from opmaestro.core.clock import utcnow
from opmaestro.core.datamap import Category
from opmaestro.core.errors import Conflict, NotFound
from opmaestro.core.pagination import newest_first, page_of
from opmaestro.dsar.models import LegalHold


class HoldUserNotFound(NotFound):
    slug, title = "user-not-found", "User not found"


class HoldNotFound(NotFound):
    slug, title = "legal-hold-not-found", "Legal hold not found"


class HoldAlreadyPlaced(Conflict):
    slug, title = "legal-hold-exists", "Category already held"


class HoldAlreadyReleased(Conflict):
    slug, title = "legal-hold-released", "Legal hold already released"


async def _user(session: AsyncSession, user_id: UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise HoldUserNotFound("No such user.")
    return user


async def place(
    session: AsyncSession, principal: Principal, user_id: UUID, category: Category, reason: str
) -> LegalHold:
    """Hold one category of one person's data; erasure leaves it until the hold is released."""
    await _user(session, user_id)
    if category in await held_categories(session, user_id):
        raise HoldAlreadyPlaced(f"The {category} data of this user is already held; release that hold first.")
    hold = LegalHold(user_id=user_id, category=category, reason=reason, created_by=principal.audit_actor[0])
    session.add(hold)
    await session.flush()
    await audit.record(
        session,
        actor=principal,
        action="legal_hold.placed",
        subject_type="user",
        subject_id=user_id,
        fields=[f"category:{category}"],
        reason=reason,
    )
    return hold


async def list_for_user(
    session: AsyncSession, principal: Principal, user_id: UUID, *, reason: str, cursor: str | None, limit: int
) -> tuple[list[LegalHold], str | None]:
    """A person's holds, current and released, newest first; the staff read is audited."""
    await _user(session, user_id)
    statement = select(LegalHold).where(LegalHold.user_id == user_id)
    rows = list(
        (
            await session.scalars(newest_first(statement, LegalHold.created_at, LegalHold.id, cursor, limit))
        ).all()
    )
    await audit.record(
        session,
        actor=principal,
        action="legal_hold.listed",
        subject_type="user",
        subject_id=user_id,
        reason=reason,
    )
    return page_of(rows, limit)


async def release(session: AsyncSession, principal: Principal, hold_id: UUID, reason: str) -> LegalHold:
    """End a hold; the category is erased by the person's next erasure (see `erasure.release_hold`)."""
    hold = await session.get(LegalHold, hold_id)
    if hold is None:
        raise HoldNotFound("No such legal hold.")
    if hold.released_at is not None:
        raise HoldAlreadyReleased("This hold was already released.")
    hold.released_at = utcnow()
    hold.released_by = principal.audit_actor[0]
    await session.flush()
    await audit.record(
        session,
        actor=principal,
        action="legal_hold.released",
        subject_type="user",
        subject_id=hold.user_id,
        fields=[f"category:{hold.category}"],
        reason=reason,
    )
    return hold


async def current_holds(session: AsyncSession, user_id: UUID) -> list[LegalHold]:
    """The person's holds not yet released, oldest first (the access report shows each with its date)."""
    return list(
        (
            await session.scalars(
                select(LegalHold)
                .where(LegalHold.user_id == user_id, LegalHold.released_at.is_(None))
                .order_by(LegalHold.created_at)
            )
        ).all()
    )


async def held_categories(session: AsyncSession, user_id: UUID) -> dict[Category, str]:
    """The categories under a current hold, each with its reason (erasure and the access report)."""
    return {Category(hold.category): hold.reason for hold in await current_holds(session, user_id)}
