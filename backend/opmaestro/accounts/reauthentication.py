"""Re-authentication: the password (or a two-factor code) entered again before a sensitive action,
so that a browser left signed in cannot be used to, say, export or erase someone's data."""

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import mfa
from opmaestro.accounts.deps import Principal
from opmaestro.accounts.exceptions import InvalidOtp, ReauthenticationRequired, WrongPassword
from opmaestro.accounts.password_checks import PasswordChecks
from opmaestro.audit import service as audit
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.security import verify_password


async def reauthenticate(
    session: AsyncSession,
    principal: Principal,
    checks: PasswordChecks,
    *,
    password: str | None,
    code: str | None,
) -> None:
    """Check the password or code (wrong ones count against the user's limit) and stamp the session."""
    user = principal.signed_in_user
    user_session = principal.browser_session
    async with checks.guard(user):
        if password is not None:
            if not await verify_password(user.password_hash, password):
                raise WrongPassword("The password is not correct.")
        elif user.mfa_enabled_at is None:
            raise InvalidOtp("Two-factor authentication is not on; enter your password.")
        elif code is None or not await mfa.verify(session, user, code):
            raise InvalidOtp("That code is not correct; use a code from your app or an unused recovery code.")
    user_session.reauthenticated_at = utcnow()
    await audit.record(
        session,
        actor=principal,
        action="account.reauthenticated",
        subject_type="user",
        subject_id=user.id,
        fields=["password" if password is not None else "mfa"],
    )
    await session.flush()


def require_recent_reauthentication(principal: Principal, settings: Settings) -> None:
    """Refuse (403, `reauthentication-required`) unless the password or a code was entered in
    this browser session within `OPMAESTRO_REAUTHENTICATION_MINUTES`."""
    entered = principal.browser_session.reauthenticated_at
    limit = timedelta(minutes=settings.reauthentication_minutes)
    if entered is None or utcnow() - entered > limit:
        raise ReauthenticationRequired(
            f"Enter your password (or a two-factor code) again; it was not entered in the last "
            f"{settings.reauthentication_minutes} minutes.",
            extra={"reauthenticate": "/api/v1/me/reauthenticate"},
        )
