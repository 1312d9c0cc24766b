"""Published versions of the privacy policy, the terms and notices, and who accepted which."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opmaestro.core.datamap import CONSENT, not_personal, personal, retain, subject_key, subject_rows
from opmaestro.core.db import Base, IdMixin, TimestampMixin


class PolicyKind(StrEnum):
    PRIVACY = "privacy"
    TERMS = "terms"
    US_TRANSFER_NOTICE = "us_transfer_notice"


class PolicyVersion(IdMixin, TimestampMixin, Base):
    __tablename__ = "policy_version"
    __table_args__ = (UniqueConstraint("kind", "version"),)

    kind: Mapped[str] = mapped_column(String(32), info=not_personal())
    version: Mapped[str] = mapped_column(String(32), info=not_personal())
    title: Mapped[str] = mapped_column(String(200), info=not_personal())
    body: Mapped[str] = mapped_column(Text, info=not_personal())
    sha256: Mapped[str] = mapped_column(String(64), info=not_personal())
    effective_at: Mapped[datetime] = mapped_column(info=not_personal())


class PolicyAcceptance(IdMixin, TimestampMixin, Base):
    """Proof that a user accepted or acknowledged a policy version."""

    __tablename__ = "policy_acceptance"
    __table_args__ = (
        Index("ix_policy_acceptance_user_id_kind", "user_id", "kind"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), info=not_personal("pseudonymous id")
    )
    kind: Mapped[str] = mapped_column(String(32), info=not_personal())
    version: Mapped[str] = mapped_column(String(32), info=not_personal())
    accepted_at: Mapped[datetime] = mapped_column(
        info=personal(CONSENT, erase=retain("proof of the terms and notices the user accepted", days=2190))
    )
    method: Mapped[str] = mapped_column(String(20), info=not_personal())
