"""What the integrations do when a provider tells us something (handlers of inbound webhooks),
and the Google Calendar push channels that make Google tell us about calendar changes.

- Google Cross-Account Protection: `sessions-revoked` and `account-disabled` sign the person out
  here too and drop the Google tokens; `tokens-revoked` drops the tokens.
- Google Calendar push (`exists`, `not_exists`): the connection is imported again.
- Gusto company and employee events: every connection to that company is imported again.
- Stripe `account.application.deauthorized`: the account disconnected us at Stripe; the
  connection and everything imported through it are deleted (nothing left to revoke).

A provider event older than the connection it would act on (the person connected again after
it was issued) leaves the new grant alone. Registered on import: `opmaestro.tasks` imports
this module.
"""

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import sessions as account_sessions
from opmaestro.audit import service as audit
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.links import public_url
from opmaestro.core.security import new_token
from opmaestro.integrations import crypto, service
from opmaestro.integrations.exceptions import IntegrationNotConnected, IntegrationProviderError
from opmaestro.integrations.models import IntegrationConnection, Provider, SyncStatus
from opmaestro.webhooks.inbound import calendar_push, risc
from opmaestro.webhooks.inbound.models import PushChannel
from opmaestro.webhooks.inbound.registry import Provider as Source
from opmaestro.webhooks.inbound.registry import ProviderEvent, handles, is_newer, link_subject

logger = logging.getLogger(__name__)

GUSTO_SYNC_EVENTS = (
    "company.updated",
    "employee.created",
    "employee.updated",
    "employee.onboarded",
    "employee.terminated",
    "employee.terminated_effective",
    "employee.rehired",
    "employee.rehire_effective",
    "employee.deleted",
)
STRIPE_DEAUTHORIZED = "account.application.deauthorized"
CALENDAR_CHANNELS_JOB = "integrations.calendar_channels"
CALENDAR_PUSH_PATH = "/api/v1/webhooks/google/calendar"
# Channels are asked to live this long (Google may grant less) and renewed a day before they end.
CHANNEL_TTL = timedelta(days=7)
RENEW_WITHIN = timedelta(days=1)
# The grant is gone, refused at refresh, or its token unreadable.
GRANT_ERRORS = (IntegrationNotConnected, IntegrationProviderError, crypto.TokenKeyError)


def _connected_after(connection: IntegrationConnection, event: ProviderEvent) -> bool:
    """The person connected again after the provider issued the event: it is not about this grant."""
    return event.occurred_at is not None and connection.connected_at > event.occurred_at


async def _by_subject(
    session: AsyncSession, provider: Provider, subject: str | None
) -> list[IntegrationConnection]:
    if not subject:
        return []
    return await service.connections_by_provider_subject(session, provider, subject)


async def _close_channels(session: AsyncSession, connection_id: UUID) -> list[PushChannel]:
    closed = []
    for channel in await calendar_push.open_channels_of(session, str(connection_id)):
        if found := await calendar_push.close_push_channel(session, channel.channel_id):
            closed.append(found)
    return closed


async def _drop_google_tokens(session: AsyncSession, connection: IntegrationConnection, reason: str) -> None:
    if connection.access_token is not None:
        await service.drop_tokens(session, connection, reason=reason)
    await _close_channels(session, connection.id)


@handles(Source.GOOGLE_RISC, risc.SESSIONS_REVOKED, risc.ACCOUNT_DISABLED)
async def sign_out_google_account(context: jobs.JobContext, event: ProviderEvent) -> None:
    """Google ended the account's sessions (or disabled it, say after a hijacking): sign the
    person out here too, and stop using the Google grant."""
    for connection in await _by_subject(context.session, Provider.GOOGLE, event.object_id):
        await link_subject(context.session, event, connection.user_id)
        await account_sessions.revoke_all(context.session, connection.user_id)
        await audit.record(
            context.session,
            actor=None,
            action="account.signed_out_by_provider",
            subject_type="user",
            subject_id=connection.user_id,
            reason=f"Google security event {event.event_type.rsplit('/', 1)[-1]}",
        )
        if not _connected_after(connection, event):
            await _drop_google_tokens(context.session, connection, "Google revoked the account's sessions")


@handles(Source.GOOGLE_RISC, risc.TOKENS_REVOKED)
async def drop_revoked_google_tokens(context: jobs.JobContext, event: ProviderEvent) -> None:
    """Google revoked the tokens it gave us for the account."""
    for connection in await _by_subject(context.session, Provider.GOOGLE, event.object_id):
        await link_subject(context.session, event, connection.user_id)
        if not _connected_after(connection, event):
            await _drop_google_tokens(context.session, connection, "Google revoked the tokens")


async def _resync(session: AsyncSession, settings: Settings, connection: IntegrationConnection) -> None:
    # An import already queued reads the provider as it is when it runs: one is enough.
    if connection.access_token is not None and connection.sync_status != SyncStatus.PENDING:
        await service.enqueue_sync(session, connection, settings)


@handles(Source.GOOGLE_CALENDAR, "exists", "not_exists")
async def resync_calendar(context: jobs.JobContext, event: ProviderEvent) -> None:
    """The watched calendar changed: import the connection's slice again."""
    reference = event.payload.get("connection_ref")
    try:
        connection_id = UUID(str(reference))
    except ValueError:
        return
    connection = await context.session.get(IntegrationConnection, connection_id)
    if connection is None or connection.access_token is None:
        await _close_channels(context.session, connection_id)
        return
    await _resync(context.session, context.settings, connection)


@handles(Source.GUSTO, *GUSTO_SYNC_EVENTS)
async def resync_gusto_company(context: jobs.JobContext, event: ProviderEvent) -> None:
    """The company or one of its employees changed: import each connection to that company again."""
    company = event.payload.get("resource_uuid")
    if not isinstance(company, str):
        return
    # An import reads the company as it is, so one for a newer event covers an older one.
    if not await is_newer(context.session, event.provider, f"company:{company}", event.object_version):
        return
    connections = await _by_subject(context.session, Provider.GUSTO, company)
    if connections:
        await link_subject(context.session, event, connections[0].user_id)
    for connection in connections:
        await _resync(context.session, context.settings, connection)


@handles(Source.STRIPE, STRIPE_DEAUTHORIZED)
async def forget_deauthorized_stripe_account(context: jobs.JobContext, event: ProviderEvent) -> None:
    """The Stripe account disconnected our platform: delete the connection and what it imported."""
    account = event.payload.get("account") or event.object_id
    if not isinstance(account, str):
        return
    for connection in await _by_subject(context.session, Provider.STRIPE, account):
        if _connected_after(connection, event):
            continue
        await link_subject(context.session, event, connection.user_id)
        await service.disconnect(
            context.session,
            context.settings,
            connection,
            actor=None,
            reason="the account disconnected us at Stripe",
            revoke=False,
        )


def _expiration(value: Any) -> datetime:
    """Google's `expiration`: milliseconds since the epoch, as a string."""
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return utcnow() + CHANNEL_TTL


async def open_channel(
    session: AsyncSession, settings: Settings, connection: IntegrationConnection
) -> PushChannel | None:
    """Ask Google to push changes of the primary calendar (`events.watch`) and register the channel."""
    access_token = await service.access_token_for(session, connection, settings)
    channel_id, channel_token = str(uuid.uuid4()), new_token(nbytes=24)
    async with httpx.AsyncClient(timeout=settings.integration_http_timeout_seconds) as client:
        response = await client.post(
            f"{settings.google_api_base_url.rstrip('/')}/calendars/primary/events/watch",
            headers={"Authorization": f"Bearer {access_token}"},
            json={
                "id": channel_id,
                "type": "web_hook",
                "address": public_url(settings, CALENDAR_PUSH_PATH),
                "token": channel_token,
                "params": {"ttl": str(int(CHANNEL_TTL.total_seconds()))},
            },
        )
    if not response.is_success:
        logger.warning("google refused a calendar channel (HTTP %d)", response.status_code)
        return None
    answer = response.json()
    resource_id = answer.get("resourceId") if isinstance(answer, dict) else None
    if not isinstance(resource_id, str) or not resource_id:
        logger.warning("google's answer to a calendar watch named no resource")
        return None
    return await calendar_push.register_push_channel(
        session,
        owner_user_id=connection.user_id,
        connection_ref=str(connection.id),
        channel_id=channel_id,
        token=channel_token,
        resource_id=resource_id[:255],
        expires_at=_expiration(answer.get("expiration")),
    )


async def stop_channel(
    session: AsyncSession, settings: Settings, connection: IntegrationConnection | None, channel: PushChannel
) -> None:
    """Stop a channel here, and at Google when the grant still allows (`channels.stop`)."""
    await calendar_push.close_push_channel(session, channel.channel_id)
    if connection is None or connection.access_token is None:
        return
    try:
        access_token = await service.access_token_for(session, connection, settings)
        async with httpx.AsyncClient(timeout=settings.integration_http_timeout_seconds) as client:
            await client.post(
                f"{settings.google_api_base_url.rstrip('/')}/channels/stop",
                headers={"Authorization": f"Bearer {access_token}"},
                json={"id": channel.channel_id, "resourceId": channel.resource_id},
            )
    except (httpx.HTTPError, *GRANT_ERRORS):
        # The channel expires on its own; notifications on it are refused from now on.
        logger.warning("a calendar channel could not be stopped at google")


async def maintain_calendar_channels(session: AsyncSession, settings: Settings) -> dict[str, int]:
    """Open a channel for every imported Google connection without one, renew the channels that
    end within a day, and close those whose connection is gone or lost its tokens."""
    counts = {"opened": 0, "renewed": 0, "closed": 0}
    connections = {
        connection.id: connection
        for connection in await session.scalars(
            select(IntegrationConnection).where(IntegrationConnection.provider == Provider.GOOGLE.value)
        )
    }
    open_channels = list(await session.scalars(select(PushChannel).where(PushChannel.closed_at.is_(None))))
    watched: set[UUID] = set()
    for channel in open_channels:
        try:
            connection = connections.get(UUID(channel.connection_ref))
        except ValueError:
            connection = None
        if connection is None or connection.access_token is None:
            await stop_channel(session, settings, connection, channel)
            counts["closed"] += 1
        elif channel.expires_at <= utcnow() + RENEW_WITHIN:
            if await _safely_open(session, settings, connection):
                await stop_channel(session, settings, connection, channel)
                counts["renewed"] += 1
                watched.add(connection.id)
        else:
            watched.add(connection.id)
    for connection in connections.values():
        imported = connection.last_synced_at is not None and connection.access_token is not None
        if imported and connection.id not in watched and await _safely_open(session, settings, connection):
            counts["opened"] += 1
    return counts


async def _safely_open(session: AsyncSession, settings: Settings, connection: IntegrationConnection) -> bool:
    try:
        return await open_channel(session, settings, connection) is not None
    except (httpx.HTTPError, ValueError, *GRANT_ERRORS):
        logger.warning("a calendar channel could not be opened", exc_info=True)
        return False


@jobs.handler(CALENDAR_CHANNELS_JOB)
async def calendar_channels(context: jobs.JobContext, _payload: dict[str, Any]) -> None:
    counts = await maintain_calendar_channels(context.session, context.settings)
    if any(counts.values()):
        logger.info("calendar channels: %(opened)d opened, %(renewed)d renewed, %(closed)d closed", counts)


# Soon after an import a channel opens; a day before one ends, it is renewed.
jobs.periodic(CALENDAR_CHANNELS_JOB, every=timedelta(minutes=10))
