"""Users, their sessions, single-use email tokens, API tokens, OAuth clients, security events."""

import secrets
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from opmaestro.core.datamap import (
    ACCOUNT,
    CONTACT,
    DELETE,
    DEVICE,
    IDENTITY,
    PROFESSIONAL,
    SECURITY,
    USAGE,
    anonymize,
    not_personal,
    personal,
    retain,
    subject_key,
    subject_rows,
)
from opmaestro.core.db import Base, IdMixin, TimestampMixin


class Role(StrEnum):
    MEMBER = "member"
    SUPPORT = "support"
    PRIVACY_OFFICER = "privacy_officer"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.SUPPORT, Role.PRIVACY_OFFICER, Role.ADMIN})


class UserStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"
    DISABLED = "disabled"
    # Personal data deleted or anonymized (DSAR erasure); the row stays so references hold.
    ERASED = "erased"


class TokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    CHANGE_EMAIL = "change_email"
    RESET_PASSWORD = "reset_password"


def erased_email(_old: str) -> str:
    """Unique, so the unique index holds after erasure, and random: a hash of the address would
    let anyone holding the database confirm that a guessed address had an account."""
    return f"erased-{secrets.token_hex(10)}@erased.invalid"


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "user_account"
    __table_args__ = {"info": subject_rows(subject_key("id"))}

    email: Mapped[str] = mapped_column(
        String(320), unique=True, info=personal(CONTACT, erase=anonymize(erased_email))
    )
    email_verified_at: Mapped[datetime | None] = mapped_column(info=personal(ACCOUNT, erase=DELETE))
    name: Mapped[str] = mapped_column(String(200), info=personal(IDENTITY, erase=anonymize("Erased user")))
    company: Mapped[str | None] = mapped_column(String(200), info=personal(PROFESSIONAL, erase=DELETE))
    job_title: Mapped[str | None] = mapped_column(String(200), info=personal(PROFESSIONAL, erase=DELETE))
    phone: Mapped[str | None] = mapped_column(String(20), info=personal(CONTACT, erase=DELETE))
    country: Mapped[str] = mapped_column(String(2), info=personal(IDENTITY, erase=anonymize("ZZ")))
    date_of_birth: Mapped[date | None] = mapped_column(info=personal(IDENTITY, erase=DELETE))
    age_attested_at: Mapped[datetime] = mapped_column(
        info=personal(
            ACCOUNT, erase=retain("evidence that the user attested to being 18 or older", days=2190)
        )
    )
    password_hash: Mapped[str] = mapped_column(
        String(255), info=personal(SECURITY, erase=anonymize("!erased"))
    )
    password_changed_at: Mapped[datetime] = mapped_column(info=not_personal())
    role: Mapped[str] = mapped_column(String(20), default=Role.MEMBER, info=not_personal())
    status: Mapped[str] = mapped_column(String(16), default=UserStatus.ACTIVE, info=not_personal())
    closed_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    deletion_due_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    mfa_secret: Mapped[str | None] = mapped_column(String(64), info=personal(SECURITY, erase=DELETE))
    mfa_enabled_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    # RFC 6238 §5.2: a code, once accepted, must not be accepted again.
    mfa_last_step: Mapped[int | None] = mapped_column(BigInteger, info=not_personal("TOTP replay guard"))

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def mfa_enabled(self) -> bool:
        return self.mfa_enabled_at is not None


class UserSession(IdMixin, TimestampMixin, Base):
    __tablename__ = "user_session"
    __table_args__ = (
        Index("ix_user_session_user_id", "user_id"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), info=not_personal("pseudonymous id")
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, info=personal(SECURITY, erase=DELETE))
    last_seen_at: Mapped[datetime] = mapped_column(info=personal(DEVICE, erase=DELETE))
    expires_at: Mapped[datetime] = mapped_column(info=not_personal())
    ip_address: Mapped[str | None] = mapped_column(String(45), info=personal(DEVICE, erase=DELETE))
    user_agent: Mapped[str | None] = mapped_column(String(400), info=personal(DEVICE, erase=DELETE))
    mfa_verified: Mapped[bool] = mapped_column(default=False, info=not_personal())
    revoked_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    # When the password or a second factor was last entered in this session (sign-in or a
    # re-authentication): sensitive actions ask that it be recent.
    reauthenticated_at: Mapped[datetime | None] = mapped_column(info=not_personal())


class AccountToken(IdMixin, TimestampMixin, Base):
    """Single-use tokens sent by email: verify an address, change it, reset a password."""

    __tablename__ = "account_token"
    __table_args__ = (
        Index("ix_account_token_user_id_purpose", "user_id", "purpose"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), info=not_personal("pseudonymous id")
    )
    purpose: Mapped[str] = mapped_column(String(20), info=not_personal())
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, info=personal(SECURITY, erase=DELETE))
    new_email: Mapped[str | None] = mapped_column(String(320), info=personal(CONTACT, erase=DELETE))
    expires_at: Mapped[datetime] = mapped_column(info=not_personal())
    used_at: Mapped[datetime | None] = mapped_column(info=not_personal())


class PersonalAccessToken(IdMixin, TimestampMixin, Base):
    __tablename__ = "personal_access_token"
    __table_args__ = (
        Index("ix_personal_access_token_user_id", "user_id"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), info=not_personal("pseudonymous id")
    )
    name: Mapped[str] = mapped_column(String(100), info=personal(ACCOUNT, erase=DELETE))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, info=personal(SECURITY, erase=DELETE))
    hint: Mapped[str] = mapped_column(String(16), info=not_personal("last characters, to recognise it"))
    scopes: Mapped[list[str]] = mapped_column(info=not_personal())
    expires_at: Mapped[datetime] = mapped_column(info=not_personal())
    last_used_at: Mapped[datetime | None] = mapped_column(info=personal(USAGE, erase=DELETE))
    revoked_at: Mapped[datetime | None] = mapped_column(info=not_personal())


class OAuthClient(IdMixin, TimestampMixin, Base):
    """A third-party client registered by an admin, for the client-credentials grant."""

    __tablename__ = "oauth_client"

    client_id: Mapped[str] = mapped_column(String(64), unique=True, info=not_personal())
    name: Mapped[str] = mapped_column(String(100), info=not_personal("organisation or product name"))
    secret_hash: Mapped[str] = mapped_column(String(64), info=not_personal("hashed client secret"))
    scopes: Mapped[list[str]] = mapped_column(info=not_personal())
    created_by: Mapped[UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), info=not_personal("pseudonymous staff id")
    )
    revoked_at: Mapped[datetime | None] = mapped_column(info=not_personal())


class RecoveryCode(IdMixin, TimestampMixin, Base):
    __tablename__ = "recovery_code"
    __table_args__ = (
        Index("ix_recovery_code_user_id", "user_id"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), info=not_personal("pseudonymous id")
    )
    code_hash: Mapped[str] = mapped_column(String(64), info=personal(SECURITY, erase=DELETE))
    used_at: Mapped[datetime | None] = mapped_column(info=not_personal())


class SecurityEvent(IdMixin, TimestampMixin, Base):
    __tablename__ = "security_event"
    __table_args__ = (
        Index("ix_security_event_user_id_created_at", "user_id", "created_at"),
        {"info": subject_rows(subject_key("user_id"))},
    )

    user_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), info=not_personal("pseudonymous id")
    )
    kind: Mapped[str] = mapped_column(String(40), info=not_personal())
    ip_address: Mapped[str | None] = mapped_column(String(45), info=personal(DEVICE, erase=DELETE))
    user_agent: Mapped[str | None] = mapped_column(String(400), info=personal(DEVICE, erase=DELETE))
