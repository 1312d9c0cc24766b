"""The cookie inventory, the banner's revision, and the devices that answered the banner."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opmaestro.core.clock import utcnow
from opmaestro.core.datamap import (
    ACCOUNT,
    CONSENT,
    DELETE,
    DEVICE,
    not_personal,
    personal,
    subject_key,
    subject_rows,
)
from opmaestro.core.db import Base, IdMixin, TimestampMixin

BANNER_ROW = 1


class CookieParty(StrEnum):
    FIRST = "first"
    THIRD = "third"


class CookieCategory(Base):
    """One of the banner's four categories, recorded in the ledger under its consent purpose."""

    __tablename__ = "cookie_category"

    key: Mapped[str] = mapped_column(String(32), primary_key=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(200), info=not_personal())
    description: Mapped[str] = mapped_column(Text, info=not_personal())
    purpose_key: Mapped[str] = mapped_column(
        ForeignKey("consent_purpose.key", ondelete="RESTRICT"), unique=True, info=not_personal()
    )
    required: Mapped[bool] = mapped_column(default=False, info=not_personal())
    position: Mapped[int] = mapped_column(Integer, info=not_personal("order on the banner"))


class CookieDefinition(IdMixin, TimestampMixin, Base):
    """A cookie (or a family of them, by pattern) the product or a service it embeds sets."""

    __tablename__ = "cookie_definition"

    category_key: Mapped[str] = mapped_column(
        ForeignKey("cookie_category.key", ondelete="RESTRICT"), index=True, info=not_personal()
    )
    name: Mapped[str] = mapped_column(String(128), unique=True, info=not_personal())
    pattern: Mapped[bool] = mapped_column(default=False, info=not_personal())
    provider: Mapped[str] = mapped_column(String(200), info=not_personal())
    description: Mapped[str] = mapped_column(Text, info=not_personal())
    duration: Mapped[str] = mapped_column(String(64), info=not_personal())
    party: Mapped[str] = mapped_column(String(8), info=not_personal())


class CookieBannerRevision(Base):
    """The banner's one row: `revision` grows with material inventory changes, `updated_at` with any."""

    __tablename__ = "cookie_banner"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, info=not_personal("always 1"))
    revision: Mapped[int] = mapped_column(Integer, default=1, info=not_personal())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, info=not_personal())


class CookieDevice(Base):
    """A browser that answered the banner; its id is random and only ever issued by the server."""

    __tablename__ = "cookie_device"
    __table_args__ = {"info": subject_rows(subject_key("user_id"))}

    id: Mapped[UUID] = mapped_column(primary_key=True, info=personal(DEVICE, erase=DELETE))
    user_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True, info=personal(ACCOUNT, erase=DELETE)
    )
    revision: Mapped[int | None] = mapped_column(
        Integer, info=not_personal("the banner revision of the device's last choice")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, info=personal(DEVICE, erase=DELETE))
    chosen_at: Mapped[datetime | None] = mapped_column(info=personal(DEVICE, erase=DELETE))
    linked_at: Mapped[datetime | None] = mapped_column(info=personal(DEVICE, erase=DELETE))


class CookieDeviceState(Base):
    """A device's current answer per purpose: the last event of its ledger chain (ConsentState's twin)."""

    __tablename__ = "cookie_device_state"
    __table_args__ = (
        UniqueConstraint("device_id", "purpose_key"),
        Index("ix_cookie_device_state_user_id", "user_id"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    id: Mapped[UUID] = mapped_column(
        primary_key=True, info=not_personal("the id of the event that created it")
    )
    device_id: Mapped[UUID] = mapped_column(
        ForeignKey("cookie_device.id", ondelete="CASCADE"), info=personal(DEVICE, erase=DELETE)
    )
    # The device's account, copied here so that a person's rows are found without a join.
    user_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), info=personal(ACCOUNT, erase=DELETE)
    )
    purpose_key: Mapped[str] = mapped_column(String(64), info=not_personal())
    purpose_version: Mapped[int] = mapped_column(Integer, info=not_personal())
    granted: Mapped[bool] = mapped_column(info=personal(CONSENT, erase=DELETE))
    action: Mapped[str] = mapped_column(String(16), info=personal(CONSENT, erase=DELETE))
    method: Mapped[str] = mapped_column(String(24), info=personal(CONSENT, erase=DELETE))
    event_id: Mapped[UUID] = mapped_column(info=not_personal("the event this state came from"))
    since: Mapped[datetime] = mapped_column(info=personal(CONSENT, erase=DELETE))
