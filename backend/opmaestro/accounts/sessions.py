"""Browser sessions: opaque tokens stored hashed, idle and absolute timeouts; security events."""

from datetime import timedelta
from uuid import UUID

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opmaestro.accounts.exceptions import SessionNotFound
from opmaestro.accounts.models import SecurityEvent, User, UserSession
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.pagination import newest_first, page_of
from opmaestro.core.security import hash_token, new_token


async def start(
    session: AsyncSession,
    user: User,
    settings: Settings,
    *,
    ip: str | None,
    user_agent: str | None,
    mfa_verified: bool,
    reauthenticated: bool = False,
) -> tuple[UserSession, str]:
    """A new session and its token (the token is only ever in the cookie); `reauthenticated`
    when the caller has just checked the password, which counts as a recent re-authentication."""
    now = utcnow()
    token = new_token()
    user_session = UserSession(
        user_id=user.id,
        token_hash=hash_token(token),
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        ip_address=ip,
        user_agent=(user_agent or "")[:400] or None,
        mfa_verified=mfa_verified,
        reauthenticated_at=now if reauthenticated else None,
    )
    session.add(user_session)
    await session.flush()
    return user_session, token


async def revoke_token(session: AsyncSession, token: str) -> None:
    await session.execute(
        update(UserSession)
        .where(UserSession.token_hash == hash_token(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def revoke_all(session: AsyncSession, user_id: UUID) -> None:
    await session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def live(settings: Settings) -> list[ColumnElement[bool]]:
    """The conditions a session still meets while it works."""
    now = utcnow()
    return [
        UserSession.revoked_at.is_(None),
        UserSession.expires_at > now,
        UserSession.last_seen_at > now - timedelta(minutes=settings.session_idle_minutes),
    ]


async def list_live(
    session: AsyncSession, user: User, settings: Settings, *, cursor: str | None, limit: int
) -> tuple[list[UserSession], str | None]:
    query = select(UserSession).where(UserSession.user_id == user.id, *live(settings))
    rows = list(
        (
            await session.scalars(newest_first(query, UserSession.created_at, UserSession.id, cursor, limit))
        ).all()
    )
    return page_of(rows, limit)


async def revoke(session: AsyncSession, user: User, session_id: UUID) -> None:
    """Revoke one of the user's own sessions; another user's is reported as not found."""
    found = await session.scalar(
        select(UserSession).where(
            UserSession.id == session_id, UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
        )
    )
    if found is None:
        raise SessionNotFound("No such active session.")
    found.revoked_at = utcnow()
    await session.flush()


def event(
    session: AsyncSession, kind: str, *, user_id: UUID | None, ip: str | None, user_agent: str | None
) -> None:
    session.add(
        SecurityEvent(user_id=user_id, kind=kind, ip_address=ip, user_agent=(user_agent or "")[:400] or None)
    )


async def event_now(
    sessionmaker: async_sessionmaker[AsyncSession],
    kind: str,
    *,
    user_id: UUID | None,
    ip: str | None,
    user_agent: str | None,
) -> None:
    """Commit a security event on its own, because the request that caused it is rolled back."""
    async with sessionmaker() as own:
        event(own, kind, user_id=user_id, ip=ip, user_agent=user_agent)
        await own.commit()
