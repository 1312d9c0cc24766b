"""Google Cross-Account Protection (RISC): security event tokens verified against Google's keys.

Google's keys are found through its RISC configuration document (`jwks_uri`), kept for
`OPMAESTRO_GOOGLE_KEYS_CACHE_SECONDS`, and fetched again at once when a token names an unknown
`kid` (Google rotated its keys), at most once per `OPMAESTRO_GOOGLE_KEYS_REFETCH_SECONDS`.
"""

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.jwt import InvalidToken, UnknownKey, decode_external, unverified_header
from opmaestro.webhooks.inbound import store
from opmaestro.webhooks.inbound.exceptions import (
    ProviderUnavailable,
    SecurityEventRejected,
    WebhookNotConfigured,
)
from opmaestro.webhooks.inbound.registry import Provider

logger = logging.getLogger(__name__)

SESSIONS_REVOKED = "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked"
TOKENS_REVOKED = "https://schemas.openid.net/secevent/oauth/event-type/tokens-revoked"
ACCOUNT_DISABLED = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
VERIFICATION = "https://schemas.openid.net/secevent/risc/event-type/verification"
FETCH_TIMEOUT_SECONDS = 5.0
MAX_KEYS = 20


class KeyFetchFailed(Exception):
    """Google's configuration or keys could not be read."""


class GoogleKeys:
    """Google's published RISC signing keys, cached; one fetch at a time."""

    def __init__(self, configuration_url: str) -> None:
        self.configuration_url = configuration_url
        self._keys: list[dict[str, Any]] = []
        self._fetched_at: float | None = None
        self._refetched_at: float | None = None
        self._failed_at: float | None = None
        self._lock = asyncio.Lock()

    async def keys(self, settings: Settings) -> list[dict[str, Any]]:
        age = None if self._fetched_at is None else time.monotonic() - self._fetched_at
        if age is None or age > settings.google_keys_cache_seconds:
            await self._refresh(settings, stale_before=self._fetched_at)
        return self._keys

    def _check_not_failing(self, settings: Settings) -> None:
        # While Google cannot be reached, each caller must not start a fetch of its own (anyone can
        # post to the endpoint): one try per refetch interval, the others answered at once.
        if (
            self._failed_at is not None
            and time.monotonic() - self._failed_at < settings.google_keys_refetch_seconds
        ):
            raise KeyFetchFailed("the last fetch failed moments ago")

    async def refetch(self, settings: Settings) -> list[dict[str, Any]] | None:
        """Fetch again for an unknown `kid`; None when an unknown `kid` caused a fetch within the
        refetch interval already (made-up key ids must not make us hammer Google)."""
        now = time.monotonic()
        if self._refetched_at is not None and now - self._refetched_at < settings.google_keys_refetch_seconds:
            return None
        self._refetched_at = now
        await self._refresh(settings, stale_before=self._fetched_at)
        return self._keys

    async def _refresh(self, settings: Settings, *, stale_before: float | None) -> None:
        self._check_not_failing(settings)
        async with self._lock:
            if self._fetched_at is not None and self._fetched_at != stale_before:
                return  # another request fetched while this one waited
            self._check_not_failing(settings)  # another request's fetch failed while this one waited
            try:
                await self._fetch()
            except KeyFetchFailed:
                self._failed_at = time.monotonic()
                raise
            self._failed_at = None

    async def _fetch(self) -> None:
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=False) as client:
            try:
                configuration = (await client.get(self.configuration_url)).raise_for_status().json()
                jwks_uri = configuration.get("jwks_uri") if isinstance(configuration, dict) else None
                if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
                    raise KeyFetchFailed("the RISC configuration names no jwks_uri")
                published = (await client.get(jwks_uri)).raise_for_status().json()
            except (httpx.HTTPError, ValueError) as error:
                raise KeyFetchFailed(str(error)) from error
        keys = published.get("keys") if isinstance(published, dict) else None
        if not isinstance(keys, list):
            raise KeyFetchFailed("the key set has no keys")
        self._keys = [key for key in keys if isinstance(key, dict)][:MAX_KEYS]
        self._fetched_at = time.monotonic()


_caches: dict[str, GoogleKeys] = {}


def google_keys(settings: Settings) -> GoogleKeys:
    """The process's cache of Google's keys for the configured discovery document."""
    cache = _caches.get(settings.google_risc_configuration_url)
    if cache is None:
        cache = _caches.setdefault(
            settings.google_risc_configuration_url, GoogleKeys(settings.google_risc_configuration_url)
        )
    return cache


async def verify(settings: Settings, keys: GoogleKeys, token: str) -> dict[str, Any]:
    """The claims of a security event token Google signed for one of our client ids."""
    audiences = settings.google_risc_audience_list
    if not audiences:
        raise WebhookNotConfigured("Cross-Account Protection is not configured on this server.")
    # Only something shaped like a signed token with a key id is worth Google's keys: a body of
    # garbage must not cost a fetch.
    try:
        header = unverified_header(token)
    except InvalidToken:
        raise SecurityEventRejected("invalid_request", "The body is not a signed token.") from None
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise SecurityEventRejected("invalid_key", "The token names no key id.")
    decode = {
        "issuer": settings.google_risc_issuer,
        "audiences": audiences,
        "required": ("iat", "iss", "aud", "jti"),
    }
    try:
        try:
            return decode_external(token, await keys.keys(settings), **decode)  # type: ignore[arg-type]
        except UnknownKey:
            fresh = await keys.refetch(settings)
            if fresh is None:
                raise
            return decode_external(token, fresh, **decode)  # type: ignore[arg-type]
    except KeyFetchFailed as error:
        logger.warning("google's RISC keys could not be fetched: %s", error)
        raise ProviderUnavailable("Google's keys could not be fetched; try again later.") from None
    except UnknownKey:
        raise SecurityEventRejected("invalid_key", "No published key has this token's key id.") from None
    except InvalidToken as error:
        message = str(error)
        if "issuer" in message.lower():
            raise SecurityEventRejected("invalid_issuer", "The token's issuer is not Google.") from None
        if "audience" in message.lower():
            raise SecurityEventRejected("invalid_audience", "The token is not meant for us.") from None
        raise SecurityEventRejected(
            "invalid_request", "The token is malformed or its signature is wrong."
        ) from None


def _event(claims: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    events = claims.get("events")
    if not isinstance(events, dict) or not events:
        raise SecurityEventRejected("invalid_request", "The token carries no event.")
    event_type, event = next(iter(events.items()))
    if not isinstance(event_type, str) or len(event_type) > 255 or not isinstance(event, dict):
        raise SecurityEventRejected("invalid_request", "The token's event is malformed.")
    return event_type, event


def subject_of(event: dict[str, Any]) -> str | None:
    """The Google account id (`sub`) the event is about, when the subject names one."""
    subject = event.get("subject")
    sub = subject.get("sub") if isinstance(subject, dict) else None
    return sub if isinstance(sub, str) and len(sub) <= 255 else None


async def receive(ingest: store.Ingest, settings: Settings, keys: GoogleKeys, body: bytes) -> bool:
    """Verify the token, then store it once (by `jti`) and queue its handling."""
    if not settings.google_risc_audience_list:
        raise WebhookNotConfigured("Cross-Account Protection is not configured on this server.")
    try:
        token = body.decode("ascii").strip()
    except UnicodeDecodeError:
        raise SecurityEventRejected("invalid_request", "The body is not a token.") from None
    claims = await verify(settings, keys, token)
    jti, issued = claims.get("jti"), claims.get("iat")
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise SecurityEventRejected("invalid_request", "The token has no jti.")
    if not isinstance(issued, int) or isinstance(issued, bool):
        raise SecurityEventRejected("invalid_request", "The token has no iat.")
    now = utcnow()
    # A token older than the events kept could be a repeat no longer recognised.
    if issued < (now - timedelta(days=settings.inbound_webhook_keep_days)).timestamp():
        raise SecurityEventRejected("invalid_request", "The token is too old.")
    if issued > now.timestamp() + settings.webhook_clock_skew_seconds:
        raise SecurityEventRejected("invalid_request", "The token is dated in the future.")
    event_type, event = _event(claims)
    return await ingest.receive(
        settings,
        provider=Provider.GOOGLE_RISC,
        event_id=jti,
        event_type=event_type,
        object_id=subject_of(event),
        object_version=issued,
        occurred_at=datetime.fromtimestamp(issued, UTC),
        body=token,
        user_id=None,
    )
