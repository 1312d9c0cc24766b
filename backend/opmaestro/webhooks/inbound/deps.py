"""Dependencies of the webhook routes: the raw body, bounded, with what storing it needs."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import Headers

from opmaestro.core.config import Settings
from opmaestro.core.deps import app_job_backend, app_sessionmaker, app_settings
from opmaestro.webhooks.inbound import risc, store
from opmaestro.webhooks.inbound.exceptions import WebhookBodyTooLarge


async def read_body(request: Request, limit: int) -> bytes:
    """The body's bytes exactly as sent (signatures cover them), refused past `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise WebhookBodyTooLarge(f"A webhook body may be at most {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise WebhookBodyTooLarge(f"A webhook body may be at most {limit} bytes.")
    return bytes(body)


@dataclass(frozen=True)
class Delivery:
    """A provider's call: its raw body, the settings, and the batch writer that stores events."""

    body: bytes
    headers: Headers
    settings: Settings
    ingest: store.Ingest


async def delivery(request: Request) -> Delivery:
    # One dependency rather than five (headers included): a provider's burst is the hottest
    # write path we serve, and FastAPI solves each dependency and parameter on every request.
    settings = app_settings(request)
    body = await read_body(request, settings.inbound_webhook_max_body_bytes)
    ingest = store.ingest_for(await app_sessionmaker(request), await app_job_backend(request))
    return Delivery(body, request.headers, settings, ingest)


async def raw_body(request: Request) -> bytes:
    return await read_body(request, app_settings(request).inbound_webhook_max_body_bytes)


async def _google_keys(request: Request) -> risc.GoogleKeys:
    return risc.google_keys(app_settings(request))


DeliveryDep = Annotated[Delivery, Depends(delivery)]
RawBody = Annotated[bytes, Depends(raw_body)]
GoogleKeysDep = Annotated[risc.GoogleKeys, Depends(_google_keys)]
