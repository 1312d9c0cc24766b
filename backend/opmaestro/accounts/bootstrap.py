"""Creating administrators from the command line."""

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import service as accounts
from opmaestro.accounts.models import Role, User, UserStatus
from opmaestro.audit import service as audit
from opmaestro.core.clock import utcnow
from opmaestro.core.security import hash_password, password_problem

DEMO_ADMIN_EMAIL = "admin@opmaestro.localhost"


async def create_admin(session: AsyncSession, *, email: str, name: str, password: str, country: str) -> User:
    """Create a verified administrator, or promote the account that has this address."""
    if problem := password_problem(password):
        raise ValueError(problem)
    email = accounts.normalize_email(email)
    user = await accounts.get_by_email(session, email)
    now = utcnow()
    if user is None:
        user = User(
            email=email,
            name=name,
            country=country.upper(),
            age_attested_at=now,
            email_verified_at=now,
            password_hash=await hash_password(password),
            password_changed_at=now,
            role=Role.ADMIN,
        )
        session.add(user)
        await session.flush()
    else:
        user.role, user.status = Role.ADMIN, UserStatus.ACTIVE
        user.password_hash, user.password_changed_at = await hash_password(password), now
    await audit.record(
        session,
        actor=None,
        action="admin.bootstrapped",
        subject_type="user",
        subject_id=user.id,
        fields=["role"],
    )
    await session.flush()
    return user


async def ensure_demo_admin(session: AsyncSession) -> str | None:
    """In development, an administrator to sign in with; returns its new password, or None if one exists."""
    if await session.scalar(select(User.id).where(User.role == Role.ADMIN).limit(1)) is not None:
        return None
    password = secrets.token_urlsafe(12)
    await create_admin(
        session, email=DEMO_ADMIN_EMAIL, name="Demo Administrator", password=password, country="US"
    )
    return password
