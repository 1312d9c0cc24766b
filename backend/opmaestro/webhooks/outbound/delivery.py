"""Sending one delivery: sign, check the address again, POST to that very address, record the
outcome, and retry later with backoff, or give up and disable an endpoint that keeps failing."""

import asyncio
import logging
import random
import ssl
import time
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.models import OAuthClient, User, UserStatus
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.links import public_url
from opmaestro.notifications import service as notifications
from opmaestro.webhooks.outbound import addresses, signing
from opmaestro.webhooks.outbound.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)
DELIVER_JOB = "webhooks.deliver"
# A job crashing outside the delivery's own retry schedule (a database error) is retried a little.
DELIVER_JOB_ATTEMPTS = 3
PRUNE_JOB = "webhooks.prune_deliveries"
USER_AGENT = "OpMaestro-Webhooks/1"
ERROR_LIMIT = 300
RETRY_FACTOR = 4
SETTINGS_PATH = "/settings/webhooks"


def retry_delay(settings: Settings, attempts: int) -> float:
    """Seconds before the next attempt: exponential (x4) and capped, with full jitter, so that
    many deliveries failing together do not come back together."""
    ceiling = min(
        settings.webhook_retry_max_seconds,
        settings.webhook_retry_base_seconds * RETRY_FACTOR ** max(attempts - 1, 0),
    )
    return random.uniform(0, ceiling)  # noqa: S311 - spreading load, not a secret


@cache
def _tls() -> ssl.SSLContext:
    # Built once: loading the trust store for every delivery costs more than the request.
    return ssl.create_default_context()


def _secrets(settings: Settings, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    in_use = [signing.decrypt(settings, endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires is not None and expires > now:
        in_use.append(signing.decrypt(settings, endpoint.previous_secret_encrypted))
    return in_use


def _summary(error: Exception) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    if isinstance(error, httpx.ConnectError):
        return f"could not connect: {error}"[:ERROR_LIMIT]
    return f"{type(error).__name__}: {error}"[:ERROR_LIMIT]


async def post(
    target: addresses.Target,
    address: addresses.IPAddress,
    content: str,
    headers: dict[str, str],
    timeout_seconds: float,
) -> int:
    """POST to `address` itself, naming the endpoint's host in `Host` and in TLS (SNI and the
    certificate check), so no second name lookup can send us elsewhere. Redirects are not followed;
    the body of the answer is not read."""
    url = httpx.URL(
        scheme=target.scheme, host=str(address), port=target.port, raw_path=target.target.encode()
    )
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    async with (
        httpx.AsyncClient(
            timeout=timeout_seconds, follow_redirects=False, trust_env=False, verify=_tls()
        ) as client,
        client.stream(
            "POST",
            url,
            content=content.encode(),
            headers={"Host": target.host_header, **headers},
            extensions=extensions,
        ) as response,
    ):
        return response.status_code


async def _attempt(
    settings: Settings, endpoint: WebhookEndpoint, delivery: WebhookDelivery, before_send: Any
) -> tuple[int | None, str | None, int | None]:
    """Send once: the status code (if an answer came), what went wrong (if anything), the time it took."""
    now = utcnow()
    allow_private = settings.webhooks_allow_private_addresses
    try:
        target = addresses.parse(endpoint.url, allow_http=allow_private)
        address = await addresses.check(target, addresses.system_resolver, allow_private=allow_private)
        secrets_in_use = _secrets(settings, endpoint, now)
    except addresses.UnsafeAddress as error:
        return None, f"refused: {error}"[:ERROR_LIMIT], None
    except signing.SecretUnreadable:
        return None, "the signing secret cannot be decrypted with the configured keys; rotate it", None
    message_id = str(delivery.id)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signing.signature_header(secrets_in_use, message_id, now, delivery.payload),
    }
    content = delivery.payload
    if before_send is not None:
        await before_send()
    started = time.perf_counter()
    deadline = settings.webhook_timeout_seconds
    try:
        # httpx's own timeout bounds each read, not the whole: a receiver dripping its answer a
        # byte at a time would hold a worker for as long as it likes without this deadline.
        async with asyncio.timeout(deadline):
            status = await post(target, address, content, headers, deadline)
    except TimeoutError:
        late = f"timed out: no complete answer within {deadline:g} s"
        return None, late, round((time.perf_counter() - started) * 1000)
    except httpx.HTTPError as error:
        return None, _summary(error), round((time.perf_counter() - started) * 1000)
    duration = round((time.perf_counter() - started) * 1000)
    if 200 <= status < 300:
        return status, None, duration
    if 300 <= status < 400:
        return status, f"HTTP {status}: redirects are not followed", duration
    return status, f"HTTP {status}", duration


async def _not_sendable(session: AsyncSession, endpoint: WebhookEndpoint | None) -> str | None:
    """Why nothing may go to this endpoint now, or None."""
    if endpoint is None or not endpoint.enabled:
        return "not sent: the endpoint was disabled"
    if endpoint.client_id is not None:
        client = await session.get(OAuthClient, endpoint.client_id)
        if client is None or client.revoked_at is not None:
            return "not sent: the OAuth client that owns the endpoint was revoked"
    return None


async def deliver(
    session: AsyncSession, settings: Settings, delivery_id: UUID, *, before_send: Any = None
) -> WebhookDelivery | None:
    """Make one attempt at a pending delivery and record it; schedules the next when it fails.

    `before_send` runs just before the request (the job ends its transaction there, so that it
    holds no connection, nor SQLite's write lock, while the receiver takes its time)."""
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return delivery
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
    refusal = await _not_sendable(session, endpoint)
    if endpoint is None or refusal is not None:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        delivery.last_error = refusal or "not sent: the endpoint was deleted"
        await session.flush()
        return delivery
    status_code, error, duration = await _attempt(settings, endpoint, delivery, before_send)
    return await _record(session, settings, delivery_id, status_code, error, duration)


async def _record(
    session: AsyncSession,
    settings: Settings,
    delivery_id: UUID,
    status_code: int | None,
    error: str | None,
    duration: int | None,
) -> WebhookDelivery | None:
    delivery = await session.get(WebhookDelivery, delivery_id, populate_existing=True, with_for_update=True)
    if delivery is None:
        return None
    now = utcnow()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = status_code
    delivery.last_duration_ms = duration
    delivery.last_error = error
    if error is None:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == delivery.endpoint_id, WebhookEndpoint.consecutive_failures != 0)
            .values(consecutive_failures=0)
            .execution_options(synchronize_session=False)
        )
        await session.flush()
        return delivery
    failures = await session.scalar(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == delivery.endpoint_id)
        .values(consecutive_failures=WebhookEndpoint.consecutive_failures + 1)
        .returning(WebhookEndpoint.consecutive_failures)
        .execution_options(synchronize_session=False)
    )
    disabled = False
    if failures is not None and failures >= settings.webhook_disable_after_failures:
        disabled = await _disable(session, settings, delivery.endpoint_id, failures, error)
    if disabled or delivery.attempts >= settings.webhook_max_attempts:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + timedelta(seconds=retry_delay(settings, delivery.attempts))
        await jobs.enqueue(
            session,
            DELIVER_JOB,
            {"delivery_id": str(delivery.id)},
            max_attempts=DELIVER_JOB_ATTEMPTS,
            run_at=delivery.next_attempt_at,
        )
    await session.flush()
    return delivery


async def _disable(
    session: AsyncSession, settings: Settings, endpoint_id: UUID, failures: int, error: str
) -> bool:
    """Switch an endpoint off and tell its owner; False when it was already off."""
    now = utcnow()
    endpoint_row = (
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled.is_(True))
            .values(
                enabled=False,
                disabled_at=now,
                disabled_reason=f"disabled after {failures} failed attempts in a row",
                updated_at=now,
            )
            .returning(
                WebhookEndpoint.user_id,
                WebhookEndpoint.client_id,
                WebhookEndpoint.url,
                WebhookEndpoint.description,
            )
            .execution_options(synchronize_session=False)
        )
    ).first()
    if endpoint_row is None:
        return True
    user_id, client_id, url, description = endpoint_row
    logger.warning("webhook endpoint %s disabled after %d failures", endpoint_id, failures)
    await _tell_owner(session, settings, user_id, client_id, url, description, failures, error)
    return True


async def _tell_owner(
    session: AsyncSession,
    settings: Settings,
    user_id: UUID | None,
    client_id: UUID | None,
    url: str,
    description: str,
    failures: int,
    error: str,
) -> None:
    """Email the person who owns the endpoint or, for a client's, the staff member who registered
    the client (the only person we know behind it)."""
    client_name = None
    if client_id is not None:
        client = await session.get(OAuthClient, client_id)
        if client is None:
            return
        client_name, user_id = client.name, client.created_by
    user = await session.get(User, user_id) if user_id else None
    if user is None or user.status != UserStatus.ACTIVE:
        logger.warning("nobody to tell that webhook endpoint of client %s was disabled", client_id)
        return
    await notifications.send_email(
        session,
        settings,
        user.email,
        "webhook_endpoint_disabled",
        {
            "endpoint_host": addresses.parse(url, allow_http=True).host_header,
            "description": description,
            "client_name": client_name,
            "failures": failures,
            "last_error": error,
            "settings_url": public_url(settings, SETTINGS_PATH),
        },
        user_id=user.id,
    )


async def prune(session: AsyncSession, settings: Settings) -> int:
    """Delete settled deliveries older than the retention period; returns how many."""
    cutoff = utcnow() - timedelta(days=settings.webhook_delivery_retention_days)
    result = await session.execute(
        delete(WebhookDelivery)
        .where(WebhookDelivery.status != DeliveryStatus.PENDING, WebhookDelivery.updated_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


@jobs.handler(DELIVER_JOB, lane=jobs.WEBHOOKS_LANE)
async def _deliver(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    await deliver(
        context.session, context.settings, UUID(payload["delivery_id"]), before_send=context.session.commit
    )


@jobs.handler(PRUNE_JOB)
async def _prune(context: jobs.JobContext, _payload: dict[str, Any]) -> None:
    removed = await prune(context.session, context.settings)
    if removed:
        logger.info("pruned %d old webhook deliveries", removed)


jobs.periodic(PRUNE_JOB, every=timedelta(hours=6))
