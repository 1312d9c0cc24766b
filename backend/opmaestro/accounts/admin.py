"""Staff administration of users: search, roles, disabling."""

from uuid import UUID

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import service as accounts
from opmaestro.accounts import sessions
from opmaestro.accounts.deps import Principal
from opmaestro.accounts.exceptions import AccountErased, LastAdmin, UserNotFound
from opmaestro.accounts.models import Role, User, UserStatus
from opmaestro.accounts.schemas import AdminUserUpdate
from opmaestro.audit import service as audit
from opmaestro.core.pagination import newest_first, page_of


async def search_users(
    session: AsyncSession,
    principal: Principal,
    *,
    query: str | None,
    role: Role | None,
    status: UserStatus | None,
    reason: str,
    cursor: str | None,
    limit: int,
) -> tuple[list[User], str | None]:
    """Search by email, name or company; every staff read is audited with its reason."""
    statement = select(User)
    if query:
        pattern = f"%{query.lower().replace('%', '').replace('_', '')}%"
        statement = statement.where(
            or_(
                func.lower(User.email).like(pattern),
                func.lower(User.name).like(pattern),
                func.lower(User.company).like(pattern),
            )
        )
    if role:
        statement = statement.where(User.role == role)
    if status:
        statement = statement.where(User.status == status)
    rows = list(
        (await session.scalars(newest_first(statement, User.created_at, User.id, cursor, limit))).all()
    )
    users, next_cursor = page_of(rows, limit)
    await audit.record(
        session,
        actor=principal,
        action="admin.users.searched",
        subject_type="user",
        subject_id=None,
        fields=[f for f, v in (("query", query), ("role", role), ("status", status)) if v],
        reason=reason,
    )
    return users, next_cursor


async def update_user(
    session: AsyncSession, principal: Principal, user_id: UUID, body: AdminUserUpdate
) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound("No such user.")
    if user.status == UserStatus.ERASED:
        raise AccountErased("This account's data was erased; it can no longer be changed.")
    changed = []
    removing_admin = (
        user.role == Role.ADMIN
        and user.status == UserStatus.ACTIVE
        and ((body.role is not None and body.role != Role.ADMIN) or body.disabled)
    )
    if removing_admin and await accounts.count_admins(session) <= 1:
        raise LastAdmin("This is the last active administrator; appoint another first.")
    if body.role is not None and body.role != user.role:
        user.role = body.role
        changed.append("role")
    if body.disabled is not None and body.disabled != (user.status == UserStatus.DISABLED):
        if body.disabled:
            user.status = UserStatus.DISABLED
            await sessions.revoke_all(session, user.id)
            await accounts.expire_pending_links(session, user.id)
        elif user.status == UserStatus.DISABLED:
            user.status = UserStatus.ACTIVE
        changed.append("status")
    if changed:
        await audit.record(
            session,
            actor=principal,
            action="admin.user_updated",
            subject_type="user",
            subject_id=user.id,
            fields=changed,
            reason=body.reason,
        )
    await session.flush()
    return user
