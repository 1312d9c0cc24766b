"""Current policy versions and the record of their acceptance."""

from typing import Any

from sqlalchemy import ScalarSelect, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from opmaestro.core.clock import utcnow
from opmaestro.policies.models import PolicyAcceptance, PolicyKind, PolicyVersion


def _in_effect(selected: Select[Any], kind: PolicyKind, now: Any) -> Select[Any]:
    return (
        selected.where(PolicyVersion.kind == kind, PolicyVersion.effective_at <= now)
        .order_by(PolicyVersion.effective_at.desc())
        .limit(1)
    )


async def current_version(session: AsyncSession, kind: PolicyKind) -> PolicyVersion | None:
    """The newest version already in effect."""
    version: PolicyVersion | None = await session.scalar(_in_effect(select(PolicyVersion), kind, utcnow()))
    return version


def current_version_column(kind: PolicyKind, column: InstrumentedAttribute[Any]) -> ScalarSelect[Any]:
    """One column of the newest version in effect at the bound parameter `now`, as a subquery."""
    return _in_effect(select(column), kind, bindparam("now")).scalar_subquery()


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
