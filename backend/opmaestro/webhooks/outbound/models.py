"""Endpoints that receive our signed events, and each event's delivery to one of them."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opmaestro.core.datamap import (
    ACCOUNT,
    DELETE,
    INTEGRATION,
    SECURITY,
    not_personal,
    personal,
    subject_key,
    subject_rows,
)
from opmaestro.core.db import Base, IdMixin, TimestampMixin

URL_MAX_LENGTH = 2048
DESCRIPTION_MAX_LENGTH = 200


class EventType(StrEnum):
    CONSENT_CHANGED = "consent.changed"
    DATA_REQUEST_COMPLETED = "data_request.completed"
    ACCOUNT_CLOSED = "account.closed"
    ACCOUNT_DELETED = "account.deleted"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    # Retries ran out, or the endpoint was disabled or deleted before the delivery went out.
    FAILED = "failed"


class WebhookEndpoint(IdMixin, TimestampMixin, Base):
    """A URL a person or an OAuth client registered to receive events, with its signing secret."""

    __tablename__ = "webhook_endpoint"
    __table_args__ = (
        Index("ix_webhook_endpoint_user_id", "user_id"),
        Index("ix_webhook_endpoint_client_id", "client_id"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    # Exactly one owner: a person (their own events) or an OAuth client (every person's events).
    user_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), info=not_personal("pseudonymous id")
    )
    client_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("oauth_client.id", ondelete="CASCADE"), info=not_personal("an OAuth client's id")
    )
    url: Mapped[str] = mapped_column(String(URL_MAX_LENGTH), info=personal(INTEGRATION, erase=DELETE))
    description: Mapped[str] = mapped_column(
        String(DESCRIPTION_MAX_LENGTH), default="", info=personal(INTEGRATION, erase=DELETE)
    )
    event_types: Mapped[list[str]] = mapped_column(info=not_personal("names of event types"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, info=not_personal())
    # Fernet tokens (OPMAESTRO_WEBHOOK_SECRET_KEYS): we sign with the secret, so it cannot be hashed.
    secret_encrypted: Mapped[str] = mapped_column(Text, info=personal(SECURITY, erase=DELETE))
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text, info=personal(SECURITY, erase=DELETE))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, info=not_personal())
    disabled_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    disabled_reason: Mapped[str | None] = mapped_column(String(300), info=not_personal("our own words"))


class WebhookDelivery(IdMixin, TimestampMixin, Base):
    """One event sent (or to be sent) to one endpoint; its id is the `webhook-id` header."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_endpoint_id_created_at", "endpoint_id", "created_at"),
        Index("ix_webhook_delivery_subject_user_id", "subject_user_id"),
        Index("ix_webhook_delivery_status_updated_at", "status", "updated_at"),
        {"info": subject_rows(subject_key("subject_user_id"))},
    )

    endpoint_id: Mapped[UUID] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), info=not_personal()
    )
    # Whom the event is about; the events of erased people go with them.
    subject_user_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), info=not_personal("pseudonymous id")
    )
    event_type: Mapped[str] = mapped_column(String(40), info=not_personal())
    # The exact body sent on every attempt: ids and a few fields, never names or addresses.
    payload: Mapped[str] = mapped_column(Text, info=personal(ACCOUNT, erase=DELETE))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING, info=not_personal())
    attempts: Mapped[int] = mapped_column(Integer, default=0, info=not_personal())
    next_attempt_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    last_attempt_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    last_status_code: Mapped[int | None] = mapped_column(Integer, info=not_personal())
    last_duration_ms: Mapped[int | None] = mapped_column(Integer, info=not_personal())
    # What went wrong, in our words (never the secret, never the receiver's body).
    last_error: Mapped[str | None] = mapped_column(String(300), info=not_personal("our own words"))
    delivered_at: Mapped[datetime | None] = mapped_column(info=not_personal())
