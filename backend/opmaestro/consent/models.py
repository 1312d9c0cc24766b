"""Consent purposes, the append-only hash-chained consent ledger, each subject's current state, campaigns."""

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from opmaestro.core.clock import utcnow
from opmaestro.core.datamap import CONSENT, DEVICE, not_personal, personal, retain, subject_key, subject_rows
from opmaestro.core.db import Base, IdMixin, TimestampMixin

# GDPR Art. 7(1): the controller must be able to demonstrate that consent was given.
PROOF_OF_CONSENT = retain("proof of consent given or withdrawn (GDPR Art. 7(1))", days=2190)


def user_subject(user_id: UUID) -> str:
    """The ledger subject of a signed-up person (devices have subjects of their own)."""
    return f"user:{user_id}"


class ConsentAction(StrEnum):
    GRANTED = "granted"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"


class CollectionMethod(StrEnum):
    SIGNUP = "signup"
    SETTINGS = "settings"
    BANNER = "banner"
    API = "api"
    UNSUBSCRIBE_LINK = "unsubscribe_link"
    GPC = "gpc"
    STAFF_ON_REQUEST = "staff_on_request"
    # A choice made on one side (a browser or the account) copied to the other on sign-in.
    DEVICE_LINK = "device_link"


class LegalBasis(StrEnum):
    CONSENT = "consent"
    CONTRACT = "contract"
    LEGITIMATE_INTEREST = "legitimate_interest"
    LEGAL_OBLIGATION = "legal_obligation"


class ConsentPurpose(IdMixin, TimestampMixin, Base):
    """What a consent is for; `version` grows with every wording change."""

    __tablename__ = "consent_purpose"

    key: Mapped[str] = mapped_column(String(64), unique=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(200), info=not_personal())
    description: Mapped[str] = mapped_column(Text, info=not_personal())
    legal_basis: Mapped[str] = mapped_column(String(32), info=not_personal())
    optional: Mapped[bool] = mapped_column(default=True, info=not_personal())
    version: Mapped[int] = mapped_column(Integer, default=1, info=not_personal())
    # Consents given at a version below this one were given to a materially different purpose.
    renewal_version: Mapped[int] = mapped_column(Integer, default=1, info=not_personal())


class ConsentEvent(Base):
    """One ledger entry; never changed or removed, and chained by hash per subject."""

    __tablename__ = "consent_event"
    __table_args__ = (
        UniqueConstraint("subject", "seq"),
        Index("ix_consent_event_subject_user_id_created_at", "subject_user_id", "created_at"),
        {"info": subject_rows(subject_key("subject_user_id"))},
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, info=not_personal("public id"))
    subject: Mapped[str] = mapped_column(String(80), info=personal(CONSENT, erase=PROOF_OF_CONSENT))
    seq: Mapped[int] = mapped_column(Integer, info=not_personal("position in the subject's chain"))
    subject_user_id: Mapped[UUID | None] = mapped_column(info=personal(CONSENT, erase=PROOF_OF_CONSENT))
    device_id: Mapped[str | None] = mapped_column(String(64), info=personal(DEVICE, erase=PROOF_OF_CONSENT))
    purpose_key: Mapped[str] = mapped_column(String(64), info=not_personal())
    purpose_version: Mapped[int] = mapped_column(Integer, info=not_personal())
    action: Mapped[str] = mapped_column(String(16), info=personal(CONSENT, erase=PROOF_OF_CONSENT))
    method: Mapped[str] = mapped_column(String(24), info=personal(CONSENT, erase=PROOF_OF_CONSENT))
    policy_version: Mapped[str | None] = mapped_column(String(32), info=not_personal())
    policy_sha256: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    jurisdiction: Mapped[str | None] = mapped_column(
        String(2), info=personal(CONSENT, erase=PROOF_OF_CONSENT)
    )
    ip_address: Mapped[str | None] = mapped_column(String(45), info=personal(DEVICE, erase=PROOF_OF_CONSENT))
    user_agent: Mapped[str | None] = mapped_column(String(300), info=personal(DEVICE, erase=PROOF_OF_CONSENT))
    actor_id: Mapped[UUID | None] = mapped_column(info=not_personal("pseudonymous user or staff id"))
    actor_kind: Mapped[str] = mapped_column(String(16), info=not_personal())
    created_at: Mapped[datetime] = mapped_column(
        default=utcnow, info=personal(CONSENT, erase=PROOF_OF_CONSENT)
    )
    prev_hash: Mapped[str] = mapped_column(String(64), info=not_personal("hash of the previous entry"))
    hash: Mapped[str] = mapped_column(String(64), unique=True, info=not_personal("SHA-256 of this entry"))


class ConsentChainHead(Base):
    """The end of a subject's chain; locked by every writer, so appends to one chain are serial."""

    __tablename__ = "consent_chain_head"
    __table_args__ = {"info": subject_rows(subject_key("subject", value_of=user_subject))}

    subject: Mapped[str] = mapped_column(
        String(80), primary_key=True, info=personal(CONSENT, erase=PROOF_OF_CONSENT)
    )
    seq: Mapped[int] = mapped_column(Integer, default=0, info=not_personal())
    last_hash: Mapped[str] = mapped_column(String(64), info=not_personal())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, info=not_personal())


class ConsentState(IdMixin, Base):
    """A user's current answer per purpose: the last ledger event, kept for point lookups."""

    __tablename__ = "consent_state"
    __table_args__ = (
        UniqueConstraint("user_id", "purpose_key"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), info=not_personal("pseudonymous id")
    )
    purpose_key: Mapped[str] = mapped_column(String(64), info=not_personal())
    purpose_version: Mapped[int] = mapped_column(Integer, info=not_personal())
    granted: Mapped[bool] = mapped_column(info=personal(CONSENT, erase=PROOF_OF_CONSENT))
    action: Mapped[str] = mapped_column(String(16), info=personal(CONSENT, erase=PROOF_OF_CONSENT))
    method: Mapped[str] = mapped_column(String(24), info=personal(CONSENT, erase=PROOF_OF_CONSENT))
    event_id: Mapped[UUID] = mapped_column(info=not_personal("the event this state came from"))
    since: Mapped[datetime] = mapped_column(info=personal(CONSENT, erase=PROOF_OF_CONSENT))


# 64-bit on PostgreSQL; SQLite numbers rows itself only in an INTEGER PRIMARY KEY.
FeedNumber = BigInteger().with_variant(Integer(), "sqlite")


class ConsentFeedEntry(Base):
    """A person's consent event in the change feed that OAuth clients read.

    `arrival` is given when the event is written and orders events not yet in the feed;
    `position` is given later, under the feed head's lock, and only to events already committed,
    so positions become visible in order: a reader never sees one before a smaller one."""

    __tablename__ = "consent_feed_entry"

    arrival: Mapped[int] = mapped_column(
        FeedNumber, primary_key=True, autoincrement=True, info=not_personal()
    )
    # No foreign key, as for the ledger's own references: nothing may stand in the way of the
    # ledger's retention, and a missing event shows as a broken chain, not a refused delete.
    event_id: Mapped[UUID] = mapped_column(unique=True, info=not_personal("the event's public id"))
    position: Mapped[int | None] = mapped_column(BigInteger, unique=True, info=not_personal())


class ConsentFeedHead(Base):
    """The last position handed out in a feed; locked while positions are given."""

    __tablename__ = "consent_feed_head"

    name: Mapped[str] = mapped_column(String(32), primary_key=True, info=not_personal())
    position: Mapped[int] = mapped_column(BigInteger, default=0, info=not_personal())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, info=not_personal())


class ConsentEvidence(IdMixin, TimestampMixin, Base):
    """How a consent recorded by an OAuth client was collected, and the client's retry keys."""

    __tablename__ = "consent_evidence"
    __table_args__ = (
        UniqueConstraint("client_id", "idempotency_key"),
        UniqueConstraint("client_id", "reference"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    event_id: Mapped[UUID] = mapped_column(unique=True, info=not_personal("the event it backs"))
    user_id: Mapped[UUID] = mapped_column(index=True, info=not_personal("pseudonymous id"))
    client_id: Mapped[UUID] = mapped_column(
        ForeignKey("oauth_client.id"), info=not_personal("the OAuth client that recorded it")
    )
    # The client writes the key and the wording: they may say more about the person than meant to.
    idempotency_key: Mapped[str | None] = mapped_column(
        String(255), info=personal(CONSENT, erase=PROOF_OF_CONSENT)
    )
    reference: Mapped[str | None] = mapped_column(String(100), info=personal(CONSENT, erase=PROOF_OF_CONSENT))
    request_sha256: Mapped[str] = mapped_column(String(64), info=not_personal("fingerprint of the request"))
    source: Mapped[str] = mapped_column(String(200), info=personal(CONSENT, erase=PROOF_OF_CONSENT))
    collected_at: Mapped[datetime] = mapped_column(info=personal(CONSENT, erase=PROOF_OF_CONSENT))
    notice_version: Mapped[str | None] = mapped_column(String(64), info=not_personal())
    notice_text: Mapped[str | None] = mapped_column(Text, info=personal(CONSENT, erase=PROOF_OF_CONSENT))


class AppendOnlyError(RuntimeError):
    """Consent events are never changed or removed."""


@event.listens_for(ConsentEvent, "before_update")
@event.listens_for(ConsentEvent, "before_delete")
def _refuse_change(_mapper: Mapper[Any], _connection: Any, _target: ConsentEvent) -> None:
    raise AppendOnlyError("consent events are append-only")


_BROADCAST = "staff-written text, the same for every recipient"


class EmailCampaign(IdMixin, TimestampMixin, Base):
    """A marketing message staff sent to every user who had consented at the time."""

    __tablename__ = "email_campaign"

    created_by: Mapped[UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), info=not_personal("pseudonymous staff id")
    )
    purpose_key: Mapped[str] = mapped_column(String(64), info=not_personal())
    subject: Mapped[str] = mapped_column(String(998), info=not_personal(_BROADCAST))
    text_body: Mapped[str] = mapped_column(Text, info=not_personal(_BROADCAST))
    html_body: Mapped[str | None] = mapped_column(Text, info=not_personal(_BROADCAST))
    recipients: Mapped[int] = mapped_column(info=not_personal("a count"))
