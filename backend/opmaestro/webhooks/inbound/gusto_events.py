"""Gusto: the verification handshake that delivers a subscription's token, and events signed
with it (`X-Gusto-Signature`: hex HMAC-SHA256 of the raw body)."""

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.db import new_id, table_of
from opmaestro.core.encryption import derived_fernet
from opmaestro.core.security import hash_token
from opmaestro.webhooks.inbound import store
from opmaestro.webhooks.inbound.exceptions import (
    InvalidSignature,
    MalformedEvent,
    StaleDelivery,
    SubscriptionNotFound,
    TooManyPendingSubscriptions,
    WebhookNotConfigured,
)
from opmaestro.webhooks.inbound.models import GustoSubscription
from opmaestro.webhooks.inbound.registry import Provider

logger = logging.getLogger(__name__)
VERIFY_JOB = "webhooks.inbound.gusto_verify"
# Handshakes nobody verified yet; anyone can post one, so they are bounded, and one not verified
# within a day no longer counts (a real handshake is verified at once, by the job or by staff)
# and is deleted by the daily prune: forged ones cannot hold the slots for good.
MAX_PENDING = 20
PENDING_FOR = timedelta(days=1)


def _fernet(secret_key: str) -> Fernet:
    return derived_fernet(secret_key, "opmaestro gusto webhook tokens")


def encrypt_token(settings: Settings, token: str) -> str:
    return _fernet(settings.secret_key.get_secret_value()).encrypt(token.encode()).decode()


def decrypt_token(settings: Settings, encrypted: str) -> str | None:
    try:
        return _fernet(settings.secret_key.get_secret_value()).decrypt(encrypted.encode()).decode()
    except InvalidToken:
        # Encrypted under a former secret key: the subscription needs a new handshake.
        return None


def signature_of(token: str, body: bytes) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Outcome:
    kind: str  # "handshake", "accepted", "duplicate"


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: a few kilobytes of nested brackets exhaust the parser's stack.
        raise MalformedEvent("The body is not JSON.") from None
    if not isinstance(parsed, dict):
        raise MalformedEvent("The body is not a JSON object.")
    return parsed


async def _verified_tokens(session: AsyncSession, settings: Settings) -> list[str]:
    encrypted = (
        await session.scalars(
            select(GustoSubscription.token_encrypted).where(GustoSubscription.verified_at.is_not(None))
        )
    ).all()
    return [token for token in (decrypt_token(settings, value) for value in encrypted) if token]


async def receive(session: AsyncSession, settings: Settings, body: bytes, signature: str | None) -> Outcome:
    """A handshake (unsigned, carrying the token) or an event signed with a verified token."""
    if not signature:
        parsed = _json_object(body)
        if "verification_token" in parsed:
            return await _handshake(session, settings, parsed)
    tokens = await _verified_tokens(session, settings)
    if not tokens:
        raise WebhookNotConfigured("No Gusto webhook subscription is verified on this server.")
    if not signature:
        raise InvalidSignature("The X-Gusto-Signature header is missing.")
    presented = signature.strip().lower()
    # Every token is compared, in constant time each, so timing tells nothing about which matched.
    matched = [
        hmac.compare_digest(signature_of(token, body).encode(), presented.encode()) for token in tokens
    ]
    if not any(matched):
        raise InvalidSignature("The X-Gusto-Signature does not match the body.")
    event = _json_object(body)
    event_id, event_type, stamp = event.get("uuid"), event.get("event_type"), event.get("timestamp")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise MalformedEvent("The event has no uuid.")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 255:
        raise MalformedEvent("The event has no event_type.")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp < 0:
        raise MalformedEvent("The event has no timestamp.")
    now = utcnow().timestamp()
    # Gusto's signature carries no time: a delivery older than the events we keep (and so can
    # recognise as repeats) is refused, as is one from the future.
    if stamp < now - timedelta(days=settings.inbound_webhook_keep_days).total_seconds():
        raise StaleDelivery("The event is older than the events kept to recognise repeats.")
    if stamp > now + settings.webhook_clock_skew_seconds:
        raise StaleDelivery("The event is dated in the future.")
    entity = event.get("entity_uuid")
    accepted = await store.receive(
        session,
        settings,
        provider=Provider.GUSTO,
        event_id=event_id,
        event_type=event_type,
        object_id=entity if isinstance(entity, str) and len(entity) <= 255 else None,
        object_version=stamp,
        occurred_at=datetime.fromtimestamp(stamp, UTC),
        body=body.decode("utf-8"),
    )
    return Outcome("accepted" if accepted else "duplicate")


async def _handshake(session: AsyncSession, settings: Settings, parsed: dict[str, Any]) -> Outcome:
    token, subscription = parsed.get("verification_token"), parsed.get("webhook_subscription_uuid")
    if not isinstance(token, str) or not 8 <= len(token) <= 512:
        raise MalformedEvent("The verification_token is missing or malformed.")
    if not isinstance(subscription, str) or not 1 <= len(subscription) <= 64:
        raise MalformedEvent("The webhook_subscription_uuid is missing or malformed.")
    pending = await session.scalar(
        select(func.count())
        .select_from(GustoSubscription)
        .where(
            GustoSubscription.verified_at.is_(None), GustoSubscription.received_at > utcnow() - PENDING_FOR
        )
    )
    if (pending or 0) >= MAX_PENDING:
        raise TooManyPendingSubscriptions("Verify or remove the pending Gusto subscriptions first.")
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    row_id = (
        await session.execute(
            insert(table_of(GustoSubscription))
            .values(
                id=new_id(),
                subscription_uuid=subscription,
                token_encrypted=encrypt_token(settings, token),
                token_hash=hash_token(token),
                received_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["subscription_uuid", "token_hash"])
            .returning(table_of(GustoSubscription).c.id)
        )
    ).scalar_one_or_none()
    if row_id is not None and settings.gusto_webhook_api_token:
        await jobs.enqueue(
            session, VERIFY_JOB, {"subscription_id": str(row_id)}, max_attempts=settings.job_max_attempts
        )
    logger.info("gusto webhook subscription %s delivered its verification token", subscription)
    return Outcome("handshake")


async def list_subscriptions(session: AsyncSession) -> list[GustoSubscription]:
    return list(
        (
            await session.scalars(select(GustoSubscription).order_by(GustoSubscription.received_at.desc()))
        ).all()
    )


async def get_subscription(session: AsyncSession, subscription_id: UUID) -> GustoSubscription:
    found = await session.get(GustoSubscription, subscription_id)
    if found is None:
        raise SubscriptionNotFound()
    return found


async def reveal_token(session: AsyncSession, settings: Settings, subscription_id: UUID) -> str:
    """The token, for staff who complete the verification in Gusto's developer portal."""
    token = decrypt_token(settings, (await get_subscription(session, subscription_id)).token_encrypted)
    if token is None:
        raise SubscriptionNotFound("The token was encrypted under a former secret key; request a new one.")
    return token


async def mark_verified(session: AsyncSession, subscription_id: UUID) -> GustoSubscription:
    """Staff verified the token at Gusto: events signed with it are accepted from now on."""
    found = await get_subscription(session, subscription_id)
    found.verified_at = found.verified_at or utcnow()
    await session.flush()
    return found


async def delete_subscription(session: AsyncSession, subscription_id: UUID) -> None:
    await session.delete(await get_subscription(session, subscription_id))
    await session.flush()


@jobs.handler(VERIFY_JOB)
async def verify_at_gusto(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    """Complete the handshake: Gusto accepts the token only if it is the one it sent for this
    subscription, so a forged handshake is never trusted."""
    settings = context.settings
    found = await context.session.get(GustoSubscription, UUID(payload["subscription_id"]))
    if found is None or found.verified_at is not None or settings.gusto_webhook_api_token is None:
        return
    token = decrypt_token(settings, found.token_encrypted)
    if token is None:
        return
    base = settings.gusto_api_base_url.rstrip("/")
    url = f"{base}/v1/webhook_subscriptions/{found.subscription_uuid}/verify"
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.put(
            url,
            json={"verification_token": token},
            headers={
                "Authorization": f"Bearer {settings.gusto_webhook_api_token.get_secret_value()}",
                "X-Gusto-API-Version": settings.gusto_api_version,
                "Accept": "application/json",
            },
        )
    if response.status_code >= 500:
        response.raise_for_status()
    if response.is_success:
        found.verified_at = utcnow()
        return
    # Gusto refused the token: a forged or superseded handshake, never trusted; not retried.
    logger.warning(
        "gusto refused to verify subscription %s (HTTP %d)", found.subscription_uuid, response.status_code
    )


async def prune_unverified(session: AsyncSession) -> int:
    """Delete handshakes nobody verified within `PENDING_FOR` (their tokens were never used)."""
    result = await session.execute(
        delete(GustoSubscription).where(
            GustoSubscription.verified_at.is_(None), GustoSubscription.received_at <= utcnow() - PENDING_FOR
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
