"""Your signed-in browsers and personal access tokens."""

from uuid import UUID

from fastapi import APIRouter, Response

from opmaestro.accounts import reauthentication, sessions, tokens
from opmaestro.accounts.deps import BrowserSession, BrowserSessionUnenrolled, VerifiedBrowserSession
from opmaestro.accounts.exceptions import (
    InvalidOtp,
    ReauthenticationRequired,
    ScopeNotAllowed,
    SessionNotFound,
    TokenNotFound,
    TooManyAttempts,
    WrongPassword,
)
from opmaestro.accounts.routers.shared import PasswordChecksDep
from opmaestro.accounts.schemas import (
    Reauthentication,
    SessionBase,
    SessionRead,
    TokenCreate,
    TokenCreated,
    TokenRead,
)
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import SettingsDep
from opmaestro.core.errors import problem
from opmaestro.core.http import SIGNED_IN_ERRORS, Cursor, Limit
from opmaestro.core.pagination import DEFAULT_LIMIT, InvalidCursor, Page

router = APIRouter(prefix="/me", tags=["me"], responses=SIGNED_IN_ERRORS)


@router.get(
    "/sessions",
    summary="List your sessions",
    response_model=Page[SessionRead],
    responses={400: problem(InvalidCursor)},
)
async def list_sessions(
    principal: BrowserSessionUnenrolled,
    settings: SettingsDep,
    session: SessionDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[SessionRead]:
    """Signed-in browsers: device, IP address and when each was last seen."""
    rows, next_cursor = await sessions.list_live(
        session, principal.signed_in_user, settings, cursor=cursor, limit=limit
    )
    current = principal.session.id if principal.session else None
    items = [
        SessionRead(**SessionBase.model_validate(row).model_dump(), current=row.id == current) for row in rows
    ]
    return Page[SessionRead](items=items, next_cursor=next_cursor)


@router.delete(
    "/sessions/{session_id}",
    summary="Sign a session out",
    status_code=204,
    responses={404: problem(SessionNotFound)},
)
async def revoke_session(session_id: UUID, principal: BrowserSessionUnenrolled, session: SessionDep) -> None:
    """Sign one browser out."""
    await sessions.revoke(session, principal.signed_in_user, session_id)


@router.get(
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


@router.post(
    "/tokens",
    summary="Create an API token",
    status_code=201,
    response_model=TokenCreated,
    responses={403: problem(ReauthenticationRequired, ScopeNotAllowed)},
)
async def create_token(
    body: TokenCreate, principal: VerifiedBrowserSession, session: SessionDep, settings: SettingsDep
) -> TokenCreated:
    """Create a scoped, expiring token for a third-party client; the secret is shown once. Needs
    the password entered in this browser recently (signing in counts)."""
    # A token outlives the session for up to a year: a browser left signed in must not plant one.
    reauthentication.require_recent_reauthentication(principal, settings)
    token, secret = await tokens.create_personal(session, principal, body)
    return TokenCreated(**TokenRead.model_validate(token).model_dump(), token=secret)


@router.delete(
    "/tokens/{token_id}",
    summary="Revoke an API token",
    status_code=204,
    responses={404: problem(TokenNotFound)},
)
async def revoke_token(token_id: UUID, principal: BrowserSession, session: SessionDep) -> None:
    """Revoke a personal access token."""
    await tokens.revoke_personal(session, principal, token_id)


@router.post(
    "/reauthenticate",
    summary="Confirm it is you",
    status_code=204,
    # A bare Response: FastAPI would otherwise label the empty 204 `application/json`.
    response_class=Response,
    responses={400: problem(InvalidOtp), 403: problem(WrongPassword), 429: problem(TooManyAttempts)},
)
async def reauthenticate(
    body: Reauthentication,
    principal: BrowserSessionUnenrolled,
    session: SessionDep,
    checks: PasswordChecksDep,
) -> None:
    """Enter the password (or a two-factor or recovery code) again before a sensitive action."""
    await reauthentication.reauthenticate(session, principal, checks, password=body.password, code=body.code)
