"""Webhook endpoints of a person or an OAuth client: register, change, rotate, delete, read the log."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from uuid import UUID

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import reauthentication
from opmaestro.accounts.deps import AuthMethod, Principal
from opmaestro.audit import service as audit
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.pagination import newest_first, page_of
from opmaestro.webhooks.outbound import addresses, receivers, signing
from opmaestro.webhooks.outbound.exceptions import (
    ClientsOnly,
    EndpointNotFound,
    EndpointUrlRefused,
    EventScopeMissing,
    TooManyEndpoints,
)
from opmaestro.webhooks.outbound.models import WebhookDelivery, WebhookEndpoint
from opmaestro.webhooks.outbound.schemas import EndpointCreate, EndpointUpdate

AUDIT_SUBJECT = "webhook_endpoint"
PASSWORD_RESET_REASON = (
    "the account's password was reset; check that you registered this endpoint yourself, then enable it again"
)


@dataclass(frozen=True)
class Owner:
    """Whose endpoints a caller manages: a person's own, or an OAuth client's."""

    principal: Principal
    user_id: UUID | None = None
    client_id: UUID | None = None

    def owns(self) -> ColumnElement[bool]:
        if self.client_id is not None:
            return WebhookEndpoint.client_id == self.client_id
        return WebhookEndpoint.user_id == self.user_id


def person(principal: Principal) -> Owner:
    return Owner(principal, user_id=principal.signed_in_user.id)


def client(principal: Principal) -> Owner:
    if principal.method is not AuthMethod.CLIENT or principal.client is None:
        raise ClientsOnly("These routes are for OAuth clients; people use /api/v1/me/webhook-endpoints.")
    return Owner(principal, client_id=principal.client.id)


def checked_events(owner: Owner, event_types: Sequence[StrEnum]) -> list[str]:
    """The event types, sorted, once the owner may receive every one of them."""
    names = sorted({event_type.value for event_type in event_types})
    if owner.client_id is not None:
        missing = receivers.scopes_missing(names, owner.principal.scopes)
        if missing:
            raise EventScopeMissing(
                "This client receives every person's events, so each event type needs the scope "
                f"that reads the same information: missing {', '.join(missing)}.",
                extra={"missing_scopes": missing},
            )
    return names


def require_fresh_password(owner: Owner, settings: Settings) -> None:
    """Before a person's events get a new destination: from a browser session, the password (or
    a code) entered again recently, so a session left open or stolen cannot plant a feed of the
    person's data. A personal token is a credential the person made on purpose (itself behind
    re-authentication), and there is no password to ask a program for."""
    if owner.user_id is not None and owner.principal.method is AuthMethod.SESSION:
        reauthentication.require_recent_reauthentication(owner.principal, settings)


async def checked_url(settings: Settings, resolver: addresses.Resolver, url: str) -> str:
    """The URL, once its host resolves only to addresses we may send to."""
    allow_private = settings.webhooks_allow_private_addresses
    try:
        target = addresses.parse(url, allow_http=allow_private)
        await addresses.check(target, resolver, allow_private=allow_private)
    except addresses.UnsafeAddress as error:
        raise EndpointUrlRefused(str(error)) from None
    return url


async def list_endpoints(session: AsyncSession, owner: Owner) -> list[WebhookEndpoint]:
    """The owner's endpoints, oldest first (there are few)."""
    statement = select(WebhookEndpoint).where(owner.owns()).order_by(WebhookEndpoint.created_at)
    return list(await session.scalars(statement))


async def get_endpoint(
    session: AsyncSession, owner: Owner, endpoint_id: UUID, *, lock: bool = False
) -> WebhookEndpoint:
    """One of the owner's endpoints; anyone else's is not found."""
    statement = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, owner.owns())
    if lock:
        statement = statement.with_for_update()
    endpoint = await session.scalar(statement)
    if endpoint is None:
        raise EndpointNotFound("There is no such webhook endpoint.")
    return endpoint


async def create_endpoint(
    session: AsyncSession,
    settings: Settings,
    resolver: addresses.Resolver,
    owner: Owner,
    body: EndpointCreate,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it with its new secret, which is never shown again."""
    count = await session.scalar(select(func.count()).select_from(WebhookEndpoint).where(owner.owns()))
    if (count or 0) >= settings.webhook_max_endpoints:
        raise TooManyEndpoints(f"At most {settings.webhook_max_endpoints} webhook endpoints are allowed.")
    require_fresh_password(owner, settings)
    url = await checked_url(settings, resolver, body.url)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        user_id=owner.user_id,
        client_id=owner.client_id,
        url=url,
        description=body.description,
        event_types=checked_events(owner, body.event_types),
        enabled=body.enabled,
        secret_encrypted=signing.encrypt(settings, secret),
        consecutive_failures=0,
    )
    session.add(endpoint)
    await session.flush()
    await audit.record(
        session,
        actor=owner.principal,
        action="webhook_endpoint.created",
        subject_type=AUDIT_SUBJECT,
        subject_id=endpoint.id,
        fields=["url", "event_types", "description", "enabled"],
    )
    return endpoint, secret


async def update_endpoint(
    session: AsyncSession,
    settings: Settings,
    resolver: addresses.Resolver,
    owner: Owner,
    endpoint_id: UUID,
    body: EndpointUpdate,
) -> WebhookEndpoint:
    """Change an endpoint; enabling it again clears its failure count."""
    endpoint = await get_endpoint(session, owner, endpoint_id, lock=True)
    changed = []
    if body.url is not None and body.url != endpoint.url:
        require_fresh_password(owner, settings)
        endpoint.url = await checked_url(settings, resolver, body.url)
        changed.append("url")
    if body.event_types is not None:
        endpoint.event_types = checked_events(owner, body.event_types)
        changed.append("event_types")
    if body.description is not None:
        endpoint.description = body.description
        changed.append("description")
    if body.enabled is not None:
        if body.enabled and not endpoint.enabled:
            endpoint.consecutive_failures = 0
            endpoint.disabled_at = None
            endpoint.disabled_reason = None
        endpoint.enabled = body.enabled
        changed.append("enabled")
    await session.flush()
    if changed:
        await audit.record(
            session,
            actor=owner.principal,
            action="webhook_endpoint.updated",
            subject_type=AUDIT_SUBJECT,
            subject_id=endpoint.id,
            fields=changed,
        )
    return endpoint


async def disable_after_password_reset(session: AsyncSession, user_id: UUID) -> int:
    """Switch off every endpoint of the person: whoever held the account before the reset may
    have planted one. Only the owner, signed in again, can switch them back on. Returns how many."""
    now = utcnow()
    endpoint_ids = list(
        await session.scalars(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.user_id == user_id)
            .values(enabled=False, disabled_at=now, disabled_reason=PASSWORD_RESET_REASON, updated_at=now)
            .returning(WebhookEndpoint.id)
            .execution_options(synchronize_session=False)
        )
    )
    for endpoint_id in endpoint_ids:
        await audit.record(
            session,
            actor=None,
            action="webhook_endpoint.disabled",
            subject_type=AUDIT_SUBJECT,
            subject_id=endpoint_id,
            fields=["enabled"],
            reason="password reset",
        )
    return len(endpoint_ids)


async def rotate_secret(
    session: AsyncSession, settings: Settings, owner: Owner, endpoint_id: UUID
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the replaced one keeps signing beside it for the grace period."""
    endpoint = await get_endpoint(session, owner, endpoint_id, lock=True)
    # The secret lets its holder sign events the receiver will trust: a stale session gets none.
    require_fresh_password(owner, settings)
    secret = signing.new_secret()
    grace = timedelta(hours=settings.webhook_rotation_grace_hours)
    if grace:
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_expires_at = utcnow() + grace
    else:
        endpoint.previous_secret_encrypted = None
        endpoint.previous_secret_expires_at = None
    endpoint.secret_encrypted = signing.encrypt(settings, secret)
    await session.flush()
    await audit.record(
        session,
        actor=owner.principal,
        action="webhook_endpoint.secret_rotated",
        subject_type=AUDIT_SUBJECT,
        subject_id=endpoint.id,
        fields=["secret"],
    )
    return endpoint, secret


async def delete_endpoint(session: AsyncSession, owner: Owner, endpoint_id: UUID) -> None:
    """Remove an endpoint and its delivery log; deliveries not yet sent are dropped."""
    endpoint = await get_endpoint(session, owner, endpoint_id, lock=True)
    await session.delete(endpoint)
    await session.flush()
    await audit.record(
        session,
        actor=owner.principal,
        action="webhook_endpoint.deleted",
        subject_type=AUDIT_SUBJECT,
        subject_id=endpoint_id,
    )


async def list_deliveries(
    session: AsyncSession, owner: Owner, endpoint_id: UUID, *, cursor: str | None, limit: int
) -> tuple[list[WebhookDelivery], str | None]:
    """An endpoint's delivery log, newest first."""
    endpoint = await get_endpoint(session, owner, endpoint_id)
    statement = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    rows = list(
        await session.scalars(
            newest_first(statement, WebhookDelivery.created_at, WebhookDelivery.id, cursor, limit)
        )
    )
    return page_of(rows, limit)
