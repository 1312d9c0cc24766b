"""Plain functions that build test data."""

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import httpx
import pyotp
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.models import Role, User, UserStatus
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings

PASSWORD = "correct horse battery staple"
POLICY_VERSION = "2026-01"
DEFAULT_MAX_ATTEMPTS: int = Settings.model_fields["job_max_attempts"].default


@lru_cache
def _password_hash(password: str) -> str:
    """Hash each test password once per run; Argon2 is slow on purpose."""
    return PasswordHasher().hash(password)


async def queued_job(
    session: AsyncSession, name: str, payload: dict[str, Any] | None = None, **options: Any
) -> jobs.Job:
    options.setdefault("max_attempts", DEFAULT_MAX_ATTEMPTS)
    job = await jobs.enqueue(session, name, payload or {}, **options)
    await session.commit()
    return job


async def create_user(
    session: AsyncSession,
    email: str = "member@example.com",
    *,
    password: str = PASSWORD,
    role: Role = Role.MEMBER,
    verified: bool = True,
    mfa_secret: str | None = None,
    status: UserStatus = UserStatus.ACTIVE,
    **fields: Any,
) -> User:
    """A user straight in the database (committed to the test's transaction)."""
    now = utcnow()
    values: dict[str, Any] = {
        "email": email.lower(),
        "name": "Test User",
        "country": "US",
        "age_attested_at": now,
        "password_hash": _password_hash(password),
        "password_changed_at": now,
        "role": role,
        "status": status,
        "email_verified_at": now if verified else None,
        "mfa_secret": mfa_secret,
        "mfa_enabled_at": now if mfa_secret else None,
    } | fields
    user = User(**values)
    session.add(user)
    await session.commit()
    return user


def registration(**overrides: Any) -> dict[str, Any]:
    """A valid registration body."""
    return {
        "name": "Ann Lee",
        "email": "ann@example.com",
        "password": PASSWORD,
        "country": "US",
        "company": "Acme Corp",
        "job_title": "Head of Sales",
        "phone": "+1 415 555 0132",
        "confirms_age_18_or_over": True,
        "accepted_terms_version": POLICY_VERSION,
        "accepted_privacy_version": POLICY_VERSION,
        "acknowledged_us_transfer_notice_version": POLICY_VERSION,
    } | overrides


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, otp_secret: str | None = None
) -> str:
    """Sign the client in (it keeps the cookie) and set its CSRF header; returns the CSRF token."""
    body: dict[str, Any] = {"email": email, "password": password}
    if otp_secret:
        body["otp"] = pyotp.TOTP(otp_secret).now()
    response = await client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    csrf: str = response.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = csrf
    return csrf


def fixed(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)
