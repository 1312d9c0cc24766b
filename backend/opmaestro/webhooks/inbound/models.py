"""Inbound events as received, the last applied version per provider object, Google push
channels, and Gusto webhook subscriptions."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opmaestro.core.clock import utcnow
from opmaestro.core.datamap import (
    ACCOUNT,
    DELETE,
    INTEGRATION,
    SECURITY,
    no_subject_rows,
    not_personal,
    personal,
    subject_key,
    subject_rows,
)
from opmaestro.core.db import Base, IdMixin


class EventState(StrEnum):
    RECEIVED = "received"
    HANDLED = "handled"
    IGNORED = "ignored"
    FAILED = "failed"


class InboundEvent(IdMixin, Base):
    """One provider delivery, stored once per (provider, provider event id)."""

    __tablename__ = "inbound_event"
    __table_args__ = (
        UniqueConstraint("provider", "event_id"),
        Index("ix_inbound_event_state_received_at", "state", "received_at"),
        Index("ix_inbound_event_user_id", "user_id"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    provider: Mapped[str] = mapped_column(String(32), info=not_personal())
    event_id: Mapped[str] = mapped_column(String(255), info=not_personal("the provider's event id"))
    event_type: Mapped[str] = mapped_column(String(255), info=not_personal())
    # A Stripe customer, a Gusto employee or a Google account id can point at a person.
    object_id: Mapped[str | None] = mapped_column(String(255), info=personal(INTEGRATION, erase=DELETE))
    object_version: Mapped[int | None] = mapped_column(
        BigInteger, info=not_personal("the provider's ordering number or timestamp")
    )
    occurred_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    body: Mapped[str] = mapped_column(Text, info=personal(INTEGRATION, erase=DELETE))
    # Set by a handler once it knows whose event it is (a RISC subject, a channel's owner).
    user_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), info=personal(ACCOUNT, erase=DELETE)
    )
    received_at: Mapped[datetime] = mapped_column(default=utcnow, info=not_personal())
    state: Mapped[str] = mapped_column(String(16), default=EventState.RECEIVED, info=not_personal())
    attempts: Mapped[int] = mapped_column(default=0, info=not_personal())
    last_error: Mapped[str | None] = mapped_column(Text, info=not_personal("redacted error text"))
    handled_at: Mapped[datetime | None] = mapped_column(info=not_personal())


class ObjectVersion(Base):
    """The newest version applied per provider object, so an older delivery never rolls state back."""

    __tablename__ = "inbound_object_version"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True, info=not_personal())
    object_key: Mapped[str] = mapped_column(
        String(64), primary_key=True, info=not_personal("SHA-256 of the provider's object id, never the id")
    )
    version: Mapped[int] = mapped_column(BigInteger, info=not_personal())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, info=not_personal())


class PushChannel(IdMixin, Base):
    """A Google Calendar push channel we opened (`events/watch`) and the token it carries."""

    __tablename__ = "google_push_channel"
    __table_args__ = (
        Index("ix_google_push_channel_expires_at", "expires_at"),
        {"info": subject_rows(subject_key("owner_user_id"))},
    )

    owner_user_id: Mapped[UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True, info=personal(ACCOUNT, erase=DELETE)
    )
    connection_ref: Mapped[str] = mapped_column(
        String(64), info=not_personal("the integration connection's id")
    )
    channel_id: Mapped[str] = mapped_column(
        String(64), unique=True, info=not_personal("our random channel id")
    )
    token_hash: Mapped[str] = mapped_column(String(64), info=personal(SECURITY, erase=DELETE))
    resource_id: Mapped[str] = mapped_column(String(255), info=personal(INTEGRATION, erase=DELETE))
    expires_at: Mapped[datetime] = mapped_column(info=not_personal())
    last_message_number: Mapped[int | None] = mapped_column(BigInteger, info=not_personal())
    created_at: Mapped[datetime] = mapped_column(default=utcnow, info=not_personal())
    closed_at: Mapped[datetime | None] = mapped_column(info=not_personal())


class GustoSubscription(IdMixin, Base):
    """A Gusto webhook subscription's verification token, delivered by Gusto's handshake."""

    __tablename__ = "gusto_webhook_subscription"
    __table_args__ = (
        UniqueConstraint("subscription_uuid", "token_hash"),
        {"info": no_subject_rows("a subscription belongs to our Gusto application, not to a person")},
    )

    subscription_uuid: Mapped[str] = mapped_column(String(64), info=not_personal())
    token_encrypted: Mapped[str] = mapped_column(
        Text, info=not_personal("a shared secret with Gusto, encrypted at rest")
    )
    token_hash: Mapped[str] = mapped_column(String(64), info=not_personal("SHA-256 of the token"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, info=not_personal())
    verified_at: Mapped[datetime | None] = mapped_column(info=not_personal())
