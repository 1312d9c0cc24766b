"""Current policy versions and the record of their acceptance."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.core.clock import utcnow
from opmaestro.policies.models import PolicyAcceptance, PolicyKind, PolicyVersion


async def current_version(session: AsyncSession, kind: PolicyKind) -> PolicyVersion | None:
    """The newest version already in effect."""
    return await session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.kind == kind, PolicyVersion.effective_at <= utcnow())
        .order_by(PolicyVersion.effective_at.desc())
        .limit(1)
    )


async def current_versions(session: AsyncSession) -> dict[PolicyKind, PolicyVersion]:
    found = {}
    for kind in PolicyKind:
        version = await current_version(session, kind)
        if version is not None:
            found[kind] = version
    return found


def record_acceptance(session: AsyncSession, user_id: object, version: PolicyVersion, method: str) -> None:
    session.add(
        PolicyAcceptance(
            user_id=user_id, kind=version.kind, version=version.version, accepted_at=utcnow(), method=method
        )
    )
