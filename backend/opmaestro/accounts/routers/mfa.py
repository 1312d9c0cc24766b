"""Two-factor authentication: set it up, turn it on or off."""

from fastapi import APIRouter

from opmaestro.accounts import mfa, reauthentication
from opmaestro.accounts.deps import BrowserSessionUnenrolled
from opmaestro.accounts.exceptions import (
    InvalidOtp,
    MfaAlreadyEnabled,
    MfaNotEnabled,
    MfaNotStarted,
    MfaRequiredForStaff,
    ReauthenticationRequired,
    TooManyAttempts,
    WrongPassword,
)
from opmaestro.accounts.routers.shared import PasswordChecksDep
from opmaestro.accounts.schemas import MfaConfirmation, MfaDisable, MfaEnrollment, RecoveryCodes
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import SettingsDep
from opmaestro.core.errors import problem
from opmaestro.core.http import SIGNED_IN_ERRORS

router = APIRouter(prefix="/me", tags=["me"], responses=SIGNED_IN_ERRORS)


@router.post(
    "/mfa/totp",
    summary="Start two-factor setup",
    response_model=MfaEnrollment,
    responses={403: problem(ReauthenticationRequired), 409: problem(MfaAlreadyEnabled)},
)
async def start_mfa_enrollment(
    principal: BrowserSessionUnenrolled, session: SessionDep, settings: SettingsDep
) -> MfaEnrollment:
    """Begin two-factor setup: a secret and an otpauth URI for an authenticator app. Needs the
    password entered in this browser recently (signing in counts), like every step below."""
    reauthentication.require_recent_reauthentication(principal, settings)
    secret, uri = await mfa.start_enrollment(session, principal)
    return MfaEnrollment(secret=secret, otpauth_uri=uri)


@router.post(
    "/mfa/totp/confirm",
    summary="Turn two-factor on",
    response_model=RecoveryCodes,
    responses={
        400: problem(InvalidOtp),
        403: problem(ReauthenticationRequired),
        409: problem(MfaAlreadyEnabled, MfaNotStarted),
    },
)
async def confirm_mfa_enrollment(
    body: MfaConfirmation, principal: BrowserSessionUnenrolled, session: SessionDep, settings: SettingsDep
) -> RecoveryCodes:
    """Turn two-factor on with a first code; returns one-time recovery codes, shown once. The
    account's other sessions are signed out and the owner is told by email."""
    # A browser left signed in must not be able to lock its owner out with a second factor.
    reauthentication.require_recent_reauthentication(principal, settings)
    return RecoveryCodes(recovery_codes=await mfa.confirm_enrollment(session, settings, principal, body.code))


@router.delete(
    "/mfa/totp",
    summary="Turn two-factor off",
    status_code=204,
    responses={
        400: problem(InvalidOtp),
        403: problem(WrongPassword),
        409: problem(MfaNotEnabled, MfaRequiredForStaff),
        429: problem(TooManyAttempts),
    },
)
async def disable_mfa(
    body: MfaDisable,
    principal: BrowserSessionUnenrolled,
    session: SessionDep,
    settings: SettingsDep,
    checks: PasswordChecksDep,
) -> None:
    """Turn two-factor off (members; staff must keep it) with the password and a code."""
    await mfa.disable(session, settings, principal, body.password, body.code, checks)
