"""Connections to Google, Gusto and Stripe, the pending authorizations, and the imported slices."""

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opmaestro.core.clock import utcnow
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
from opmaestro.core.db import Base, IdMixin, TimestampMixin, UtcDateTime


class Provider(StrEnum):
    GOOGLE = "google"
    GUSTO = "gusto"
    STRIPE = "stripe"


class SyncStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class IntegrationConnection(IdMixin, TimestampMixin, Base):
    """One account's grant at one provider: who it is there, what was granted, the encrypted tokens."""

    __tablename__ = "integration_connection"
    __table_args__ = (
        UniqueConstraint("user_id", "provider"),
        Index("ix_integration_connection_provider_subject", "provider", "subject"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), info=personal(ACCOUNT, erase=DELETE)
    )
    provider: Mapped[str] = mapped_column(String(16), info=not_personal())
    # The provider's id of the account: Google's `sub`, the Gusto company uuid, the Stripe account id.
    subject: Mapped[str] = mapped_column(String(255), info=personal(INTEGRATION, erase=DELETE))
    account_email: Mapped[str | None] = mapped_column(String(320), info=personal(INTEGRATION, erase=DELETE))
    account_name: Mapped[str | None] = mapped_column(String(300), info=personal(INTEGRATION, erase=DELETE))
    granted_scopes: Mapped[list[str]] = mapped_column(JSON, info=personal(INTEGRATION, erase=DELETE))
    access_token: Mapped[str | None] = mapped_column(
        Text, info=personal(SECURITY, erase=DELETE)
    )  # Fernet ciphertext
    refresh_token: Mapped[str | None] = mapped_column(
        Text, info=personal(SECURITY, erase=DELETE)
    )  # Fernet ciphertext
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, info=personal(INTEGRATION, erase=DELETE))
    connected_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, info=personal(INTEGRATION, erase=DELETE)
    )
    refreshed_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, info=personal(INTEGRATION, erase=DELETE)
    )
    last_synced_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, info=personal(INTEGRATION, erase=DELETE)
    )
    sync_status: Mapped[str] = mapped_column(String(16), default=SyncStatus.PENDING, info=not_personal())
    sync_error: Mapped[str | None] = mapped_column(
        String(300), info=not_personal("our own wording of what failed, no provider data")
    )


class IntegrationAuthorization(IdMixin, Base):
    """An authorization started by `connect` and not yet completed: single use, short-lived."""

    __tablename__ = "integration_authorization"
    __table_args__ = (
        Index("ix_integration_authorization_user_id", "user_id"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), info=personal(ACCOUNT, erase=DELETE)
    )
    provider: Mapped[str] = mapped_column(String(16), info=not_personal())
    state_hash: Mapped[str] = mapped_column(
        String(64), unique=True, info=not_personal("SHA-256 of a random value, never the value")
    )
    code_verifier: Mapped[str] = mapped_column(
        Text, info=not_personal("a random PKCE verifier, Fernet-encrypted")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, info=not_personal())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, info=not_personal())


class IntegrationCalendarEvent(IdMixin, Base):
    """A Google Calendar event of the next days (primary calendar): its times and title only."""

    __tablename__ = "integration_calendar_event"
    __table_args__ = (
        Index("ix_integration_calendar_event_connection_id", "connection_id"),
        Index("ix_integration_calendar_event_user_id", "user_id"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    connection_id: Mapped[UUID] = mapped_column(
        ForeignKey("integration_connection.id", ondelete="CASCADE"), info=not_personal()
    )
    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), info=personal(ACCOUNT, erase=DELETE)
    )
    external_id: Mapped[str] = mapped_column(String(1024), info=personal(INTEGRATION, erase=DELETE))
    title: Mapped[str | None] = mapped_column(String(1024), info=personal(INTEGRATION, erase=DELETE))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime, info=personal(INTEGRATION, erase=DELETE))
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime, info=personal(INTEGRATION, erase=DELETE))
    all_day: Mapped[bool] = mapped_column(default=False, info=personal(INTEGRATION, erase=DELETE))


class IntegrationEmployee(IdMixin, Base):
    """A Gusto employee of the connected company: name, work email and job title only."""

    __tablename__ = "integration_employee"
    __table_args__ = (
        Index("ix_integration_employee_connection_id", "connection_id"),
        Index("ix_integration_employee_user_id", "user_id"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    connection_id: Mapped[UUID] = mapped_column(
        ForeignKey("integration_connection.id", ondelete="CASCADE"), info=not_personal()
    )
    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), info=personal(ACCOUNT, erase=DELETE)
    )
    external_id: Mapped[str] = mapped_column(String(255), info=personal(INTEGRATION, erase=DELETE))
    first_name: Mapped[str | None] = mapped_column(String(200), info=personal(INTEGRATION, erase=DELETE))
    last_name: Mapped[str | None] = mapped_column(String(200), info=personal(INTEGRATION, erase=DELETE))
    email: Mapped[str | None] = mapped_column(String(320), info=personal(INTEGRATION, erase=DELETE))
    job_title: Mapped[str | None] = mapped_column(String(300), info=personal(INTEGRATION, erase=DELETE))


def scopes_list(value: Any) -> list[str]:
    """The granted scopes as a list, from a token response's `scope` (space- or comma-separated)."""
    if isinstance(value, list | tuple):
        return [str(scope) for scope in value if str(scope).strip()]
    if isinstance(value, str):
        return [scope for scope in value.replace(",", " ").split() if scope]
    return []
