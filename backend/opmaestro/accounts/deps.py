"""Who is calling: a browser session, a personal access token or an OAuth client.

Every route depends on one `Authorize(...)` rule; a test fails for any route without one.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from fastapi.openapi.models import OAuthFlowClientCredentials
from fastapi.openapi.models import OAuthFlows as OAuthFlowsModel
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer, OAuth2
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from opmaestro.accounts.models import (
    OAuthClient,
    PersonalAccessToken,
    Role,
    User,
    UserSession,
    UserStatus,
)
from opmaestro.core import jwt
from opmaestro.core.access import SAFE_METHODS, AccessRule
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import SettingsDep, app_settings
from opmaestro.core.errors import Forbidden, NotAuthenticated
from opmaestro.core.security import csrf_token, equals, hash_token

PAT_PREFIX = "opm_pat_"
CSRF_HEADER = "X-CSRF-Token"
SESSION_COOKIE = "opm_session"
TOKEN_URL = "/api/v1/oauth/token"
TOUCH_EVERY = timedelta(seconds=60)

SCOPES: dict[str, str] = {
    "profile:read": "Read your profile",
    "profile:write": "Change your profile",
    "consent:read": "Read your consents",
    "consent:write": "Change your consents",
    "data:read": "Read the summary of the personal data we hold about you",
    "webhooks:manage": "Manage webhook endpoints and read their delivery log",
    "admin:users:read": "Staff: search users",
    "admin:users:write": "Staff: change users' roles and status",
    "consents:read": "Clients: read people's current consents and the consent change feed",
    "consents:write": "Clients: record consents collected in another system",
    "data_requests:read": "Clients: learn when people's data requests are completed (webhook events)",
}
STAFF_SCOPES = frozenset(scope for scope in SCOPES if scope.startswith("admin:"))
# Scopes that act on everyone's consents: OAuth clients only, never a person's token or session.
CLIENT_SCOPES = frozenset({"consents:read", "consents:write", "data_requests:read"})


class AuthMethod(StrEnum):
    SESSION = "session"
    TOKEN = "token"
    CLIENT = "client"


class CsrfFailed(Forbidden):
    slug, title = "csrf-failed", "CSRF check failed"


class InsufficientScope(Forbidden):
    slug, title = "insufficient-scope", "Insufficient scope"


class MfaEnrollmentRequired(Forbidden):
    slug, title = "mfa-enrollment-required", "Two-factor enrollment required"


class MfaNotVerified(Forbidden):
    slug, title = "mfa-not-verified", "Two-factor sign-in required"


class EmailNotVerified(Forbidden):
    slug, title = "email-not-verified", "Email not verified"


@dataclass(frozen=True)
class Principal:
    method: AuthMethod
    scopes: frozenset[str]
    user: User | None = None
    client: OAuthClient | None = None
    session: UserSession | None = field(default=None, repr=False)

    @property
    def role(self) -> str | None:
        return self.user.role if self.user else None

    @property
    def signed_in_user(self) -> User:
        if self.user is None:
            raise Forbidden("This endpoint acts for a user; client credentials cannot call it.")
        return self.user

    @property
    def browser_session(self) -> UserSession:
        """The browser session the caller signed in with; tokens and clients have none."""
        if self.session is None:
            raise Forbidden("This action needs a signed-in browser session, not a token.")
        return self.session

    @property
    def audit_actor(self) -> tuple[UUID, str]:
        """The id and kind an audit record names this caller by."""
        if self.method is AuthMethod.CLIENT and self.client is not None:
            return self.client.id, "client"
        user = self.signed_in_user
        return user.id, "staff" if user.is_staff else "user"


# Built once: constructing these per request costs more than running them.
_SESSION_BY_TOKEN = (
    select(UserSession, User)
    .join(User, User.id == UserSession.user_id)
    .where(UserSession.token_hash == bindparam("token_hash"), UserSession.revoked_at.is_(None))
)
_PERSONAL_TOKEN_BY_HASH = (
    select(PersonalAccessToken, User)
    .join(User, User.id == PersonalAccessToken.user_id)
    .where(
        PersonalAccessToken.token_hash == bindparam("token_hash"), PersonalAccessToken.revoked_at.is_(None)
    )
)


def session_cookie_name(settings: Settings) -> str:
    return f"__Host-{SESSION_COOKIE}" if settings.public_base_url.startswith("https://") else SESSION_COOKIE


def csrf_cookie_name(settings: Settings) -> str:
    return "__Host-opm_csrf" if settings.public_base_url.startswith("https://") else "opm_csrf"


class SessionCookie(APIKeyCookie):
    """The session cookie, under the name the settings give it (`__Host-` prefixed over HTTPS)."""

    async def __call__(self, request: HTTPConnection) -> str | None:
        return request.cookies.get(session_cookie_name(app_settings(request))) or None


# The security schemes the spec declares; each reads its credential, none refuses on its own.
session_cookie = SessionCookie(
    name=SESSION_COOKIE,
    scheme_name="session",
    auto_error=False,
    description="The browser session set by `POST /api/v1/auth/login` (`__Host-opm_session` over HTTPS).",
)
csrf_header = APIKeyHeader(
    name=CSRF_HEADER,
    scheme_name="csrf",
    auto_error=False,
    description="With the session cookie, unsafe methods echo the `opm_csrf` cookie's value here.",
)
bearer_token = HTTPBearer(
    scheme_name="personal_token",
    bearerFormat="opm_pat_...",
    auto_error=False,
    description="A personal access token from `POST /api/v1/me/tokens`, scoped and expiring.",
)
client_credentials = OAuth2(
    flows=OAuthFlowsModel(clientCredentials=OAuthFlowClientCredentials(tokenUrl=TOKEN_URL, scopes=SCOPES)),
    scheme_name="oauth2",
    auto_error=False,
    description="An access token (RS256 JWT, one hour) from the client-credentials grant.",
)
SessionCookieValue = Annotated[str | None, Depends(session_cookie)]
CsrfHeaderValue = Annotated[str | None, Depends(csrf_header)]
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_token)]
ClientAuthorization = Annotated[str | None, Depends(client_credentials)]


async def _from_session(session: AsyncSession, settings: Settings, token: str) -> Principal | None:
    row = (await session.execute(_SESSION_BY_TOKEN, {"token_hash": hash_token(token)})).first()
    if row is None:
        return None
    user_session, user = row
    now = utcnow()
    idle_limit = timedelta(minutes=settings.session_idle_minutes)
    if now >= user_session.expires_at or now - user_session.last_seen_at > idle_limit:
        return None
    if user.status != UserStatus.ACTIVE:
        return None
    if now - user_session.last_seen_at > TOUCH_EVERY:
        user_session.last_seen_at = now
    return Principal(AuthMethod.SESSION, frozenset(SCOPES), user=user, session=user_session)


async def _from_personal_token(session: AsyncSession, token: str) -> Principal | None:
    row = (await session.execute(_PERSONAL_TOKEN_BY_HASH, {"token_hash": hash_token(token)})).first()
    if row is None:
        return None
    pat, user = row
    now = utcnow()
    if now >= pat.expires_at or user.status != UserStatus.ACTIVE:
        return None
    if pat.last_used_at is None or now - pat.last_used_at > TOUCH_EVERY:
        await session.execute(
            update(PersonalAccessToken)
            .where(PersonalAccessToken.id == pat.id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
    return Principal(AuthMethod.TOKEN, frozenset(pat.scopes), user=user)


async def _from_client_token(session: AsyncSession, settings: Settings, token: str) -> Principal | None:
    try:
        claims = await jwt.decode(
            session, token, issuer=settings.public_base_url, audience=settings.api_audience
        )
    except jwt.InvalidToken:
        return None
    client = await session.scalar(
        select(OAuthClient).where(
            OAuthClient.client_id == claims.get("sub"), OAuthClient.revoked_at.is_(None)
        )
    )
    if client is None:
        return None
    granted = frozenset(str(claims.get("scope", "")).split()) & frozenset(client.scopes)
    return Principal(AuthMethod.CLIENT, granted, client=client)


async def resolve_principal(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    cookie: str | None,
    authorization: str | None,
    bearer: HTTPAuthorizationCredentials | None,
) -> Principal | None:
    """The caller, from a Bearer token or the session cookie; cached for the request.

    `authorization` is the raw header, `bearer` its credentials when the scheme is Bearer."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    principal: Principal | None = None
    if bearer is not None:
        credentials = bearer.credentials.strip()
        if credentials.startswith(PAT_PREFIX):
            principal = await _from_personal_token(session, credentials)
        else:
            principal = await _from_client_token(session, settings, credentials)
        if principal is None:
            raise NotAuthenticated(
                "The token is invalid, expired or revoked.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
    elif authorization:
        raise NotAuthenticated(
            "Send `Authorization: Bearer <token>`.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_request"'},
        )
    elif cookie:
        principal = await _from_session(session, settings, cookie)
    request.state.principal = principal
    return principal


class Authorize(AccessRule):
    """The access rule of a route: public, or who may call it and with which scopes."""

    def __init__(
        self,
        *,
        public: bool = False,
        scopes: tuple[str, ...] = (),
        roles: tuple[Role, ...] = (),
        session_only: bool = False,
        verified: bool = False,
        allow_unenrolled: bool = False,
        allow_clients: bool = False,
        clients_only: bool = False,
    ) -> None:
        unknown = set(scopes) - set(SCOPES)
        if unknown:
            raise ValueError(f"unknown scopes {sorted(unknown)}")
        self.public = public
        self.scopes = frozenset(scopes)
        self.roles = frozenset(roles)
        self.session_only = session_only
        self.verified = verified
        self.allow_unenrolled = allow_unenrolled
        self.allow_clients = allow_clients or clients_only
        self.clients_only = clients_only

    def describe(self) -> str:
        if self.public:
            return "public"
        parts = ["OAuth clients only" if self.clients_only else "signed-in"]
        if self.roles:
            parts.append("roles: " + ", ".join(sorted(self.roles)))
        if self.scopes:
            parts.append("scopes: " + ", ".join(sorted(self.scopes)))
        return "; ".join(parts)

    async def __call__(
        self,
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        cookie: SessionCookieValue,
        csrf: CsrfHeaderValue,
        bearer: BearerCredentials,
        authorization: ClientAuthorization,
    ) -> Principal | None:
        if self.public:
            return None
        principal = await resolve_principal(request, session, settings, cookie, authorization, bearer)
        if principal is None:
            raise NotAuthenticated("Sign in, or send a Bearer token.")
        if self.clients_only and principal.method is not AuthMethod.CLIENT:
            raise Forbidden("Only OAuth clients (client credentials) can call this endpoint.")
        if principal.method is AuthMethod.SESSION:
            self._check_csrf(request, settings, principal, csrf)
        elif self.session_only:
            raise Forbidden("This action needs a signed-in browser session, not a token.")
        if principal.method is AuthMethod.CLIENT:
            if not self.allow_clients:
                raise Forbidden("This endpoint acts for a user; client credentials cannot call it.")
        elif self.roles and principal.role not in self.roles:
            raise Forbidden("Your role does not allow this.")
        missing = self.scopes - principal.scopes
        if missing:
            raise InsufficientScope(f"The token lacks the scope(s): {', '.join(sorted(missing))}.")
        user = principal.user
        if user is not None:
            if user.is_staff and not self.allow_unenrolled:
                if user.mfa_enabled_at is None:
                    raise MfaEnrollmentRequired("Staff accounts must set up two-factor authentication first.")
                if principal.session is not None and not principal.session.mfa_verified:
                    raise MfaNotVerified("Sign in again with your two-factor code to use staff pages.")
            if self.verified and user.email_verified_at is None:
                raise EmailNotVerified("Verify your email address first.")
        return principal

    @staticmethod
    def _check_csrf(request: Request, settings: Settings, principal: Principal, sent: str | None) -> None:
        if request.method in SAFE_METHODS:
            return
        expected = csrf_token(settings.secret_key.get_secret_value(), principal.browser_session.id)
        if not sent or not equals(sent, expected):
            raise CsrfFailed(f"Unsafe requests with a session cookie need the {CSRF_HEADER} header.")


BrowserSession = Annotated[Principal, Depends(Authorize(session_only=True))]
VerifiedBrowserSession = Annotated[Principal, Depends(Authorize(session_only=True, verified=True))]
BrowserSessionUnenrolled = Annotated[Principal, Depends(Authorize(session_only=True, allow_unenrolled=True))]
ProfileReaderUnenrolled = Annotated[
    Principal, Depends(Authorize(scopes=("profile:read",), allow_unenrolled=True))
]
ProfileWriter = Annotated[Principal, Depends(Authorize(scopes=("profile:write",)))]
UserDirectoryReader = Annotated[
    Principal,
    Depends(
        Authorize(
            scopes=("admin:users:read",),
            roles=(Role.SUPPORT, Role.PRIVACY_OFFICER, Role.ADMIN),
            allow_clients=True,
        )
    ),
]
UserAdministrator = Annotated[
    Principal, Depends(Authorize(scopes=("admin:users:write",), roles=(Role.ADMIN,), allow_clients=False))
]
Administrator = Annotated[Principal, Depends(Authorize(roles=(Role.ADMIN,), session_only=True))]
DataReader = Annotated[Principal, Depends(Authorize(scopes=("data:read",)))]
ConsentReader = Annotated[Principal, Depends(Authorize(scopes=("consent:read",)))]
ConsentWriter = Annotated[Principal, Depends(Authorize(scopes=("consent:write",)))]
PrivacyAdministrator = Annotated[
    Principal, Depends(Authorize(roles=(Role.ADMIN, Role.PRIVACY_OFFICER), session_only=True))
]
ClientConsentReader = Annotated[Principal, Depends(Authorize(scopes=("consents:read",), clients_only=True))]
ClientConsentWriter = Annotated[Principal, Depends(Authorize(scopes=("consents:write",), clients_only=True))]
