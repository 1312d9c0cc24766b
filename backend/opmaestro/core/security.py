"""Passwords (Argon2id), opaque tokens stored hashed, CSRF tokens bound to a session."""

import asyncio
import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from opmaestro.core.config import Settings

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128

_hasher = PasswordHasher()
# Each Argon2id run holds 64 MiB and a core; more at once only queues and swells memory.
_hashing_slots = asyncio.Semaphore(os.cpu_count() or 2)
# Verified against when the email is unknown, so both paths cost one Argon2 verification. Made
# on first use, not at import: every process (CLI, worker, test run) would otherwise pay one hash
# at the production cost just to start.
_dummy_hash: str | None = None


def password_hasher(settings: Settings) -> PasswordHasher:
    """The Argon2id hasher with the cost the settings ask for."""
    return PasswordHasher(
        time_cost=settings.password_hash_time_cost,
        memory_cost=settings.password_hash_memory_kib,
        parallelism=settings.password_hash_parallelism,
    )


def configure_password_hashing(settings: Settings) -> None:
    """Hash (and rehash at sign-in) with the settings' cost from now on; the app and CLI call it
    once at start, before any request, so every password of a process is hashed alike."""
    global _hasher, _dummy_hash
    _hasher = password_hasher(settings)
    _dummy_hash = None


def _hash_of_nothing() -> str:
    """A hash, at the current cost, of a password nobody knows."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(24))
    return _dummy_hash


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None; length and the common-password list only."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"Use at least {PASSWORD_MIN_LENGTH} characters."
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"Use at most {PASSWORD_MAX_LENGTH} characters."
    if password.lower() in _common_passwords() or len(set(password)) < 4:
        return "This password is too common; choose one that is hard to guess."
    return None


async def hash_password(password: str) -> str:
    """Argon2id in a thread: it takes tens of milliseconds and must not stall the event loop."""
    async with _hashing_slots:
        return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _hash_of_nothing(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists."""
    async with _hashing_slots:
        return await asyncio.to_thread(_verify, password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token(prefix: str = "", nbytes: int = 32) -> str:
    return prefix + secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """Tokens are high-entropy, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


def equals(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())


def csrf_token(secret_key: str, session_id: UUID) -> str:
    """The CSRF token of one session: an HMAC of its id, so it cannot be reused elsewhere."""
    return hmac.new(secret_key.encode(), b"csrf:" + session_id.bytes, hashlib.sha256).hexdigest()
