"""Provider tokens encrypted at rest: Fernet under a list of keys (the first encrypts, all decrypt)."""

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from opmaestro.core.config import Settings

DEVELOPMENT_KEY_CONTEXT = b"opmaestro integration token key v1"


class TokenKeyError(Exception):
    """A stored token cannot be decrypted with any configured key."""


def _keys(settings: Settings) -> list[bytes]:
    configured = settings.integration_token_keys.get_secret_value() if settings.integration_token_keys else ""
    keys = [entry.strip().encode() for entry in configured.split(",") if entry.strip()]
    if keys:
        return keys
    # Development only (production refuses to start without keys): a key derived from the
    # secret key, so tokens survive a restart without a second secret to set up.
    derived = hmac.new(
        settings.secret_key.get_secret_value().encode(), DEVELOPMENT_KEY_CONTEXT, hashlib.sha256
    ).digest()
    return [base64.urlsafe_b64encode(derived)]


def cipher(settings: Settings) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in _keys(settings)])


def encrypt(settings: Settings, value: str | None) -> str | None:
    if value is None:
        return None
    return cipher(settings).encrypt(value.encode()).decode()


def decrypt(settings: Settings, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return cipher(settings).decrypt(value.encode()).decode()
    except InvalidToken:
        raise TokenKeyError("no configured integration token key decrypts this value") from None


def rotate(settings: Settings, value: str | None) -> str | None:
    """The value encrypted again under the first key (unchanged plaintext)."""
    if value is None:
        return None
    try:
        return cipher(settings).rotate(value.encode()).decode()
    except InvalidToken:
        raise TokenKeyError("no configured integration token key decrypts this value") from None
