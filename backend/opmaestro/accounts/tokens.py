"""Personal access tokens, OAuth clients and the client-credentials grant."""

from datetime import timedelta
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.deps import CLIENT_SCOPES, PAT_PREFIX, STAFF_SCOPES, Principal
from opmaestro.accounts.exceptions import (
    ClientNotFound,
    InvalidClient,
    InvalidScope,
    ScopeNotAllowed,
    TokenNotFound,
)
from opmaestro.accounts.models import OAuthClient, PersonalAccessToken
from opmaestro.accounts.schemas import OAuthClientCreate, TokenCreate
from opmaestro.audit import service as audit
from opmaestro.core import jwt
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.pagination import newest_first, page_of
from opmaestro.core.security import equals, hash_token, new_token


async def list_personal(
    session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int
) -> tuple[list[PersonalAccessToken], str | None]:
    """The user's tokens that are neither revoked nor expired, newest first."""
    user = principal.signed_in_user
    query = select(PersonalAccessToken).where(
        PersonalAccessToken.user_id == user.id,
        PersonalAccessToken.revoked_at.is_(None),
        PersonalAccessToken.expires_at > utcnow(),
    )
    rows = list(
        (
            await session.scalars(
                newest_first(query, PersonalAccessToken.created_at, PersonalAccessToken.id, cursor, limit)
            )
        ).all()
    )
    return page_of(rows, limit)


async def create_personal(
    session: AsyncSession, principal: Principal, body: TokenCreate
) -> tuple[PersonalAccessToken, str]:
    """A new token; the secret is returned once and only its hash is kept."""
    user = principal.signed_in_user
    if set(body.scopes) & STAFF_SCOPES and not user.is_staff:
        raise ScopeNotAllowed("Only staff can grant staff scopes.")
    if client_only := sorted(set(body.scopes) & CLIENT_SCOPES):
        raise ScopeNotAllowed(
            f"Only OAuth clients can hold {', '.join(client_only)}; your own consents are `consent:*`."
        )
    secret = new_token(PAT_PREFIX)
    token = PersonalAccessToken(
        user_id=user.id,
        name=body.name,
        token_hash=hash_token(secret),
        hint=secret[-4:],
        scopes=body.scopes,
        expires_at=utcnow() + timedelta(days=body.expires_in_days),
    )
    session.add(token)
    await session.flush()
    await audit.record(
        session,
        actor=principal,
        action="token.created",
        subject_type="personal_access_token",
        subject_id=token.id,
        fields=["scopes"],
    )
    return token, secret


async def revoke_personal(session: AsyncSession, principal: Principal, token_id: UUID) -> None:
    user = principal.signed_in_user
    token = await session.scalar(
        select(PersonalAccessToken).where(
            PersonalAccessToken.id == token_id,
            PersonalAccessToken.user_id == user.id,
            PersonalAccessToken.revoked_at.is_(None),
        )
    )
    if token is None:
        raise TokenNotFound("No such token.")
    token.revoked_at = utcnow()
    await audit.record(
        session,
        actor=principal,
        action="token.revoked",
        subject_type="personal_access_token",
        subject_id=token.id,
    )
    await session.flush()


async def list_clients(
    session: AsyncSession, *, cursor: str | None, limit: int
) -> tuple[list[OAuthClient], str | None]:
    query = select(OAuthClient)
    rows = list(
        (
            await session.scalars(newest_first(query, OAuthClient.created_at, OAuthClient.id, cursor, limit))
        ).all()
    )
    return page_of(rows, limit)


async def create_client(
    session: AsyncSession, principal: Principal, body: OAuthClientCreate
) -> tuple[OAuthClient, str]:
    secret = new_token("opm_cs_")
    client = OAuthClient(
        client_id=new_token("opm_ci_", nbytes=12),
        name=body.name,
        secret_hash=hash_token(secret),
        scopes=body.scopes,
        created_by=principal.user.id if principal.user else None,
    )
    session.add(client)
    await session.flush()
    await audit.record(
        session,
        actor=principal,
        action="oauth_client.created",
        subject_type="oauth_client",
        subject_id=client.id,
        fields=["scopes"],
    )
    return client, secret


async def revoke_client(session: AsyncSession, principal: Principal, client_id: UUID) -> None:
    client = await session.scalar(
        select(OAuthClient).where(OAuthClient.id == client_id, OAuthClient.revoked_at.is_(None))
    )
    if client is None:
        raise ClientNotFound("No such active client.")
    client.revoked_at = utcnow()
    await audit.record(
        session,
        actor=principal,
        action="oauth_client.revoked",
        subject_type="oauth_client",
        subject_id=client.id,
    )
    await session.flush()


async def issue_client_token(
    session: AsyncSession, settings: Settings, *, client_id: str, client_secret: str, scope: str | None
) -> tuple[str, int, str]:
    """The client-credentials grant (RFC 6749 §4.4): a short-lived signed JWT."""
    client = await session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))
    expected = client.secret_hash if client else hash_token(new_token())
    if client is None or client.revoked_at is not None or not equals(expected, hash_token(client_secret)):
        raise InvalidClient("Unknown client or wrong secret.")
    requested = set(scope.split()) if scope else set(client.scopes)
    if not requested <= set(client.scopes):
        raise InvalidScope(f"This client may request only: {' '.join(sorted(client.scopes))}.")
    granted = " ".join(sorted(requested))
    ttl = timedelta(minutes=settings.oauth_token_minutes)
    secret_key = settings.secret_key.get_secret_value()
    key = await jwt.active_key(session, secret_key)
    token = jwt.encode(
        key,
        secret_key,
        {"sub": client.client_id, "scope": granted, "jti": new_token(nbytes=12)},
        issuer=settings.public_base_url,
        audience=settings.api_audience,
        ttl=ttl,
    )
    return token, int(ttl.total_seconds()), granted
