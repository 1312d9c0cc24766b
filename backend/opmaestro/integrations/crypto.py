"""Provider tokens encrypted at rest: Fernet under a list of keys (the first encrypts, all decrypt)."""

from cryptography.fernet import InvalidToken, MultiFernet

from opmaestro.core.config import Settings
from opmaestro.core.encryption import key_ring

KEY_PURPOSE = "opmaestro integration tokens"


class TokenKeyError(Exception):
    """A stored token cannot be decrypted with any configured key."""


def cipher(settings: Settings) -> MultiFernet:
    return key_ring(settings.integration_token_keys, settings.secret_key, KEY_PURPOSE)


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
