"""Connecting, importing, refreshing and disconnecting Google, Gusto and Stripe.

Services flush and never commit. The functions other domains may call (the provider webhooks,
the account hooks): `get_connection_by_provider_subject`, `connections_by_provider_subject`,
`access_token_for`, `enqueue_sync`, `drop_tokens`, `disconnect`, `disconnect_all`.
"""

import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.deps import Principal
from opmaestro.audit import service as audit
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.links import public_url
from opmaestro.core.security import equals, hash_token
from opmaestro.integrations import crypto, providers
from opmaestro.integrations.exceptions import (
    IntegrationNotConnected,
    IntegrationProviderError,
    ProviderNotConfigured,
)
from opmaestro.integrations.models import (
    IntegrationAuthorization,
    IntegrationCalendarEvent,
    IntegrationConnection,
    IntegrationEmployee,
    Provider,
    SyncStatus,
    scopes_list,
)
from opmaestro.integrations.schemas import (
    AuthorizationStart,
    IntegrationConnectionRead,
    IntegrationRead,
)

logger = logging.getLogger(__name__)

SYNC_JOB = "integrations.sync"
PRUNE_JOB = "integrations.prune_authorizations"
SETTINGS_PAGE = "/settings/integrations"
IMPORTS = {
    Provider.GOOGLE: "Your Google account's email and id, and the start, end and title of your primary "
    "calendar's events in the coming days.",
    Provider.GUSTO: "Your company's name, and each employee's name, email and job title.",
    Provider.STRIPE: "Your Stripe account's id and business name.",
}
IMPORTED_TABLES = (IntegrationCalendarEvent, IntegrationEmployee)


def _subject_type(provider: Provider | str) -> str:
    return f"integration:{Provider(provider).value}"


async def _connection_of(
    session: AsyncSession, user_id: UUID, provider: Provider
) -> IntegrationConnection | None:
    return await session.scalar(
        select(IntegrationConnection).where(
            IntegrationConnection.user_id == user_id, IntegrationConnection.provider == provider.value
        )
    )


async def _imported_counts(session: AsyncSession, connection_ids: list[UUID]) -> dict[UUID, int]:
    counts: dict[UUID, int] = {}
    if not connection_ids:
        return counts
    for model in IMPORTED_TABLES:
        rows = await session.execute(
            select(model.connection_id, func.count())
            .where(model.connection_id.in_(connection_ids))
            .group_by(model.connection_id)
        )
        for connection_id, count in rows.all():
            counts[connection_id] = counts.get(connection_id, 0) + int(count)
    return counts


def connection_read(connection: IntegrationConnection, imported: int) -> IntegrationConnectionRead:
    return IntegrationConnectionRead(
        account_email=connection.account_email,
        account_name=connection.account_name,
        subject=connection.subject,
        granted_scopes=list(connection.granted_scopes or []),
        connected_at=connection.connected_at,
        last_synced_at=connection.last_synced_at,
        sync_status=SyncStatus(connection.sync_status),
        sync_error=connection.sync_error,
        imported_items=imported,
        needs_reconnect=connection.access_token is None,
    )


async def list_integrations(
    session: AsyncSession, settings: Settings, user_id: UUID
) -> list[IntegrationRead]:
    """Every provider with its status for this account: not configured, not connected, or connected."""
    connections = {
        Provider(found.provider): found
        for found in await session.scalars(
            select(IntegrationConnection).where(IntegrationConnection.user_id == user_id)
        )
    }
    counts = await _imported_counts(session, [found.id for found in connections.values()])
    items = []
    for provider in Provider:
        config = providers.config_of(settings, provider)
        connection = connections.get(provider)
        status = "connected" if connection else ("not_connected" if config.configured else "not_configured")
        items.append(
            IntegrationRead(
                provider=provider,
                name=config.name,
                status=status,
                requested_scopes=list(config.scopes),
                imports=IMPORTS[provider],
                connection=connection_read(connection, counts.get(connection.id, 0)) if connection else None,
            )
        )
    return items


def _configured(settings: Settings, provider: Provider) -> providers.ProviderConfig:
    config = providers.config_of(settings, provider)
    if not config.configured:
        raise ProviderNotConfigured(f"{config.name} is not configured on this server.")
    return config


async def start_authorization(
    session: AsyncSession, settings: Settings, principal: Principal, provider: Provider
) -> AuthorizationStart:
    """Begin the authorization code flow: a single-use state and PKCE verifier kept here, bound to
    the signed-in account, and the provider URL to send the browser to."""
    config = _configured(settings, provider)
    user = principal.signed_in_user
    now = utcnow()
    # One pending authorization per account and provider; expired ones of anyone go too.
    await session.execute(
        delete(IntegrationAuthorization)
        .where(
            (IntegrationAuthorization.expires_at <= now)
            | (
                (IntegrationAuthorization.user_id == user.id)
                & (IntegrationAuthorization.provider == provider.value)
            )
        )
        .execution_options(synchronize_session=False)
    )
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    expires_at = now + timedelta(minutes=settings.integration_state_minutes)
    session.add(
        IntegrationAuthorization(
            user_id=user.id,
            provider=provider.value,
            state_hash=hash_token(state),
            code_verifier=crypto.encrypt(settings, verifier),
            created_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return AuthorizationStart(
        authorization_url=providers.authorization_url(settings, config, state, verifier),
        expires_at=expires_at,
    )


def settings_page(settings: Settings, provider: Provider, **outcome: str) -> str:
    """The SPA's Settings > Integrations page, with the outcome of a connection in the query."""
    return public_url(settings, SETTINGS_PAGE) + "?" + urlencode({"provider": provider.value} | outcome)


async def _take_authorization(
    session: AsyncSession, state: str, provider: Provider, user_id: UUID
) -> tuple[IntegrationAuthorization | None, str | None]:
    """The pending authorization for `state`, spent whatever the outcome; or why it is refused."""
    hashed = hash_token(state)
    found = await session.scalar(
        select(IntegrationAuthorization)
        .where(IntegrationAuthorization.state_hash == hashed)
        .with_for_update()
    )
    if found is None:
        return None, "invalid_state"
    await session.delete(found)
    await session.flush()
    if not (
        equals(found.state_hash, hashed)
        and equals(str(found.user_id), str(user_id))
        and found.provider == provider.value
    ):
        return None, "invalid_state"
    if found.expires_at <= utcnow():
        return None, "expired_state"
    return found, None


def _expires_at(token: dict[str, Any]) -> datetime | None:
    try:
        if token.get("expires_at"):
            return datetime.fromtimestamp(int(token["expires_at"]), UTC)
        if token.get("expires_in"):
            return utcnow() + timedelta(seconds=int(token["expires_in"]))
    except (TypeError, ValueError, OverflowError, OSError):
        # A lifetime we cannot read: treat the token as expiring now, so it is refreshed first.
        return utcnow()
    return None


async def complete_authorization(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    provider: Provider,
    *,
    state: str | None,
    code: str | None,
    error: str | None,
) -> str:
    """Finish the flow the provider redirected back: check the state, exchange the code, store the
    connection, queue its import; the answer is where to send the browser (with the outcome).

    The state is spent even when the flow fails, so it is never accepted twice."""
    user = principal.signed_in_user
    if not state:
        return settings_page(settings, provider, error="invalid_state")
    pending, refused = await _take_authorization(session, state, provider, user.id)
    if pending is None:
        return settings_page(settings, provider, error=refused or "invalid_state")
    if error:
        return settings_page(
            settings, provider, error="access_denied" if error == "access_denied" else "provider_error"
        )
    if not code:
        return settings_page(settings, provider, error="missing_code")
    config = providers.config_of(settings, provider)
    if not config.configured:
        return settings_page(settings, provider, error="not_configured")
    try:
        verifier = crypto.decrypt(settings, pending.code_verifier) or ""
    except crypto.TokenKeyError:
        # The token keys changed (an old key dropped) while the person was at the provider.
        return settings_page(settings, provider, error="invalid_state")
    try:
        token = await providers.exchange_code(settings, config, code, verifier)
        identity = (
            await providers.read(settings, config, str(token["access_token"]), identity_only=True)
        ).identity
    except providers.ProviderFailed as failure:
        logger.warning("integration %s: connecting failed (%s)", provider.value, failure.code)
        return settings_page(settings, provider, error="provider_error")
    connection = await _connection_of(session, user.id, provider)
    if connection is None:
        connection = IntegrationConnection(user_id=user.id, provider=provider.value)
        session.add(connection)
    elif connection.subject != identity.subject:
        await _delete_imported(session, connection.id)
    _store_token(settings, connection, token, requested=config.scopes)
    connection.subject = identity.subject
    connection.account_email = identity.email
    connection.account_name = identity.name
    connection.connected_at = utcnow()
    connection.sync_error = None
    await session.flush()
    await audit.record(
        session,
        actor=principal,
        action="integration.connected",
        subject_type=_subject_type(provider),
        subject_id=connection.id,
        fields=["granted_scopes", "access_token", "refresh_token"],
    )
    await enqueue_sync(session, connection, settings)
    return settings_page(settings, provider, connected="1")


def _store_token(
    settings: Settings,
    connection: IntegrationConnection,
    token: dict[str, Any],
    *,
    requested: tuple[str, ...] = (),
) -> None:
    connection.access_token = crypto.encrypt(settings, str(token["access_token"]))
    if token.get("refresh_token"):
        connection.refresh_token = crypto.encrypt(settings, str(token["refresh_token"]))
    connection.expires_at = _expires_at(token)
    if "scope" in token:
        connection.granted_scopes = scopes_list(token["scope"])
    elif requested and not connection.granted_scopes:
        # RFC 6749 section 5.1: no `scope` in the answer means the requested ones were granted.
        connection.granted_scopes = list(requested)


async def get_connection(session: AsyncSession, user_id: UUID, provider: Provider) -> IntegrationConnection:
    connection = await _connection_of(session, user_id, provider)
    if connection is None:
        raise IntegrationNotConnected(f"{provider.value} is not connected.")
    return connection


async def connections_by_provider_subject(
    session: AsyncSession, provider: Provider | str, subject: str
) -> list[IntegrationConnection]:
    """Every connection to the provider's account `subject` (several people may connect one company)."""
    return list(
        await session.scalars(
            select(IntegrationConnection)
            .where(
                IntegrationConnection.provider == Provider(provider).value,
                IntegrationConnection.subject == subject,
            )
            .order_by(IntegrationConnection.created_at)
        )
    )


async def get_connection_by_provider_subject(
    session: AsyncSession, provider: Provider | str, subject: str
) -> IntegrationConnection | None:
    """The first connection to the provider's account `subject`, or None."""
    found = await connections_by_provider_subject(session, provider, subject)
    return found[0] if found else None


async def enqueue_sync(session: AsyncSession, connection: IntegrationConnection, settings: Settings) -> None:
    """Queue an import of the connection's slice."""
    connection.sync_status = SyncStatus.PENDING
    await session.flush()
    await jobs.enqueue(
        session, SYNC_JOB, {"connection_id": str(connection.id)}, max_attempts=settings.job_max_attempts
    )


async def request_sync(
    session: AsyncSession, settings: Settings, principal: Principal, provider: Provider
) -> IntegrationConnection:
    """Import the provider's slice again, now (as a job)."""
    connection = await get_connection(session, principal.signed_in_user.id, provider)
    if connection.access_token is None:
        raise IntegrationNotConnected(f"{provider.value} must be connected again: its tokens were revoked.")
    # An import already queued will read the provider as it is now: one is enough.
    if connection.sync_status != SyncStatus.PENDING:
        await enqueue_sync(session, connection, settings)
    return connection


def _needs_refresh(connection: IntegrationConnection, settings: Settings) -> bool:
    if connection.expires_at is None:
        return False
    return connection.expires_at - timedelta(seconds=settings.integration_refresh_margin_seconds) <= utcnow()


async def access_token_for(
    session: AsyncSession, connection: IntegrationConnection, settings: Settings
) -> str:
    """A usable access token, refreshed first when it expires within the margin.

    Refreshes of one connection are serialized (a row lock on PostgreSQL; SQLite transactions hold
    the write lock): Gusto spends a refresh token on use, so a second refresh with the old one
    would fail and lose the grant. Commit soon after: the new tokens exist only in this transaction."""
    if connection.access_token is None:
        raise IntegrationNotConnected(
            f"{connection.provider} must be connected again: its tokens were revoked."
        )
    if not _needs_refresh(connection, settings):
        return crypto.decrypt(settings, connection.access_token) or ""
    locked = await session.scalar(
        select(IntegrationConnection)
        .where(IntegrationConnection.id == connection.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if locked is None or locked.access_token is None:
        raise IntegrationNotConnected(f"{connection.provider} is no longer connected.")
    refresh_token = crypto.decrypt(settings, locked.refresh_token)
    if not _needs_refresh(locked, settings) or not refresh_token:
        return crypto.decrypt(settings, locked.access_token) or ""
    config = providers.config_of(settings, Provider(locked.provider))
    try:
        token = await providers.refresh(settings, config, refresh_token)
    except providers.ProviderFailed as failure:
        raise IntegrationProviderError(failure.detail, extra={"provider_error": failure.code}) from None
    _store_token(settings, locked, token)
    locked.refreshed_at = utcnow()
    await session.flush()
    return str(token["access_token"])


async def _delete_imported(session: AsyncSession, connection_id: UUID) -> None:
    for model in IMPORTED_TABLES:
        await session.execute(
            delete(model)
            .where(model.connection_id == connection_id)
            .execution_options(synchronize_session=False)
        )


async def drop_tokens(session: AsyncSession, connection: IntegrationConnection, *, reason: str = "") -> None:
    """Forget the connection's tokens (the provider revoked them): it shows as needing a reconnect."""
    connection.access_token = None
    connection.refresh_token = None
    connection.expires_at = None
    connection.sync_error = "The provider revoked access; connect again."
    await session.flush()
    await audit.record(
        session,
        actor=None,
        action="integration.tokens_dropped",
        subject_type=_subject_type(connection.provider),
        subject_id=connection.id,
        fields=["access_token", "refresh_token"],
        reason=reason or None,
    )


async def disconnect(
    session: AsyncSession,
    settings: Settings,
    connection: IntegrationConnection,
    *,
    actor: Principal | None,
    reason: str,
    revoke: bool = True,
) -> bool:
    """Revoke the grant at the provider, then delete the tokens and everything imported (audited).

    A provider that cannot be told does not keep the data here: it is deleted all the same, and the
    failure is recorded. Returns whether the provider confirmed the revocation."""
    provider = Provider(connection.provider)
    revoked = False
    failure: str | None = None
    config = providers.config_of(settings, provider)
    if revoke and connection.access_token is not None and not config.configured:
        failure = "not_configured"
    elif revoke and connection.access_token is not None:
        try:
            await providers.revoke(
                settings,
                config,
                subject=connection.subject,
                access_token=crypto.decrypt(settings, connection.access_token),
                refresh_token=crypto.decrypt(settings, connection.refresh_token),
            )
            revoked = True
        except providers.ProviderFailed as failed:
            failure = failed.code
        except crypto.TokenKeyError:
            failure = "undecryptable_token"
    connection_id = connection.id
    await _delete_imported(session, connection_id)
    await session.delete(connection)
    await session.flush()
    if failure:
        logger.warning("integration %s: revocation failed (%s); deleted locally", provider.value, failure)
        await audit.record(
            session,
            actor=actor,
            action="integration.revocation_failed",
            subject_type=_subject_type(provider),
            subject_id=connection_id,
            reason=f"{reason}; provider error: {failure}",
        )
    await audit.record(
        session,
        actor=actor,
        action="integration.disconnected",
        subject_type=_subject_type(provider),
        subject_id=connection_id,
        fields=["access_token", "refresh_token", "imported data"],
        reason=reason,
    )
    return revoked


async def disconnect_provider(
    session: AsyncSession, settings: Settings, principal: Principal, provider: Provider
) -> bool:
    """The signed-in person disconnects one provider."""
    connection = await get_connection(session, principal.signed_in_user.id, provider)
    return await disconnect(
        session, settings, connection, actor=principal, reason="disconnected by the account"
    )


async def disconnect_all(session: AsyncSession, settings: Settings, user_id: UUID, *, reason: str) -> int:
    """Disconnect every provider of an account (closed or erased): revoke, then delete."""
    connections = list(
        await session.scalars(select(IntegrationConnection).where(IntegrationConnection.user_id == user_id))
    )
    for connection in connections:
        await disconnect(session, settings, connection, actor=None, reason=reason)
    await session.execute(
        delete(IntegrationAuthorization)
        .where(IntegrationAuthorization.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    return len(connections)


async def sync(session: AsyncSession, settings: Settings, connection_id: UUID) -> None:
    """Import the connection's slice, replacing what the last import stored; a provider failure is
    recorded on the connection (and not retried: the person sees it and can sync again).

    The connection stays locked while it runs, so two imports of it never interleave their rows."""
    connection = await session.get(IntegrationConnection, connection_id, with_for_update=True)
    if connection is None or connection.access_token is None:
        return
    provider = Provider(connection.provider)
    config = providers.config_of(settings, provider)
    try:
        access_token = await access_token_for(session, connection, settings)
        found = await providers.read(settings, config, access_token)
    except IntegrationProviderError as failure:
        _sync_failed(connection, str(failure.extra.get("provider_error", "provider_error")))
        await session.flush()
        return
    except providers.ProviderFailed as failure:
        _sync_failed(connection, failure.code)
        await session.flush()
        return
    except crypto.TokenKeyError:
        _sync_failed(connection, "undecryptable_token")
        await session.flush()
        return
    await _delete_imported(session, connection.id)
    session.add_all(
        IntegrationCalendarEvent(
            connection_id=connection.id,
            user_id=connection.user_id,
            external_id=event.external_id,
            title=event.title,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            all_day=event.all_day,
        )
        for event in found.events
    )
    session.add_all(
        IntegrationEmployee(
            connection_id=connection.id,
            user_id=connection.user_id,
            external_id=employee.external_id,
            first_name=employee.first_name,
            last_name=employee.last_name,
            email=employee.email,
            job_title=employee.job_title,
        )
        for employee in found.employees
    )
    connection.account_email = (
        found.identity.email if provider is Provider.GOOGLE else connection.account_email
    )
    connection.account_name = found.identity.name or connection.account_name
    connection.last_synced_at = utcnow()
    connection.sync_status = SyncStatus.SUCCEEDED
    connection.sync_error = None
    await session.flush()


def _sync_failed(connection: IntegrationConnection, code: str) -> None:
    connection.sync_status = SyncStatus.FAILED
    connection.sync_error = f"The provider could not be read ({code[:64]})."


async def sync_gave_up(session: AsyncSession, connection_id: UUID) -> None:
    connection = await session.get(IntegrationConnection, connection_id)
    if connection is not None:
        connection.sync_status = SyncStatus.FAILED
        connection.sync_error = "The import failed repeatedly."
        await session.flush()


async def prune_authorizations(session: AsyncSession) -> int:
    """Delete authorizations nobody completed in time."""
    result = await session.execute(
        delete(IntegrationAuthorization)
        .where(IntegrationAuthorization.expires_at <= utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


async def rotate_keys(session: AsyncSession, settings: Settings) -> int:
    """Encrypt every stored token (and pending PKCE verifier) again under the newest key."""
    rotated = 0
    for connection in await session.scalars(select(IntegrationConnection).with_for_update()):
        connection.access_token = crypto.rotate(settings, connection.access_token)
        connection.refresh_token = crypto.rotate(settings, connection.refresh_token)
        rotated += 1
    for pending in await session.scalars(select(IntegrationAuthorization).with_for_update()):
        pending.code_verifier = crypto.rotate(settings, pending.code_verifier) or ""
    await session.flush()
    return rotated
