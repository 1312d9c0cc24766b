"""Two-factor authentication: TOTP (RFC 6238) with one-time recovery codes; required for staff,
optional for members."""

import secrets

import pyotp
from sqlalchemy import delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from opmaestro.accounts import revocation
from opmaestro.accounts import service as accounts
from opmaestro.accounts.deps import Principal
from opmaestro.accounts.exceptions import (
    InvalidOtp,
    MfaAlreadyEnabled,
    MfaNotEnabled,
    MfaNotStarted,
    MfaRequiredForStaff,
    WrongPassword,
)
from opmaestro.accounts.models import RecoveryCode, User
from opmaestro.accounts.password_checks import PasswordChecks
from opmaestro.audit import service as audit
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.security import equals, hash_token, verify_password
from opmaestro.notifications import service as notifications

ISSUER = "OpMaestro"
RECOVERY_CODE_COUNT = 10


async def start_enrollment(session: AsyncSession, principal: Principal) -> tuple[str, str]:
    """A fresh secret and its otpauth:// URI; two-factor is on only once a code confirms it."""
    user = principal.signed_in_user
    if user.mfa_enabled_at is not None:
        raise MfaAlreadyEnabled("Two-factor authentication is already on.")
    user.mfa_secret = pyotp.random_base32()
    await session.flush()
    return user.mfa_secret, pyotp.TOTP(user.mfa_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


async def confirm_enrollment(
    session: AsyncSession, settings: Settings, principal: Principal, code: str
) -> list[str]:
    """Turn two-factor on; sign out the account's other sessions and tell the owner by email."""
    user = principal.signed_in_user
    if user.mfa_enabled_at is not None:
        raise MfaAlreadyEnabled("Two-factor authentication is already on.")
    if user.mfa_secret is None:
        raise MfaNotStarted("Start the enrollment first.")
    if not await _accept_totp(session, user, code):
        raise InvalidOtp("That code is not correct; check the time on your device.")
    now = utcnow()
    user.mfa_enabled_at = now
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODE_COUNT)]
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.add_all(RecoveryCode(user_id=user.id, code_hash=hash_token(code)) for code in codes)
    if principal.session is not None:
        principal.session.mfa_verified = True
    await audit.record(
        session,
        actor=principal,
        action="account.mfa_enabled",
        subject_type="user",
        subject_id=user.id,
        fields=["mfa"],
    )
    # Sign-in now asks for a code; a session that got in with the password alone (perhaps
    # someone else's, which may be why the owner is turning this on) does not keep its access.
    signed_out = await revocation.sign_out_other_sessions(
        session,
        user.id,
        settings,
        current=principal.browser_session.id,
        actor=principal,
        reason="two-factor turned on",
    )
    await notifications.send_email(
        session,
        settings,
        user.email,
        "mfa_enabled",
        {
            "name": accounts.greeting_name(user),
            "when": f"{now:%Y-%m-%d %H:%M} UTC",
            "sessions_signed_out": len(signed_out),
        },
    )
    await session.flush()
    return codes


async def _accept_totp(session: AsyncSession, user: User, code: str) -> bool:
    """A code of the current time step or either neighbour (clock drift), newer than the last one used."""
    if not user.mfa_secret:
        return False
    totp = pyotp.TOTP(user.mfa_secret)
    current = totp.timecode(utcnow())
    for step in (current - 1, current, current + 1):
        if equals(totp.generate_otp(step), code) and await _claim_step(session, user, step):
            return True
    return False


async def _claim_step(session: AsyncSession, user: User, step: int) -> bool:
    """Record `step` as used unless it or a later one already was. One conditional UPDATE, so
    of two requests racing with the same code only one finds the row still older (the other
    waits for the row lock and then matches nothing)."""
    claimed = await session.execute(
        update(User)
        .where(User.id == user.id, or_(User.mfa_last_step.is_(None), User.mfa_last_step < step))
        .values(mfa_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return False
    set_committed_value(user, "mfa_last_step", step)
    return True


async def verify(session: AsyncSession, user: User, code: str) -> bool:
    """A current TOTP code, or an unused recovery code (which is then spent)."""
    code = code.strip()
    if code.isdigit() and await _accept_totp(session, user, code):
        return True
    # Spent by the same conditional UPDATE that finds it, so a code cannot be used twice at once.
    spent = await session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.used_at.is_(None),
            RecoveryCode.code_hash == hash_token(code.lower()),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return getattr(spent, "rowcount", 0) > 0


async def disable(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    password: str,
    code: str,
    checks: PasswordChecks,
) -> None:
    """Turn two-factor off (members only) after the password and a current or recovery code."""
    user = principal.signed_in_user
    if user.mfa_enabled_at is None:
        raise MfaNotEnabled("Two-factor authentication is not on.")
    if user.is_staff:
        raise MfaRequiredForStaff("Staff accounts must keep two-factor authentication on.")
    async with checks.guard(user):
        if not await verify_password(user.password_hash, password):
            raise WrongPassword("The password is not correct.")
        if not await verify(session, user, code):
            raise InvalidOtp("That code is not correct; use a code from your app or an unused recovery code.")
    user.mfa_enabled_at = None
    user.mfa_secret = None
    user.mfa_last_step = None
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    await audit.record(
        session,
        actor=principal,
        action="account.mfa_disabled",
        subject_type="user",
        subject_id=user.id,
        fields=["mfa"],
    )
    await notifications.send_email(
        session, settings, user.email, "mfa_disabled", {"name": accounts.greeting_name(user)}
    )
    await session.flush()
