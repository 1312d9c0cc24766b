"""Stripe: `Stripe-Signature` checked by the official library on the raw body, then stored once."""

from datetime import UTC, datetime
from typing import Any

import stripe
from sqlalchemy.ext.asyncio import AsyncSession

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


def _signed_at(header: str) -> int | None:
    """The `t=` of a Stripe-Signature header already verified by the library."""
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            return int(value)
    return None


def verify(settings: Settings, body: bytes, header: str | None) -> stripe.Event:
    """The event, if one of the configured secrets signed this body within the tolerance."""
    secrets = settings.stripe_webhook_secrets
    if not secrets:
        raise WebhookNotConfigured("Stripe webhooks are not configured on this server.")
    if not header:
        raise InvalidSignature("The Stripe-Signature header is missing.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedEvent("The body is not UTF-8.") from None
    event: stripe.Event | None = None
    for secret in secrets:
        try:
            event = stripe.Webhook.construct_event(
                text, header, secret, tolerance=settings.stripe_webhook_tolerance_seconds
            )
            break
        except stripe.SignatureVerificationError as error:
            if "tolerance" in str(error):
                raise StaleDelivery("The Stripe signature is older than the tolerance.") from None
        except (ValueError, AttributeError, TypeError):
            # The signature held (it is checked first), yet the body is not a JSON object.
            raise MalformedEvent("The body is not a Stripe event.") from None
    if event is None:
        raise InvalidSignature("No configured secret signed this body.")
    signed_at = _signed_at(header)
    # The library accepts any timestamp in the future; a delivery from the future is refused.
    if signed_at is None or signed_at > utcnow().timestamp() + settings.webhook_clock_skew_seconds:
        raise StaleDelivery("The Stripe signature is dated in the future.")
    return event


def _fields(event: stripe.Event) -> tuple[str, str, str | None, int]:
    event_id = getattr(event, "id", None)
    event_type = getattr(event, "type", None)
    created = getattr(event, "created", None)
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise MalformedEvent("The event has no id.")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 255:
        raise MalformedEvent("The event has no type.")
    if not isinstance(created, int) or isinstance(created, bool) or created < 0:
        raise MalformedEvent("The event has no creation time.")
    target: Any = getattr(getattr(event, "data", None), "object", None)
    object_id = getattr(target, "id", None) if isinstance(target, stripe.StripeObject) else None
    if not isinstance(object_id, str) or len(object_id) > 255:
        account = getattr(event, "account", None)
        object_id = account if isinstance(account, str) and len(account) <= 255 else None
    return event_id, event_type, object_id, created


async def receive(session: AsyncSession, settings: Settings, body: bytes, header: str | None) -> bool:
    """Verify, then store once and queue; False for a duplicate delivery."""
    event = verify(settings, body, header)
    event_id, event_type, object_id, created = _fields(event)
    return await store.receive(
        session,
        settings,
        provider=Provider.STRIPE,
        event_id=event_id,
        event_type=event_type,
        object_id=object_id,
        object_version=created,
        occurred_at=datetime.fromtimestamp(created, UTC),
        body=body.decode("utf-8"),
    )
