"""Dependencies of the webhook routes: the raw body, bounded, and Google's key cache."""

from typing import Annotated

from fastapi import Depends, Request

from opmaestro.core.deps import SettingsDep
from opmaestro.webhooks.inbound import risc
from opmaestro.webhooks.inbound.exceptions import WebhookBodyTooLarge


async def raw_body(request: Request, settings: SettingsDep) -> bytes:
    """The body's bytes exactly as sent (signatures cover them), refused past the webhook limit."""
    limit = settings.inbound_webhook_max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise WebhookBodyTooLarge(f"A webhook body may be at most {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise WebhookBodyTooLarge(f"A webhook body may be at most {limit} bytes.")
    return bytes(body)


async def _google_keys(settings: SettingsDep) -> risc.GoogleKeys:
    return risc.google_keys(settings)


RawBody = Annotated[bytes, Depends(raw_body)]
GoogleKeysDep = Annotated[risc.GoogleKeys, Depends(_google_keys)]
