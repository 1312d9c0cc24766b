"""Data subject requests and the legal holds that can block an erasure."""

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opmaestro.core.datamap import (
    ACCOUNT,
    CONTACT,
    DELETE,
    SECURITY,
    not_personal,
    personal,
    retain,
    subject_key,
    subject_rows,
)
from opmaestro.core.db import Base, IdMixin, TimestampMixin

# Request records outlive the account they concern: they prove how each request was answered.
REQUEST_RECORD = retain("record of a data subject request and how it was answered", days=730)
HOLD_RECORD = retain("record of a legal hold and the obligation behind it", days=2190)


class RequestKind(StrEnum):
    EXPORT = "export"
    ERASURE = "erasure"
    CORRECTION = "correction"


class RequestState(StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DENIED = "denied"
    CANCELLED = "cancelled"
    # An erasure whose verification scan still found the person: staff are alerted.
    FAILED = "failed"


OPEN_STATES = frozenset({RequestState.RECEIVED, RequestState.VERIFIED, RequestState.IN_PROGRESS})
CLOSED_STATES = frozenset(RequestState) - OPEN_STATES


class Jurisdiction(StrEnum):
    """Which deadline rule applies: GDPR-style (EU/EEA/UK/CH), California (CCPA), or the default."""

    EUROPE = "europe"
    CALIFORNIA = "california"
    OTHER = "other"


class DataRequest(IdMixin, TimestampMixin, Base):
    """One request to access, export, correct or erase personal data, from received to closed."""

    __tablename__ = "data_request"
    __table_args__ = (
        Index("ix_data_request_user_id_kind_state", "user_id", "kind", "state"),
        Index("ix_data_request_state_due_at", "state", "due_at"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    kind: Mapped[str] = mapped_column(String(16), info=not_personal())
    state: Mapped[str] = mapped_column(String(16), default=RequestState.RECEIVED, info=not_personal())
    # Null for a request from someone without an account, and after the account is erased.
    user_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), info=not_personal("pseudonymous id")
    )
    # Where answers go for a request made without an account; anonymized after 24 months.
    email: Mapped[str | None] = mapped_column(String(320), info=personal(CONTACT, erase=REQUEST_RECORD))
    jurisdiction: Mapped[str] = mapped_column(String(16), info=not_personal())
    # Correction requests: what is wrong, and which fields it concerns.
    details: Mapped[str | None] = mapped_column(Text, info=personal(ACCOUNT, erase=REQUEST_RECORD))
    fields: Mapped[list[str]] = mapped_column(default=list, info=not_personal("names of fields"))
    due_at: Mapped[datetime] = mapped_column(info=not_personal())
    extended_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    extension_reason: Mapped[str | None] = mapped_column(String(1000), info=not_personal("staff's reason"))
    verified_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    started_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    closed_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    # Denial, failure or resolution note, as told to the requester.
    outcome: Mapped[str | None] = mapped_column(String(2000), info=personal(ACCOUNT, erase=REQUEST_RECORD))
    # Erasure: runs once this passes, cancellable until then.
    erase_after: Mapped[datetime | None] = mapped_column(info=not_personal())
    progress_percent: Mapped[int] = mapped_column(Integer, default=0, info=not_personal())
    # Hash of the emailed link that verifies a request made without an account.
    verification_hash: Mapped[str | None] = mapped_column(
        String(64), unique=True, info=personal(SECURITY, erase=DELETE)
    )
    # Export: the finished file (a name inside the export directory), until it expires.
    export_file: Mapped[str | None] = mapped_column(String(200), info=not_personal("random file name"))
    export_sha256: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    export_size: Mapped[int | None] = mapped_column(BigInteger, info=not_personal())
    export_expires_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    # Erasure: the deletion certificate (hashed subject id, rows per table, time; nothing personal).
    certificate: Mapped[dict[str, Any] | None] = mapped_column(info=not_personal("no personal data"))
    reminded_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    anonymized_at: Mapped[datetime | None] = mapped_column(info=not_personal())


class LegalHold(IdMixin, TimestampMixin, Base):
    """Staff keep a category of one person's data through erasure, for a stated legal reason."""

    __tablename__ = "legal_hold"
    __table_args__ = (
        Index("ix_legal_hold_user_id", "user_id"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), info=not_personal("pseudonymous id")
    )
    category: Mapped[str] = mapped_column(String(32), info=not_personal())
    reason: Mapped[str] = mapped_column(String(1000), info=personal(ACCOUNT, erase=HOLD_RECORD))
    created_by: Mapped[UUID | None] = mapped_column(info=not_personal("staff id"))
    released_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    released_by: Mapped[UUID | None] = mapped_column(info=not_personal("staff id"))
