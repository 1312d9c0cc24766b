"""Staff pages: search and change users, register and revoke OAuth clients."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from opmaestro.accounts import admin, tokens
from opmaestro.accounts.deps import Administrator, UserAdministrator, UserDirectoryReader
from opmaestro.accounts.exceptions import AccountErased, ClientNotFound, LastAdmin, UserNotFound
from opmaestro.accounts.models import Role, UserStatus
from opmaestro.accounts.schemas import (
    AdminUserRead,
    AdminUserUpdate,
    OAuthClientCreate,
    OAuthClientCreated,
    OAuthClientRead,
)
from opmaestro.core.db import SessionDep
from opmaestro.core.errors import problem
from opmaestro.core.http import SIGNED_IN_ERRORS, Cursor, Limit, ReasonQuery
from opmaestro.core.pagination import DEFAULT_LIMIT, InvalidCursor, Page

router = APIRouter(prefix="/admin", tags=["admin"], responses=SIGNED_IN_ERRORS)


@router.get(
    "/users",
    summary="Search users",
    response_model=Page[AdminUserRead],
    responses={400: problem(InvalidCursor)},
)
async def list_users(
    principal: UserDirectoryReader,
    session: SessionDep,
    reason: ReasonQuery,
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


@router.patch(
    "/users/{user_id}",
    summary="Change a user's role or status",
    response_model=AdminUserRead,
    responses={404: problem(UserNotFound), 409: problem(LastAdmin, AccountErased)},
)
async def update_user(
    user_id: UUID, body: AdminUserUpdate, principal: UserAdministrator, session: SessionDep
) -> AdminUserRead:
    """Change a user's role or disable them (admins; audited with the stated reason)."""
    return AdminUserRead.model_validate(await admin.update_user(session, principal, user_id, body))


@router.get(
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


@router.post(
    "/oauth-clients", summary="Register an OAuth client", status_code=201, response_model=OAuthClientCreated
)
async def create_oauth_client(
    body: OAuthClientCreate, principal: Administrator, session: SessionDep
) -> OAuthClientCreated:
    """Register a client for the client-credentials grant; the secret is shown once."""
    client, secret = await tokens.create_client(session, principal, body)
    return OAuthClientCreated(**OAuthClientRead.model_validate(client).model_dump(), client_secret=secret)


@router.delete(
    "/oauth-clients/{client_id}",
    summary="Revoke an OAuth client",
    status_code=204,
    responses={404: problem(ClientNotFound)},
)
async def revoke_oauth_client(client_id: UUID, principal: Administrator, session: SessionDep) -> None:
    """Revoke a client; its tokens stop working at once."""
    await tokens.revoke_client(session, principal, client_id)
