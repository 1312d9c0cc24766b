"""Your profile: read and update it, change email or password, close the account."""

from fastapi import APIRouter, Response

from opmaestro.accounts import service as accounts
from opmaestro.accounts import sessions
from opmaestro.accounts.deps import (
    BrowserSession,
    BrowserSessionUnenrolled,
    ProfileReaderUnenrolled,
    ProfileWriter,
)
from opmaestro.accounts.exceptions import TooManyAttempts, WrongPassword
from opmaestro.accounts.routers.shared import (
    MailThrottleDep,
    PasswordChecksDep,
    clear_session_cookies,
    set_session_cookies,
)
from opmaestro.accounts.schemas import (
    Accepted,
    AccountClosed,
    EmailChange,
    LoginResult,
    MeRead,
    PasswordChange,
    PasswordConfirmation,
    ProfileUpdate,
)
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import SettingsDep
from opmaestro.core.errors import problem
from opmaestro.core.http import SIGNED_IN_ERRORS, ClientDep

router = APIRouter(prefix="/me", tags=["me"], responses=SIGNED_IN_ERRORS)


@router.get("", summary="Read your profile", response_model=MeRead)
async def get_me(principal: ProfileReaderUnenrolled) -> MeRead:
    """The signed-in user's profile (tokens need `profile:read`)."""
    return MeRead.model_validate(principal.signed_in_user)


@router.patch("", summary="Update your profile", response_model=MeRead)
async def update_me(body: ProfileUpdate, principal: ProfileWriter, session: SessionDep) -> MeRead:
    """Change name, professional affiliation, phone or country (tokens need `profile:write`)."""
    return MeRead.model_validate(await accounts.update_profile(session, principal, body))


@router.post(
    "/email",
    summary="Change your email address",
    status_code=202,
    response_model=Accepted,
    responses={403: problem(WrongPassword), 429: problem(TooManyAttempts)},
)
async def change_email(
    body: EmailChange,
    principal: BrowserSession,
    session: SessionDep,
    settings: SettingsDep,
    checks: PasswordChecksDep,
    throttle_mail: MailThrottleDep,
) -> Accepted:
    """Start an email change: the new address confirms it, the current one is told."""
    await throttle_mail(body.new_email, bucket="email-change")
    await accounts.request_email_change(session, principal, body, settings, checks)
    return Accepted(detail="Confirm the change from the link sent to the new address.")


@router.post(
    "/password",
    summary="Change your password",
    response_model=LoginResult,
    responses={403: problem(WrongPassword), 429: problem(TooManyAttempts)},
)
async def change_password(
    body: PasswordChange,
    principal: BrowserSessionUnenrolled,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    checks: PasswordChecksDep,
    client: ClientDep,
) -> LoginResult:
    """Change the password: every session and pending link ends (this browser gets a new
    session), and every API token not listed in `keep_token_ids` is revoked."""
    user = principal.signed_in_user
    await accounts.change_password(session, principal, body, settings, checks)
    user_session, token = await sessions.start(
        session,
        user,
        settings,
        ip=client.ip,
        user_agent=client.user_agent,
        mfa_verified=principal.session is not None and principal.session.mfa_verified,
        reauthenticated=True,
    )
    csrf = set_session_cookies(response, settings, token, user_session)
    return LoginResult(
        user=MeRead.model_validate(user), csrf_token=csrf, session_expires_at=user_session.expires_at
    )


@router.delete(
    "",
    summary="Close your account",
    response_model=AccountClosed,
    status_code=202,
    responses={403: problem(WrongPassword), 429: problem(TooManyAttempts)},
)
async def close_account(
    body: PasswordConfirmation,
    principal: BrowserSessionUnenrolled,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    checks: PasswordChecksDep,
) -> AccountClosed:
    """Close the account: signed out everywhere, tokens revoked, data deleted after the grace period."""
    user = await accounts.close_account(session, principal, body.password, settings, checks)
    clear_session_cookies(response, settings)
    if user.deletion_due_at is None:
        raise RuntimeError("a closed account always has a deletion date")
    return AccountClosed(
        deletion_due_at=user.deletion_due_at, detail="Signing in again before this date reopens the account."
    )
