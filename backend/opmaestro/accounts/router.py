import base64
import binascii
from typing import Annotated
from urllib.parse import unquote_plus
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request, Response

from opmaestro.accounts import admin, mfa, sessions, signin, tokens
from opmaestro.accounts import service as accounts
from opmaestro.accounts.deps import (
    SCOPES,
    Administrator,
    BrowserSession,
    BrowserSessionUnenrolled,
    ProfileReaderUnenrolled,
    ProfileWriter,
    UserAdministrator,
    UserDirectoryReader,
    VerifiedBrowserSession,
    csrf_cookie_name,
    session_cookie_name,
)
from opmaestro.accounts.exceptions import (
    ClientNotFound,
    EmailTaken,
    InvalidClient,
    InvalidCredentials,
    InvalidOtp,
    InvalidScope,
    InvalidToken,
    LastAdmin,
    MfaAlreadyEnabled,
    MfaNotEnabled,
    MfaNotStarted,
    MfaRequired,
    MfaRequiredForStaff,
    PolicyVersionMismatch,
    ScopeNotAllowed,
    SessionNotFound,
    TokenNotFound,
    TooManyAttempts,
    UnsupportedGrant,
    UserNotFound,
    WrongPassword,
)
from opmaestro.accounts.models import Role, UserSession, UserStatus
from opmaestro.accounts.password_checks import PasswordChecks
from opmaestro.accounts.schemas import (
    Accepted,
    AccountClosed,
    AdminUserRead,
    AdminUserUpdate,
    EmailChange,
    EmailOnly,
    EmailVerification,
    LoginRequest,
    LoginResult,
    MeRead,
    MfaConfirmation,
    MfaDisable,
    MfaEnrollment,
    OAuthClientCreate,
    OAuthClientCreated,
    OAuthClientRead,
    OAuthToken,
    PasswordChange,
    PasswordConfirmation,
    PasswordReset,
    ProfileUpdate,
    RecoveryCodes,
    RegistrationAccepted,
    RegistrationCreate,
    ScopeRead,
    SessionBase,
    SessionRead,
    TokenCreate,
    TokenCreated,
    TokenRead,
)
from opmaestro.core.access import Public
from opmaestro.core.config import Settings
from opmaestro.core.db import SessionDep
from opmaestro.core.errors import problem
from opmaestro.core.http import SIGNED_IN_ERRORS, Cursor, Limit, app_settings, request_client
from opmaestro.core.pagination import DEFAULT_LIMIT, InvalidCursor, Page
from opmaestro.core.security import csrf_token

auth_router = APIRouter(prefix="/auth", tags=["auth"])
me_router = APIRouter(prefix="/me", tags=["me"], responses=SIGNED_IN_ERRORS)
admin_router = APIRouter(prefix="/admin", tags=["admin"], responses=SIGNED_IN_ERRORS)
oauth_router = APIRouter(prefix="/oauth", tags=["oauth"])
scopes_router = APIRouter(prefix="/scopes", tags=["auth"])


def _set_session_cookies(
    response: Response, settings: Settings, token: str, user_session: UserSession
) -> str:
    secure = settings.public_base_url.startswith("https://")
    max_age = settings.session_absolute_hours * 3600
    csrf = csrf_token(settings.secret_key.get_secret_value(), user_session.id)
    response.set_cookie(
        session_cookie_name(settings),
        token,
        max_age=max_age,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
    )
    response.set_cookie(
        csrf_cookie_name(settings),
        csrf,
        max_age=max_age,
        httponly=False,
        secure=secure,
        samesite="lax",
        path="/",
    )
    return csrf


def _clear_session_cookies(response: Response, settings: Settings) -> None:
    for name in (session_cookie_name(settings), csrf_cookie_name(settings)):
        response.delete_cookie(name, path="/", secure=settings.public_base_url.startswith("https://"))


def _password_checks(request: Request) -> PasswordChecks:
    return PasswordChecks(request.app.state.rate_limiter, app_settings(request))


async def _throttle_mail_request(request: Request, email: str) -> None:
    limiter = request.app.state.rate_limiter
    await signin.throttle_mail_request(limiter, app_settings(request), email, request_client(request))


@auth_router.post(
    "/register",
    summary="Create an account",
    status_code=202,
    response_model=RegistrationAccepted,
    dependencies=[Public],
    responses={409: problem(PolicyVersionMismatch), 429: problem(TooManyAttempts)},
)
async def register_account(
    body: RegistrationCreate, request: Request, session: SessionDep
) -> RegistrationAccepted:
    """Create an account (18+ only) and send a verification link; existing addresses get a notice instead."""
    client = request_client(request)
    await _throttle_mail_request(request, body.email)
    await accounts.register(session, body, app_settings(request), ip=client.ip, user_agent=client.user_agent)
    return RegistrationAccepted()


@auth_router.post(
    "/verify-email",
    summary="Verify an email address",
    response_model=MeRead,
    dependencies=[Public],
    responses={403: problem(InvalidToken), 409: problem(EmailTaken)},
)
async def verify_email(body: EmailVerification, session: SessionDep) -> MeRead:
    """Confirm an email address with the token from the emailed link."""
    return MeRead.model_validate(await accounts.verify_email(session, body.token))


@auth_router.post(
    "/verify-email/resend",
    summary="Resend the verification link",
    status_code=202,
    response_model=Accepted,
    dependencies=[Public],
    responses={429: problem(TooManyAttempts)},
)
async def resend_verification(body: EmailOnly, request: Request, session: SessionDep) -> Accepted:
    """Send the verification link again, if the address belongs to an unverified account."""
    await _throttle_mail_request(request, body.email)
    await accounts.resend_verification(session, body.email, app_settings(request))
    return Accepted(detail="If the address needs verifying, a new link is on its way.")


@auth_router.post(
    "/login",
    summary="Sign in",
    response_model=LoginResult,
    dependencies=[Public],
    responses={401: problem(InvalidCredentials, MfaRequired), 429: problem(TooManyAttempts)},
)
async def login(body: LoginRequest, request: Request, response: Response, session: SessionDep) -> LoginResult:
    """Sign in with email and password (and a two-factor code for staff); sets the session cookie."""
    settings = app_settings(request)
    user, user_session, token = await signin.login(
        session,
        request.app.state.sessionmaker,
        body,
        settings,
        request.app.state.rate_limiter,
        request_client(request),
        request.cookies.get(session_cookie_name(settings)),
    )
    csrf = _set_session_cookies(response, settings, token, user_session)
    return LoginResult(
        user=MeRead.model_validate(user), csrf_token=csrf, session_expires_at=user_session.expires_at
    )


@auth_router.post("/logout", summary="Sign out", status_code=204, responses=SIGNED_IN_ERRORS)
async def logout(
    principal: BrowserSessionUnenrolled, request: Request, response: Response, session: SessionDep
) -> None:
    """End this browser session."""
    assert principal.session is not None
    await signin.logout(session, principal.session)
    _clear_session_cookies(response, app_settings(request))


@auth_router.post(
    "/password/forgot",
    summary="Ask for a password-reset link",
    status_code=202,
    response_model=Accepted,
    dependencies=[Public],
    responses={429: problem(TooManyAttempts)},
)
async def forgot_password(body: EmailOnly, request: Request, session: SessionDep) -> Accepted:
    """Email a password-reset link (valid one hour) if the account exists; the answer is always the same."""
    await _throttle_mail_request(request, body.email)
    await signin.forgot_password(session, body.email)
    return Accepted(detail="If an account uses this address, a reset link is on its way.")


@auth_router.post(
    "/password/reset",
    summary="Reset the password",
    status_code=204,
    dependencies=[Public],
    responses={403: problem(InvalidToken)},
)
async def reset_password(body: PasswordReset, request: Request, session: SessionDep) -> None:
    """Set a new password with the emailed token; every session, API token and pending link ends."""
    await signin.reset_password(session, body.token, body.new_password, app_settings(request))


@scopes_router.get("", summary="List token scopes", response_model=list[ScopeRead], dependencies=[Public])
async def list_scopes() -> list[ScopeRead]:
    """The scopes a token or client can be granted."""
    return [ScopeRead(name=name, description=description) for name, description in SCOPES.items()]


@me_router.get("", summary="Read your profile", response_model=MeRead)
async def get_me(principal: ProfileReaderUnenrolled) -> MeRead:
    """The signed-in user's profile (tokens need `profile:read`)."""
    return MeRead.model_validate(principal.signed_in_user)


@me_router.patch("", summary="Update your profile", response_model=MeRead)
async def update_me(body: ProfileUpdate, principal: ProfileWriter, session: SessionDep) -> MeRead:
    """Change name, professional affiliation, phone or country (tokens need `profile:write`)."""
    return MeRead.model_validate(await accounts.update_profile(session, principal, body))


@me_router.post(
    "/email",
    summary="Change your email address",
    status_code=202,
    response_model=Accepted,
    responses={403: problem(WrongPassword), 429: problem(TooManyAttempts)},
)
async def change_email(
    body: EmailChange, principal: BrowserSession, request: Request, session: SessionDep
) -> Accepted:
    """Start an email change: the new address confirms it, the current one is told."""
    await _throttle_mail_request(request, body.new_email)
    await accounts.request_email_change(
        session, principal, body, app_settings(request), _password_checks(request)
    )
    return Accepted(detail="Confirm the change from the link sent to the new address.")


@me_router.post(
    "/password",
    summary="Change your password",
    response_model=LoginResult,
    responses={403: problem(WrongPassword), 429: problem(TooManyAttempts)},
)
async def change_password(
    body: PasswordChange,
    principal: BrowserSessionUnenrolled,
    request: Request,
    response: Response,
    session: SessionDep,
) -> LoginResult:
    """Change the password: every session and pending link ends (this browser gets a new
    session), and every API token not listed in `keep_token_ids` is revoked."""
    settings = app_settings(request)
    user = principal.signed_in_user
    await accounts.change_password(session, principal, body, settings, _password_checks(request))
    user_session, token = await sessions.start(
        session,
        user,
        settings,
        ip=request_client(request).ip,
        user_agent=request_client(request).user_agent,
        mfa_verified=principal.session is not None and principal.session.mfa_verified,
    )
    csrf = _set_session_cookies(response, settings, token, user_session)
    return LoginResult(
        user=MeRead.model_validate(user), csrf_token=csrf, session_expires_at=user_session.expires_at
    )


@me_router.delete(
    "",
    summary="Close your account",
    response_model=AccountClosed,
    status_code=202,
    responses={403: problem(WrongPassword), 429: problem(TooManyAttempts)},
)
async def close_account(
    body: PasswordConfirmation,
    principal: BrowserSessionUnenrolled,
    request: Request,
    response: Response,
    session: SessionDep,
) -> AccountClosed:
    """Close the account: signed out everywhere, tokens revoked, data deleted after the grace period."""
    settings = app_settings(request)
    user = await accounts.close_account(
        session, principal, body.password, settings, _password_checks(request)
    )
    _clear_session_cookies(response, settings)
    assert user.deletion_due_at is not None
    return AccountClosed(
        deletion_due_at=user.deletion_due_at, detail="Signing in again before this date reopens the account."
    )


@me_router.get(
    "/sessions",
    summary="List your sessions",
    response_model=Page[SessionRead],
    responses={400: problem(InvalidCursor)},
)
async def list_sessions(
    principal: BrowserSessionUnenrolled,
    request: Request,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[SessionRead]:
    """Signed-in browsers: device, IP address and when each was last seen."""
    rows, next_cursor = await sessions.list_live(
        session, principal.signed_in_user, app_settings(request), cursor=cursor, limit=limit
    )
    current = principal.session.id if principal.session else None
    items = [
        SessionRead(**SessionBase.model_validate(row).model_dump(), current=row.id == current) for row in rows
    ]
    return Page[SessionRead](items=items, next_cursor=next_cursor)


@me_router.delete(
    "/sessions/{session_id}",
    summary="Sign a session out",
    status_code=204,
    responses={404: problem(SessionNotFound)},
)
async def revoke_session(session_id: UUID, principal: BrowserSessionUnenrolled, session: SessionDep) -> None:
    """Sign one browser out."""
    await sessions.revoke(session, principal.signed_in_user, session_id)


@me_router.get(
    "/tokens",
    summary="List your API tokens",
    response_model=Page[TokenRead],
    responses={400: problem(InvalidCursor)},
)
async def list_tokens(
    principal: BrowserSession, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[TokenRead]:
    """Personal access tokens that still work."""
    rows, next_cursor = await tokens.list_personal(session, principal, cursor=cursor, limit=limit)
    return Page[TokenRead](items=[TokenRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@me_router.post(
    "/tokens",
    summary="Create an API token",
    status_code=201,
    response_model=TokenCreated,
    responses={403: problem(ScopeNotAllowed)},
)
async def create_token(
    body: TokenCreate, principal: VerifiedBrowserSession, session: SessionDep
) -> TokenCreated:
    """Create a scoped, expiring token for a third-party client; the secret is shown once."""
    token, secret = await tokens.create_personal(session, principal, body)
    return TokenCreated(**TokenRead.model_validate(token).model_dump(), token=secret)


@me_router.delete(
    "/tokens/{token_id}",
    summary="Revoke an API token",
    status_code=204,
    responses={404: problem(TokenNotFound)},
)
async def revoke_token(token_id: UUID, principal: BrowserSession, session: SessionDep) -> None:
    """Revoke a personal access token."""
    await tokens.revoke_personal(session, principal, token_id)


@me_router.post(
    "/mfa/totp",
    summary="Start two-factor setup",
    response_model=MfaEnrollment,
    responses={409: problem(MfaAlreadyEnabled)},
)
async def start_mfa_enrollment(principal: BrowserSessionUnenrolled, session: SessionDep) -> MfaEnrollment:
    """Begin two-factor setup: a secret and an otpauth URI for an authenticator app."""
    secret, uri = await mfa.start_enrollment(session, principal)
    return MfaEnrollment(secret=secret, otpauth_uri=uri)


@me_router.post(
    "/mfa/totp/confirm",
    summary="Turn two-factor on",
    response_model=RecoveryCodes,
    responses={400: problem(InvalidOtp), 409: problem(MfaAlreadyEnabled, MfaNotStarted)},
)
async def confirm_mfa_enrollment(
    body: MfaConfirmation, principal: BrowserSessionUnenrolled, session: SessionDep
) -> RecoveryCodes:
    """Turn two-factor on with a first code; returns one-time recovery codes, shown once."""
    return RecoveryCodes(recovery_codes=await mfa.confirm_enrollment(session, principal, body.code))


@me_router.delete(
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
    body: MfaDisable, principal: BrowserSessionUnenrolled, request: Request, session: SessionDep
) -> None:
    """Turn two-factor off (members; staff must keep it) with the password and a code."""
    await mfa.disable(session, principal, body.password, body.code, _password_checks(request))


@admin_router.get(
    "/users",
    summary="Search users",
    response_model=Page[AdminUserRead],
    responses={400: problem(InvalidCursor)},
)
async def list_users(
    principal: UserDirectoryReader,
    session: SessionDep,
    reason: Annotated[str, Query(min_length=5, max_length=500, description="Why you need this; audited.")],
    q: Annotated[str | None, Query(max_length=200)] = None,
    role: Role | None = None,
    status: UserStatus | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AdminUserRead]:
    """Search users by email, name or company (staff; audited with the stated reason)."""
    rows, next_cursor = await admin.search_users(
        session, principal, query=q, role=role, status=status, reason=reason, cursor=cursor, limit=limit
    )
    return Page[AdminUserRead](
        items=[AdminUserRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@admin_router.patch(
    "/users/{user_id}",
    summary="Change a user's role or status",
    response_model=AdminUserRead,
    responses={404: problem(UserNotFound), 409: problem(LastAdmin)},
)
async def update_user(
    user_id: UUID, body: AdminUserUpdate, principal: UserAdministrator, session: SessionDep
) -> AdminUserRead:
    """Change a user's role or disable them (admins; audited with the stated reason)."""
    return AdminUserRead.model_validate(await admin.update_user(session, principal, user_id, body))


@admin_router.get(
    "/oauth-clients",
    summary="List OAuth clients",
    response_model=Page[OAuthClientRead],
    responses={400: problem(InvalidCursor)},
)
async def list_oauth_clients(
    principal: Administrator, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[OAuthClientRead]:
    """Registered OAuth clients."""
    rows, next_cursor = await tokens.list_clients(session, cursor=cursor, limit=limit)
    return Page[OAuthClientRead](
        items=[OAuthClientRead.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@admin_router.post(
    "/oauth-clients", summary="Register an OAuth client", status_code=201, response_model=OAuthClientCreated
)
async def create_oauth_client(
    body: OAuthClientCreate, principal: Administrator, session: SessionDep
) -> OAuthClientCreated:
    """Register a client for the client-credentials grant; the secret is shown once."""
    client, secret = await tokens.create_client(session, principal, body)
    return OAuthClientCreated(**OAuthClientRead.model_validate(client).model_dump(), client_secret=secret)


@admin_router.delete(
    "/oauth-clients/{client_id}",
    summary="Revoke an OAuth client",
    status_code=204,
    responses={404: problem(ClientNotFound)},
)
async def revoke_oauth_client(client_id: UUID, principal: Administrator, session: SessionDep) -> None:
    """Revoke a client; its tokens stop working at once."""
    await tokens.revoke_client(session, principal, client_id)


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """Client id and secret from `Authorization: Basic`, form-decoded as RFC 6749 §2.3.1 says."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise InvalidClient("The Basic credentials are not valid base64 of `id:secret`.") from error
    client_id, separator, client_secret = decoded.partition(":")
    if not separator:
        raise InvalidClient("The Basic credentials are not valid base64 of `id:secret`.")
    return unquote_plus(client_id), unquote_plus(client_secret)


@oauth_router.post(
    "/token",
    summary="Get an access token",
    response_model=OAuthToken,
    dependencies=[Public],
    responses={400: problem(UnsupportedGrant, InvalidScope), 401: problem(InvalidClient)},
)
async def issue_token(
    request: Request,
    response: Response,
    session: SessionDep,
    grant_type: Annotated[str, Form(max_length=50)],
    client_id: Annotated[str | None, Form(max_length=100)] = None,
    client_secret: Annotated[str | None, Form(max_length=200)] = None,
    scope: Annotated[str | None, Form(max_length=500)] = None,
) -> OAuthToken:
    """OAuth 2.0 client credentials: exchange a client id and secret (form or HTTP Basic) for a JWT."""
    if grant_type != "client_credentials":
        raise UnsupportedGrant("Only grant_type=client_credentials is supported.")
    if basic := _basic_credentials(request):
        client_id, client_secret = basic
    if not client_id or not client_secret:
        raise InvalidClient("Send client_id and client_secret, in the form or with HTTP Basic.")
    token, expires_in, granted = await tokens.issue_client_token(
        session, app_settings(request), client_id=client_id, client_secret=client_secret, scope=scope
    )
    response.headers["Cache-Control"] = "no-store"
    return OAuthToken(access_token=token, expires_in=expires_in, scope=granted)
