"""The email outbox: every message we send, rendered, with its delivery state."""

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opmaestro.core.datamap import (
    COMMUNICATIONS,
    CONTACT,
    DELETE,
    not_personal,
    personal,
    subject_key,
    subject_rows,
)
from opmaestro.core.db import Base, IdMixin, TimestampMixin


class EmailCategory(StrEnum):
    SERVICE = "service"
    MARKETING = "marketing"


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    HELD = "held"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


class OutboxMessage(IdMixin, TimestampMixin, Base):
    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_to_address_created_at", "to_address", "created_at"),
        Index("ix_outbox_message_user_id", "user_id"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    to_address: Mapped[str] = mapped_column(String(320), info=personal(CONTACT, erase=DELETE))
    category: Mapped[str] = mapped_column(String(16), info=not_personal())
    # Marketing mail is checked against this user's consent again when it is sent.
    user_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), info=not_personal("pseudonymous id")
    )
    template: Mapped[str] = mapped_column(String(100), info=not_personal())
    subject: Mapped[str] = mapped_column(String(998), info=personal(COMMUNICATIONS, erase=DELETE))
    text_body: Mapped[str] = mapped_column(Text, info=personal(COMMUNICATIONS, erase=DELETE))
    html_body: Mapped[str] = mapped_column(Text, info=personal(COMMUNICATIONS, erase=DELETE))
    headers: Mapped[dict[str, Any]] = mapped_column(info=personal(COMMUNICATIONS, erase=DELETE))
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED, info=not_personal())
    last_error: Mapped[str | None] = mapped_column(Text, info=not_personal("redacted error text"))
    sent_at: Mapped[datetime | None] = mapped_column(info=not_personal())
