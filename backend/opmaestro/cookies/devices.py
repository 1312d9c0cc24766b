"""Device ids: random, issued only by the server, carried in an HMAC-signed HttpOnly cookie."""

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.consent.ledger import LedgerSubject
from opmaestro.cookies.exceptions import InvalidDevice
from opmaestro.cookies.models import CookieDevice, CookieDeviceState
from opmaestro.core.config import Settings
from opmaestro.core.db import table_of

DEVICE_COOKIE = "opm_device"
_SIGNATURE_CONTEXT = b"opmaestro.cookie-device:"
_SIGNATURE_LENGTH = 32
_DEVICE = table_of(CookieDevice)
DEVICE_STATE = table_of(CookieDeviceState)
# One statement both finds a device and records its new choice: no row means no such device.
_TOUCH = (
    update(_DEVICE)
    .where(_DEVICE.c.id == bindparam("device_id"))
    .values(revision=bindparam("revision"), chosen_at=bindparam("now"))
    .returning(_DEVICE.c.user_id)
)
_CREATE = insert(_DEVICE)


def device_cookie_name(settings: Settings) -> str:
    return f"__Host-{DEVICE_COOKIE}" if is_https(settings) else DEVICE_COOKIE


def is_https(settings: Settings) -> bool:
    return settings.public_base_url.startswith("https://")


def _signature(settings: Settings, device_id: UUID) -> str:
    digest = hmac.new(
        settings.secret_key.get_secret_value().encode(), _SIGNATURE_CONTEXT + device_id.bytes, hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:_SIGNATURE_LENGTH]


def cookie_value(settings: Settings, device_id: UUID) -> str:
    """`<id>.<signature>`: the id in hex, and an HMAC of it under the secret key."""
    return f"{device_id.hex}.{_signature(settings, device_id)}"


def verified_id(settings: Settings, value: str) -> UUID:
    """The device id of a cookie value the server issued; InvalidDevice for anything else.

    Checked before any database read, so forged ids cost nothing but this HMAC."""
    raw, _, signature = value.partition(".")
    try:
        device_id = UUID(hex=raw) if len(raw) == 32 else None
    except ValueError:
        device_id = None
    if device_id is None or not hmac.compare_digest(
        signature.encode(), _signature(settings, device_id).encode()
    ):
        raise InvalidDevice(
            "The device cookie was not issued by this server; it has been cleared.",
            headers={"Set-Cookie": clearing_header(settings)},
        )
    return device_id


def optional_device_id(settings: Settings, value: str | None) -> UUID | None:
    """The verified device id of a cookie, None without one."""
    return verified_id(settings, value) if value else None


def clearing_header(settings: Settings) -> str:
    secure = "; Secure" if is_https(settings) else ""
    return f'{device_cookie_name(settings)}=""; Max-Age=0; Path=/; HttpOnly; SameSite=Lax{secure}'


def new_device_id() -> UUID:
    """Random, not time-ordered: the id says nothing about when the browser first came."""
    return uuid.uuid4()


def device_subject(device_id: UUID) -> str:
    return f"device:{device_id.hex}"


def device_ledger(device_id: UUID, user_id: UUID | None) -> LedgerSubject:
    """The device's own ledger chain and state rows (`user_id` is the account it is linked to)."""
    return LedgerSubject(
        subject=device_subject(device_id),
        user_id=None,
        device_id=device_id.hex,
        state=DEVICE_STATE,
        owner_column="device_id",
        owner=device_id,
        state_values={"user_id": user_id},
    )


@dataclass(frozen=True)
class Device:
    id: UUID
    user_id: UUID | None
    new: bool


async def touch_or_create(
    session: AsyncSession, device_id: UUID | None, *, revision: int, now: datetime, user_id: UUID | None
) -> Device:
    """Record a choice's revision on the device, or create a device when there is none (or it is gone)."""
    if device_id is not None:
        found = (
            await session.execute(_TOUCH, {"device_id": device_id, "revision": revision, "now": now})
        ).first()
        if found is not None:
            return Device(device_id, found.user_id, new=False)
    created = Device(new_device_id(), user_id, new=True)
    await session.execute(
        _CREATE,
        {
            "id": created.id,
            "user_id": user_id,
            "revision": revision,
            "created_at": now,
            "chosen_at": now,
            "linked_at": now if user_id else None,
        },
    )
    return created
