"""Signing secrets: made, encrypted at rest, and used to sign per Standard Webhooks."""

import base64
import hashlib
import secrets
from datetime import datetime
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from standardwebhooks.webhooks import Webhook

from opmaestro.core.config import Settings

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


class SecretUnreadable(Exception):
    """A stored secret was encrypted with a key that is no longer configured."""


def new_secret() -> str:
    """A fresh signing secret, `whsec_` and 32 random bytes in base64 (what the library expects)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


@lru_cache(maxsize=8)
def _cipher(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(key.strip()) for key in keys.split(",") if key.strip()])


def _keys(settings: Settings) -> str:
    configured = (
        settings.webhook_secret_keys.get_secret_value().strip() if settings.webhook_secret_keys else ""
    )
    if configured:
        return configured
    # Development only (production refuses to start without keys): a key derived from the secret key.
    digest = hashlib.sha256(b"opmaestro webhook secrets\0" + settings.secret_key.get_secret_value().encode())
    return base64.urlsafe_b64encode(digest.digest()).decode()


def encrypt(settings: Settings, secret: str) -> str:
    return _cipher(_keys(settings)).encrypt(secret.encode()).decode()


def decrypt(settings: Settings, token: str) -> str:
    try:
        return _cipher(_keys(settings)).decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable("no configured key decrypts this webhook secret") from error


def signature_header(secrets_in_use: list[str], message_id: str, timestamp: datetime, body: str) -> str:
    """The `webhook-signature` value: one `v1,<base64>` per secret, space-separated (during a
    rotation both the new and the old secret sign, so a receiver holding either accepts it)."""
    return " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets_in_use)
