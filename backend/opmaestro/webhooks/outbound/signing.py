"""Signing secrets: made, encrypted at rest, and used to sign per Standard Webhooks."""

import base64
import secrets
from datetime import datetime

from cryptography.fernet import InvalidToken, MultiFernet
from standardwebhooks.webhooks import Webhook

from opmaestro.core.config import Settings
from opmaestro.core.encryption import key_ring

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


class SecretUnreadable(Exception):
    """A stored secret was encrypted with a key that is no longer configured."""


def new_secret() -> str:
    """A fresh signing secret, `whsec_` and 32 random bytes in base64 (what the library expects)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _cipher(settings: Settings) -> MultiFernet:
    return key_ring(settings.webhook_secret_keys, settings.secret_key, "opmaestro webhook secrets")


def encrypt(settings: Settings, secret: str) -> str:
    return _cipher(settings).encrypt(secret.encode()).decode()


def decrypt(settings: Settings, token: str) -> str:
    try:
        return _cipher(settings).decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable("no configured key decrypts this webhook secret") from error


def signature_header(secrets_in_use: list[str], message_id: str, timestamp: datetime, body: str) -> str:
    """The `webhook-signature` value: one `v1,<base64>` per secret, space-separated (during a
    rotation both the new and the old secret sign, so a receiver holding either accepts it)."""
    return " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets_in_use)
