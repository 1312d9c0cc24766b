"""Calls to Stripe through the official library, with a client made for each call.

`OPMAESTRO_STRIPE_API_BASE` is the library's public `base_addresses["api"]`, so tests and
staging point the real client at another server; the async methods run over the library's
own httpx client.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import stripe

from opmaestro.billing.exceptions import BillingNotConfigured, IdempotencyKeyReused, PaymentProviderFailed
from opmaestro.core.config import Settings

NOT_CONFIGURED = "Billing is not configured on this server: OPMAESTRO_STRIPE_SECRET_KEY is not set."


def is_configured(settings: Settings) -> bool:
    return bool(settings.stripe_secret_key and settings.stripe_secret_key.get_secret_value())


def require_configured(settings: Settings) -> None:
    if not is_configured(settings):
        raise BillingNotConfigured(NOT_CONFIGURED)


@asynccontextmanager
async def stripe_client(settings: Settings) -> AsyncIterator[stripe.StripeClient]:
    """A StripeClient on the configured API address; Stripe's errors become problems."""
    require_configured(settings)
    key = settings.stripe_secret_key.get_secret_value() if settings.stripe_secret_key else ""
    http_client = stripe.HTTPXClient(timeout=settings.stripe_timeout_seconds)
    client = stripe.StripeClient(
        key,
        base_addresses={"api": settings.stripe_api_base},
        http_client=http_client,
        max_network_retries=settings.stripe_max_network_retries,
    )
    try:
        yield client
    except stripe.IdempotencyError:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a different request; send a new key."
        ) from None
    except stripe.StripeError as error:
        # Stripe's message can name the key or the customer: only its class and code go out.
        raise PaymentProviderFailed(
            f"Stripe refused or failed the request ({type(error).__name__}, code {error.code or 'none'})."
        ) from None
    finally:
        await http_client.close_async()  # type: ignore[no-untyped-call]  # public, but untyped upstream


def field(source: Any, name: str) -> Any:
    """A field of a Stripe object or a plain dict, None when absent."""
    if isinstance(source, dict):
        return source.get(name)
    return getattr(source, name, None) if source is not None else None
