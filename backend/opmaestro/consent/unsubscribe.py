"""One-click unsubscribe (RFC 8058): signed links bound to one user and one purpose."""

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.models import User
from opmaestro.consent import ledger
from opmaestro.consent.models import CollectionMethod, ConsentAction, user_subject
from opmaestro.core.config import Settings
from opmaestro.core.errors import NotFound
from opmaestro.core.links import public_url
from opmaestro.core.security import equals

TOKEN_VERSION = "1"
TOKEN_MAX_LENGTH = 200
_PURPOSE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_INVALID = "This unsubscribe link is not valid; use the one from the email."


class InvalidUnsubscribeLink(NotFound):
    # The token names the link: one this server never signed is a link that does not exist.
    status, slug, title = 404, "invalid-unsubscribe-link", "Invalid unsubscribe link"


class UnsubscribeLinkNotFound(NotFound):
    slug, title = "unsubscribe-link-not-found", "Unsubscribe link not found"


@dataclass(frozen=True)
class LinkTarget:
    user: User
    purpose: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret_key: str, version: str, user_id: UUID, purpose: str) -> str:
    # A key of its own, so an unsubscribe signature can never pass for a CSRF token or vice versa.
    key = hmac.new(secret_key.encode(), b"opmaestro.unsubscribe", hashlib.sha256).digest()
    signed = b"\x00".join((version.encode(), user_id.bytes, purpose.encode()))
    return _b64(hmac.new(key, signed, hashlib.sha256).digest())


def make_token(settings: Settings, user_id: UUID, purpose: str) -> str:
    """`<version>.<user id>.<purpose>.<HMAC>`: no expiry, as unsubscribe links must keep working."""
    if not _PURPOSE_KEY.match(purpose):
        raise ValueError(f"not a purpose key: {purpose!r}")
    secret = settings.secret_key.get_secret_value()
    signature = _signature(secret, TOKEN_VERSION, user_id, purpose)
    return f"{TOKEN_VERSION}.{_b64(user_id.bytes)}.{purpose}.{signature}"


def read_token(settings: Settings, token: str) -> tuple[UUID, str]:
    """The user id and purpose a token was signed for; anything altered is refused."""
    parts = token.split(".")
    if len(token) > TOKEN_MAX_LENGTH or len(parts) != 4 or parts[0] != TOKEN_VERSION:
        raise InvalidUnsubscribeLink(_INVALID)
    version, encoded_user, purpose, signature = parts
    try:
        user_id = UUID(bytes=_unb64(encoded_user))
    except (ValueError, binascii.Error) as error:
        raise InvalidUnsubscribeLink(
            "This unsubscribe link is not valid; use the one from the email."
        ) from error
    expected = _signature(settings.secret_key.get_secret_value(), version, user_id, purpose)
    if not _PURPOSE_KEY.match(purpose) or not equals(signature, expected):
        raise InvalidUnsubscribeLink(_INVALID)
    return user_id, purpose


def api_url(settings: Settings, token: str) -> str:
    """Where mail clients POST the one-click unsubscribe (the List-Unsubscribe header)."""
    return public_url(settings, f"/api/v1/unsubscribe/{token}")


def page_url(settings: Settings, token: str) -> str:
    """The web page that explains the link and asks to confirm (the link in the body)."""
    return public_url(settings, f"/unsubscribe/{token}")


def list_unsubscribe_headers(settings: Settings, token: str) -> dict[str, str]:
    return {
        "List-Unsubscribe": f"<{api_url(settings, token)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def mask_email(address: str) -> str:
    """`a***@example.com`: enough for the owner to recognise, little for anyone else."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


async def _target(session: AsyncSession, settings: Settings, token: str) -> LinkTarget:
    user_id, purpose = read_token(settings, token)
    user = await session.scalar(select(User).where(User.id == user_id))
    if user is None:
        raise UnsubscribeLinkNotFound("This unsubscribe link belongs to an account that no longer exists.")
    return LinkTarget(user=user, purpose=purpose)


async def describe(session: AsyncSession, settings: Settings, token: str) -> tuple[LinkTarget, bool]:
    """Whom and what a link is for, and whether that consent is still granted; changes nothing."""
    target = await _target(session, settings, token)
    return target, await ledger.is_granted(session, target.user.id, target.purpose)


async def unsubscribe(
    session: AsyncSession, settings: Settings, token: str, *, ip: str | None, user_agent: str | None
) -> LinkTarget:
    """Withdraw the consent the link is for; a second call finds nothing to withdraw and records nothing."""
    target = await _target(session, settings, token)
    # Serializes concurrent clicks, so two POSTs cannot both see "granted" and both withdraw.
    await ledger.lock_subject(session, user_subject(target.user.id))
    if await ledger.is_granted(session, target.user.id, target.purpose):
        await ledger.record(
            session,
            user_id=target.user.id,
            purpose_key=target.purpose,
            action=ConsentAction.WITHDRAWN,
            method=CollectionMethod.UNSUBSCRIBE_LINK,
            actor=None,
            ip=ip,
            user_agent=user_agent,
        )
    return target
