"""Stripe: `Stripe-Signature` checked by the official library on the raw body, then stored once."""

import json
from datetime import UTC, datetime
from typing import Any

import stripe

from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.webhooks.inbound import store
from opmaestro.webhooks.inbound.exceptions import (
    InvalidSignature,
    MalformedEvent,
    StaleDelivery,
    WebhookNotConfigured,
)
from opmaestro.webhooks.inbound.registry import Provider

MAX_SIGNATURE_LENGTH = 4096
LAST_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z: no date holds a later one


def _signed_at(header: str) -> int | None:
    """The `t=` of a Stripe-Signature header already verified by the library."""
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            return int(value)
    return None


def verify(settings: Settings, body: bytes, header: str | None) -> dict[str, Any]:
    """The event, if one of the configured secrets signed this body within the tolerance.

    The check is the official library's `stripe.WebhookSignature.verify_header`, the very one
    `stripe.Webhook.construct_event` makes; the library recommends it for verifying a webhook
    before storing it for later processing. construct_event would then build an object tree of
    the event that nothing here reads (the raw body is what is stored), a quarter of the cost of
    the whole request.
    """
    secrets = settings.stripe_webhook_secrets
    if not secrets:
        raise WebhookNotConfigured("Stripe webhooks are not configured on this server.")
    if not header:
        raise InvalidSignature("The Stripe-Signature header is missing.")
    if len(header) > MAX_SIGNATURE_LENGTH:
        raise InvalidSignature("The Stripe-Signature header is too long.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedEvent("The body is not UTF-8.") from None
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(
                text, header, secret, tolerance=settings.stripe_webhook_tolerance_seconds
            )
            break
        except stripe.SignatureVerificationError as error:
            if "tolerance" in str(error):
                raise StaleDelivery("The Stripe signature is older than the tolerance.") from None
    else:
        raise InvalidSignature("No configured secret signed this body.")
    signed_at = _signed_at(header)
    # The library accepts any timestamp in the future; a delivery from the future is refused.
    if signed_at is None or signed_at > utcnow().timestamp() + settings.webhook_clock_skew_seconds:
        raise StaleDelivery("The Stripe signature is dated in the future.")
    try:
        event = json.loads(text)
    except (ValueError, RecursionError):
        # RecursionError: deeply nested brackets exhaust the parser's stack.
        raise MalformedEvent("The body is not JSON.") from None
    if not isinstance(event, dict):
        raise MalformedEvent("The body is not a Stripe event.")
    return event


def _fields(event: dict[str, Any]) -> tuple[str, str, str | None, int]:
    event_id, event_type, created = event.get("id"), event.get("type"), event.get("created")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise MalformedEvent("The event has no id.")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 255:
        raise MalformedEvent("The event has no type.")
    # Beyond the year 9999 no date can hold it (and no real event is from there).
    if not isinstance(created, int) or isinstance(created, bool) or not 0 <= created <= LAST_TIMESTAMP:
        raise MalformedEvent("The event has no creation time.")
    data = event.get("data")
    target = data.get("object") if isinstance(data, dict) else None
    object_id = target.get("id") if isinstance(target, dict) else None
    if not isinstance(object_id, str) or len(object_id) > 255:
        account = event.get("account")
        object_id = account if isinstance(account, str) and len(account) <= 255 else None
    return event_id, event_type, object_id, created


async def receive(ingest: store.Ingest, settings: Settings, body: bytes, header: str | None) -> bool:
    """Verify, then store once and queue; False for a duplicate delivery."""
    event = verify(settings, body, header)
    event_id, event_type, object_id, created = _fields(event)
    return await ingest.receive(
        settings,
        provider=Provider.STRIPE,
        event_id=event_id,
        event_type=event_type,
        object_id=object_id,
        object_version=created,
        occurred_at=datetime.fromtimestamp(created, UTC),
        body=body.decode("utf-8"),
        user_id=None,
    )
