"""Google Calendar push notifications: the channels we open, and the notifications they carry.

The watch call itself (`events/watch`) is the integrations domain's: it opens a channel with a
random id and token, then registers it here so that notifications can be checked.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.security import equals, hash_token
from opmaestro.webhooks.inbound import store
from opmaestro.webhooks.inbound.exceptions import InvalidChannelToken, MalformedEvent, UnknownChannel
from opmaestro.webhooks.inbound.models import PushChannel
from opmaestro.webhooks.inbound.registry import Provider

# Google sends `sync` once when a channel opens; the others say the resource changed.
SYNC = "sync"
CHANGE_STATES = frozenset({"exists", "not_exists"})


async def register_push_channel(
    session: AsyncSession,
    *,
    owner_user_id: UUID,
    connection_ref: str,
    channel_id: str,
    token: str,
    resource_id: str,
    expires_at: datetime,
) -> PushChannel:
    """Remember a channel opened at Google; only a hash of its token is kept."""
    channel = PushChannel(
        owner_user_id=owner_user_id,
        connection_ref=connection_ref,
        channel_id=channel_id,
        token_hash=hash_token(token),
        resource_id=resource_id,
        expires_at=expires_at,
    )
    session.add(channel)
    await session.flush()
    return channel


async def close_push_channel(session: AsyncSession, channel_id: str) -> PushChannel | None:
    """Stop accepting notifications on a channel (stopped at Google, renewed, or disconnected)."""
    channel = await session.scalar(select(PushChannel).where(PushChannel.channel_id == channel_id))
    if channel is not None and channel.closed_at is None:
        channel.closed_at = utcnow()
        await session.flush()
    return channel


async def channels_expiring_before(session: AsyncSession, when: datetime) -> list[PushChannel]:
    """Open channels that expire before `when`, soonest first (to renew them)."""
    return list(
        (
            await session.scalars(
                select(PushChannel)
                .where(PushChannel.closed_at.is_(None), PushChannel.expires_at < when)
                .order_by(PushChannel.expires_at)
            )
        ).all()
    )


async def open_channels_of(session: AsyncSession, connection_ref: str) -> list[PushChannel]:
    return list(
        (
            await session.scalars(
                select(PushChannel).where(
                    PushChannel.connection_ref == connection_ref, PushChannel.closed_at.is_(None)
                )
            )
        ).all()
    )


@dataclass(frozen=True)
class Notification:
    channel_id: str
    token: str | None
    resource_id: str | None
    resource_state: str
    message_number: str | None
    expiration: str | None
    resource_uri: str | None
    changed: str | None


async def receive(session: AsyncSession, settings: Settings, note: Notification) -> bool:
    """Check the channel and its token; store a change notification once and queue its handling.
    `sync` is acknowledged without storing; False for a repeat."""
    channel = await session.scalar(select(PushChannel).where(PushChannel.channel_id == note.channel_id))
    if channel is None or channel.closed_at is not None:
        raise UnknownChannel()
    if not note.token or not equals(hash_token(note.token), channel.token_hash):
        raise InvalidChannelToken()
    if note.resource_id is not None and note.resource_id != channel.resource_id:
        raise MalformedEvent("The resource id is not the channel's.")
    if note.resource_state == SYNC:
        return False
    if note.resource_state not in CHANGE_STATES:
        raise MalformedEvent("Unknown resource state.")
    if note.message_number is None or not note.message_number.isdigit() or len(note.message_number) > 18:
        raise MalformedEvent("The message number is missing or malformed.")
    number = int(note.message_number)
    await session.execute(
        update(PushChannel)
        .where(
            PushChannel.id == channel.id,
            or_(PushChannel.last_message_number.is_(None), PushChannel.last_message_number < number),
        )
        .values(last_message_number=number)
        .execution_options(synchronize_session=False)
    )
    body = {
        "channel-id": note.channel_id,
        "resource-id": channel.resource_id,
        "resource-state": note.resource_state,
        "message-number": note.message_number,
        "channel-expiration": note.expiration,
        "resource-uri": note.resource_uri,
        "changed": note.changed,
        "owner_user_id": str(channel.owner_user_id),
        "connection_ref": channel.connection_ref,
    }
    return await store.receive(
        session,
        settings,
        provider=Provider.GOOGLE_CALENDAR,
        event_id=f"{note.channel_id}:{number}",
        event_type=note.resource_state,
        object_id=note.channel_id,
        object_version=number,
        occurred_at=utcnow(),
        body=json.dumps(body),
        user_id=channel.owner_user_id,
    )
