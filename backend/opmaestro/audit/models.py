"""The append-only audit log."""

from typing import Any
from uuid import UUID

from sqlalchemy import Index, String, event
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from opmaestro.core.datamap import ACCOUNT, not_personal, personal, retain, subject_key, subject_rows
from opmaestro.core.db import Base, IdMixin, TimestampMixin

ACCOUNTABILITY = retain("accountability for changes to and access of personal data", days=2190)


class AuditRecord(IdMixin, TimestampMixin, Base):
    __tablename__ = "audit_record"
    __table_args__ = (
        Index("ix_audit_record_subject_id_created_at", "subject_id", "created_at"),
        Index("ix_audit_record_actor_id_created_at", "actor_id", "created_at"),
        {
            "info": subject_rows(
                subject_key("actor_id"), subject_key("subject_id", value_of=str, subject_type="user")
            )
        },
    )

    actor_id: Mapped[UUID | None] = mapped_column(info=not_personal("pseudonymous id"))
    actor_kind: Mapped[str] = mapped_column(String(16), info=not_personal())
    action: Mapped[str] = mapped_column(String(64), info=not_personal())
    subject_type: Mapped[str] = mapped_column(String(40), info=not_personal())
    subject_id: Mapped[str | None] = mapped_column(String(64), info=not_personal("pseudonymous id"))
    fields: Mapped[list[str]] = mapped_column(info=not_personal("names of changed fields, never values"))
    reason: Mapped[str | None] = mapped_column(String(500), info=personal(ACCOUNT, erase=ACCOUNTABILITY))
    request_id: Mapped[str | None] = mapped_column(String(128), info=not_personal())


class AppendOnlyError(RuntimeError):
    """Audit records are never changed or removed."""


@event.listens_for(AuditRecord, "before_update")
@event.listens_for(AuditRecord, "before_delete")
def _refuse_change(_mapper: Mapper[Any], _connection: Any, _target: AuditRecord) -> None:
    raise AppendOnlyError("audit records are append-only")
