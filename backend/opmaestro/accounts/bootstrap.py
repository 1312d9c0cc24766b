"""Creating administrators from the command line."""

import secrets

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import revocation
from opmaestro.accounts import service as accounts
from opmaestro.accounts.models import RecoveryCode, Role, User, UserStatus
from opmaestro.audit import service as audit
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.security import hash_password, password_problem

DEMO_ADMIN_EMAIL = "admin@opmaestro.example"


class UnverifiedAccount(ValueError):
    """The address belongs to an account nobody has proven to own."""


async def create_admin(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    password: str,
    country: str,
    settings: Settings,
    force: bool = False,
) -> User:
    """Create a verified administrator, or promote the account that has this address: it starts
    afresh, with no session, token, pending link or two-factor secret left from before."""
    if problem := password_problem(password):
        raise ValueError(problem)
    email = accounts.normalize_email(email)
    user = await accounts.get_by_email(session, email)
    now = utcnow()
    fields = ["role"]
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
        if user.email_verified_at is None and not force:
            # Anyone can register an address they do not own; promoting that account would hand
            # its signed-in holder the administrator role.
            raise UnverifiedAccount(
                f"{email} belongs to an account whose address was never verified, so it may not be "
                "yours; verify it first, or run again with --force to take it over"
            )
        fields += ["status", "password", "mfa"]
        if user.email_verified_at is None:
            user.email_verified_at = now
            fields.append("email_verified_at")
        user.role, user.status = Role.ADMIN, UserStatus.ACTIVE
        user.password_hash, user.password_changed_at = await hash_password(password), now
        user.mfa_secret, user.mfa_enabled_at, user.mfa_last_step = None, None, None
        await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        await revocation.revoke_access(
            session, user.id, settings, actor=None, reason="promoted to administrator from the command line"
        )
    await audit.record(
        session,
        actor=None,
        action="admin.bootstrapped",
        subject_type="user",
        subject_id=user.id,
        fields=fields,
    )
    await session.flush()
    return user


async def ensure_demo_admin(session: AsyncSession, settings: Settings) -> str | None:
    """In development, an administrator to sign in with; returns its new password, or None if one exists."""
    if await session.scalar(select(User.id).where(User.role == Role.ADMIN).limit(1)) is not None:
        return None
    password = secrets.token_urlsafe(12)
    await create_admin(
        session,
        email=DEMO_ADMIN_EMAIL,
        name="Demo Administrator",
        password=password,
        country="US",
        settings=settings,
    )
    return password
