"""Ending what a replaced credential could reach: sessions, personal access tokens, emailed links."""

from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import sessions
from opmaestro.accounts.deps import Principal
from opmaestro.accounts.models import AccountToken, PersonalAccessToken, UserSession
from opmaestro.audit import service as audit
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings


@dataclass(frozen=True)
class Revoked:
    """What one revocation ended, for the owner's notice and the audit log."""

    session_ids: list[UUID]
    token_names: list[str]
    link_ids: list[UUID]

    def other_sessions(self, current: UUID | None) -> int:
        return sum(1 for session_id in self.session_ids if session_id != current)


async def sign_out_other_sessions(
    session: AsyncSession,
    user_id: UUID,
    settings: Settings,
    *,
    current: UUID,
    actor: Principal | None,
    reason: str,
) -> list[UUID]:
    """Revoke the user's live sessions except `current`, with one audit record for each."""
    ended = (
        await session.execute(
            update(UserSession)
            .where(UserSession.user_id == user_id, UserSession.id != current, *sessions.live(settings))
            .values(revoked_at=utcnow())
            .returning(UserSession.id)
            .execution_options(synchronize_session=False)
        )
    ).all()
    if ended:
        await session.execute(
            audit.INSERT,
            [
                audit.entry(
                    actor=actor,
                    action="session.revoked",
                    subject_type="user_session",
                    subject_id=row.id,
                    reason=reason,
                )
                for row in ended
            ],
        )
    return [row.id for row in ended]


async def revoke_access(
    session: AsyncSession,
    user_id: UUID,
    settings: Settings,
    *,
    actor: Principal | None,
    reason: str,
    keep_token_ids: Collection[UUID] = (),
) -> Revoked:
    """Revoke the user's live sessions and tokens (except those kept) and spend their pending
    links, with one audit record per thing revoked."""
    # Pending changes first (the link being used right now, say), so it is not counted as cancelled.
    await session.flush()
    now = utcnow()
    kept = [PersonalAccessToken.id.not_in(list(keep_token_ids))] if keep_token_ids else []
    ended_sessions = (
        await session.execute(
            update(UserSession)
            .where(UserSession.user_id == user_id, *sessions.live(settings))
            .values(revoked_at=now)
            .returning(UserSession.id)
            .execution_options(synchronize_session=False)
        )
    ).all()
    ended_tokens = (
        await session.execute(
            update(PersonalAccessToken)
            .where(
                PersonalAccessToken.user_id == user_id,
                PersonalAccessToken.revoked_at.is_(None),
                PersonalAccessToken.expires_at > now,
                *kept,
            )
            .values(revoked_at=now)
            .returning(PersonalAccessToken.id, PersonalAccessToken.name)
            .execution_options(synchronize_session=False)
        )
    ).all()
    ended_links = (
        await session.execute(
            update(AccountToken)
            .where(
                AccountToken.user_id == user_id,
                AccountToken.used_at.is_(None),
                AccountToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(AccountToken.id)
            .execution_options(synchronize_session=False)
        )
    ).all()
    records = [
        *(("session.revoked", "user_session", row.id) for row in ended_sessions),
        *(("token.revoked", "personal_access_token", row.id) for row in ended_tokens),
        *(("account_token.cancelled", "account_token", row.id) for row in ended_links),
    ]
    if records:
        await session.execute(
            audit.INSERT,
            [
                audit.entry(
                    actor=actor, action=action, subject_type=kind, subject_id=subject_id, reason=reason
                )
                for action, kind, subject_id in records
            ],
        )
    return Revoked(
        session_ids=[row.id for row in ended_sessions],
        token_names=sorted(row.name for row in ended_tokens),
        link_ids=[row.id for row in ended_links],
    )
