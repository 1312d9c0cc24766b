"""The events we send: each one becomes a delivery row per subscribed endpoint, in the transaction
that caused it, and a job that sends it after the commit.

Registered on import with the domains' hook registries; `opmaestro.tasks` imports this module.
A person's endpoints receive that person's events only; an OAuth client's endpoints receive the
events of every person, each type only while the client holds the scope that reads the same
information (`receivers.py`).
"""

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import hooks as account_hooks
from opmaestro.accounts.models import OAuthClient, User
from opmaestro.consent import changes as consent_changes
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.dsar import hooks as dsar_hooks
from opmaestro.dsar.models import DataRequest
from opmaestro.webhooks.outbound import receivers, service
from opmaestro.webhooks.outbound.delivery import DELIVER_JOB, DELIVER_JOB_ATTEMPTS
from opmaestro.webhooks.outbound.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def body(event_type: EventType, at: datetime, data: dict[str, Any]) -> str:
    """The JSON body every attempt sends, byte for byte (the signature covers it)."""
    document = {"type": event_type.value, "timestamp": _timestamp(at), "data": data}
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


async def emit(
    session: AsyncSession, event_type: EventType, user_id: UUID, data: Sequence[dict[str, Any]]
) -> int:
    """Queue one delivery per event in `data` for each enabled endpoint subscribed to the type
    that may see this person's events; returns how many were queued."""
    needed = receivers.client_scope_of(event_type)
    endpoints = [
        endpoint
        for endpoint, client_scopes in await session.execute(
            select(WebhookEndpoint, OAuthClient.scopes)
            .outerjoin(OAuthClient, OAuthClient.id == WebhookEndpoint.client_id)
            .where(
                WebhookEndpoint.enabled.is_(True),
                or_(
                    WebhookEndpoint.user_id == user_id,
                    # A revoked client hears nothing more.
                    WebhookEndpoint.client_id.is_not(None) & OAuthClient.revoked_at.is_(None),
                ),
            )
        )
        if event_type.value in endpoint.event_types
        # A client's scopes may have shrunk since it subscribed: it gets only what it may read.
        and (endpoint.client_id is None or needed in (client_scopes or []))
    ]
    if not endpoints:
        return 0
    now = utcnow()
    deliveries = [
        WebhookDelivery(
            endpoint_id=endpoint.id,
            subject_user_id=user_id,
            event_type=event_type.value,
            payload=body(event_type, now, {"user_id": str(user_id), **fields}),
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
        )
        for fields in data
        for endpoint in endpoints
    ]
    session.add_all(deliveries)
    await session.flush()
    for delivery in deliveries:
        await jobs.enqueue(
            session, DELIVER_JOB, {"delivery_id": str(delivery.id)}, max_attempts=DELIVER_JOB_ATTEMPTS
        )
    return len(deliveries)


@consent_changes.on_recorded
async def consent_changed(session: AsyncSession, recorded: Sequence[consent_changes.ConsentChange]) -> None:
    """`consent.changed`: a person's answer was recorded, whatever the way it was given."""
    by_user: dict[UUID, list[dict[str, Any]]] = {}
    for change in recorded:
        by_user.setdefault(change.user_id, []).append(
            {
                "consent_event_id": str(change.event_id),
                "purpose": change.purpose_key,
                "purpose_version": change.purpose_version,
                "action": change.action,
                "method": change.method,
                "recorded_at": _timestamp(change.recorded_at),
            }
        )
    for user_id, data in by_user.items():
        await emit(session, EventType.CONSENT_CHANGED, user_id, data)


@dsar_hooks.on_completed
async def data_request_completed(session: AsyncSession, request: DataRequest) -> None:
    """`data_request.completed`: an access, export, correction or erasure request was fulfilled."""
    if request.user_id is None:
        return
    await emit(
        session,
        EventType.DATA_REQUEST_COMPLETED,
        request.user_id,
        [{"data_request_id": str(request.id), "kind": request.kind}],
    )


@account_hooks.on_closed
async def account_closed(session: AsyncSession, user: User) -> None:
    """`account.closed`: the person closed the account; their data is erased after the grace period."""
    due = user.deletion_due_at
    await emit(
        session,
        EventType.ACCOUNT_CLOSED,
        user.id,
        [{"deletion_due_at": _timestamp(due) if due else None}],
    )


@account_hooks.on_password_reset
async def password_reset(session: AsyncSession, user: User, _settings: Settings) -> None:
    """A reset from an emailed link switches the person's endpoints off until they enable them again."""
    await service.disable_after_password_reset(session, user.id)


@dsar_hooks.on_erased
async def account_deleted(session: AsyncSession, user_id: UUID) -> None:
    """`account.deleted`: the person's data was erased (their own endpoints went with it)."""
    await emit(session, EventType.ACCOUNT_DELETED, user_id, [{}])
