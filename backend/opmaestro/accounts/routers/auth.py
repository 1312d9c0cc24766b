"""Sign-up, email verification, sign-in and out, password reset, and the token scopes."""

from fastapi import APIRouter, Request, Response

from opmaestro.accounts import service as accounts
from opmaestro.accounts import signin
from opmaestro.accounts.deps import CLIENT_SCOPES, SCOPES, BrowserSessionUnenrolled, session_cookie_name
from opmaestro.accounts.exceptions import (
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    MfaRequired,
    PolicyVersionMismatch,
    TooManyAttempts,
)
from opmaestro.accounts.routers.shared import MailThrottleDep, clear_session_cookies, set_session_cookies
from opmaestro.accounts.schemas import (
    Accepted,
    EmailOnly,
    EmailVerification,
    LoginRequest,
    LoginResult,
    MeRead,
    PasswordReset,
    RegistrationAccepted,
    RegistrationCreate,
    ScopeRead,
)
from opmaestro.core.access import Public
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import RateLimiterDep, SessionmakerDep, SettingsDep
from opmaestro.core.errors import problem
from opmaestro.core.http import SIGNED_IN_ERRORS, ClientDep

auth_router = APIRouter(prefix="/auth", tags=["auth"])
scopes_router = APIRouter(prefix="/scopes", tags=["auth"])


@auth_router.post(
    "/register",
    summary="Create an account",
    status_code=202,
    response_model=RegistrationAccepted,
    dependencies=[Public],
    responses={409: problem(PolicyVersionMismatch), 429: problem(TooManyAttempts)},
)
async def register_account(
    body: RegistrationCreate,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    throttle_mail: MailThrottleDep,
) -> RegistrationAccepted:
    """Create an account (18+ only) and send a verification link; existing addresses get a notice instead."""
    await throttle_mail(body.email, bucket="sign-up")
    await accounts.register(
        session, body, settings, ip=client.ip, user_agent=client.user_agent, cookies=client.cookies
    )
    return RegistrationAccepted()


@auth_router.post(
    "/verify-email",
    summary="Verify an email address",
    response_model=MeRead,
    dependencies=[Public],
    responses={403: problem(InvalidToken), 409: problem(EmailTaken)},
)
async def verify_email(body: EmailVerification, session: SessionDep, settings: SettingsDep) -> MeRead:
    """Confirm an email address with the token from the emailed link."""
    return MeRead.model_validate(await accounts.verify_email(session, body.token, settings))


@auth_router.post(
    "/verify-email/resend",
    summary="Resend the verification link",
    status_code=202,
    response_model=Accepted,
    dependencies=[Public],
    responses={429: problem(TooManyAttempts)},
)
async def resend_verification(
    body: EmailOnly, session: SessionDep, settings: SettingsDep, throttle_mail: MailThrottleDep
) -> Accepted:
    """Send the verification link again, if the address belongs to an unverified account."""
    await throttle_mail(body.email, bucket="verification")
    await accounts.resend_verification(session, body.email, settings)
    return Accepted(detail="If the address needs verifying, a new link is on its way.")


@auth_router.post(
    "/login",
    summary="Sign in",
    response_model=LoginResult,
    dependencies=[Public],
    responses={401: problem(InvalidCredentials, MfaRequired), 429: problem(TooManyAttempts)},
)
async def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    client: ClientDep,
) -> LoginResult:
    """Sign in with email and password (and a two-factor code for staff); sets the session cookie."""
    user, user_session, token = await signin.login(
        session,
        sessionmaker,
        body,
        settings,
        limiter,
        client,
        request.cookies.get(session_cookie_name(settings)),
    )
    csrf = set_session_cookies(response, settings, token, user_session)
    return LoginResult(
        user=MeRead.model_validate(user), csrf_token=csrf, session_expires_at=user_session.expires_at
    )


@auth_router.post("/logout", summary="Sign out", status_code=204, responses=SIGNED_IN_ERRORS)
async def logout(
    principal: BrowserSessionUnenrolled, response: Response, session: SessionDep, settings: SettingsDep
) -> None:
    """End this browser session."""
    await signin.logout(session, principal.browser_session)
    clear_session_cookies(response, settings)


@auth_router.post(
    "/password/forgot",
    summary="Ask for a password-reset link",
    status_code=202,
    response_model=Accepted,
    dependencies=[Public],
    responses={429: problem(TooManyAttempts)},
)
async def forgot_password(
    body: EmailOnly, session: SessionDep, settings: SettingsDep, throttle_mail: MailThrottleDep
) -> Accepted:
    """Email a password-reset link (valid one hour) if the account exists; the answer is always the same."""
    await throttle_mail(body.email, bucket="password-reset")
    await signin.forgot_password(session, body.email, settings)
    return Accepted(detail="If an account uses this address, a reset link is on its way.")


@auth_router.post(
    "/password/reset",
    summary="Reset the password",
    status_code=204,
    dependencies=[Public],
    responses={403: problem(InvalidToken)},
)
async def reset_password(body: PasswordReset, session: SessionDep, settings: SettingsDep) -> None:
    """Set a new password with the emailed token; every session, API token and pending link ends."""
    await signin.reset_password(session, body.token, body.new_password, settings)


@scopes_router.get("", summary="List token scopes", response_model=list[ScopeRead], dependencies=[Public])
async def list_scopes() -> list[ScopeRead]:
    """The scopes a token or client can be granted."""
    return [
        ScopeRead(name=name, description=description, clients_only=name in CLIENT_SCOPES)
        for name, description in SCOPES.items()
    ]
