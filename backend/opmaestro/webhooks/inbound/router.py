"""Provider webhooks (public, each verified by its provider's rule) and the staff view of
Gusto subscriptions."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Response

from opmaestro.accounts.deps import Administrator
from opmaestro.audit import service as audit
from opmaestro.core.access import Public
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import SettingsDep
from opmaestro.core.errors import problem
from opmaestro.core.http import SIGNED_IN_ERRORS
from opmaestro.webhooks.inbound import calendar_push, gusto_events, risc, stripe_events
from opmaestro.webhooks.inbound.deps import DeliveryDep, GoogleKeysDep, RawBody
from opmaestro.webhooks.inbound.exceptions import (
    InvalidChannelToken,
    InvalidSignature,
    MalformedEvent,
    ProviderUnavailable,
    SecurityEventRejected,
    StaleDelivery,
    SubscriptionNotFound,
    TooManyPendingSubscriptions,
    UnknownChannel,
    WebhookBodyTooLarge,
    WebhookNotConfigured,
)
from opmaestro.webhooks.inbound.schemas import GustoSubscriptionRead, GustoVerificationToken, WebhookReceipt

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
admin_router = APIRouter(prefix="/admin/webhooks", tags=["admin"], responses=SIGNED_IN_ERRORS)


def _json_body(description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }


SIGNED_ERRORS: dict[int | str, dict[str, Any]] = {
    400: problem(InvalidSignature, StaleDelivery, MalformedEvent),
    404: problem(WebhookNotConfigured),
    413: problem(WebhookBodyTooLarge),
}


# Read by the route itself (one dependency fewer on the hottest path), so documented here.
SIGNATURE_HEADER = {
    "name": "Stripe-Signature",
    "in": "header",
    "required": False,
    "description": "t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.<body>'> (several v1 while a secret rotates)",
    "schema": {"type": "string", "maxLength": stripe_events.MAX_SIGNATURE_LENGTH},
}


def _receipt(accepted: bool) -> WebhookReceipt:
    return WebhookReceipt(status="accepted" if accepted else "duplicate")


# The two answers of the hot path, serialised once (the schema above documents them).
_ANSWERS = {
    accepted: Response(_receipt(accepted).model_dump_json().encode(), media_type="application/json")
    for accepted in (True, False)
}


def _answer(accepted: bool, status_code: int = 200) -> Response:
    answer = _ANSWERS[accepted]
    return Response(answer.body, status_code=status_code, media_type="application/json")


@router.post(
    "/stripe",
    summary="Receive a Stripe event",
    response_model=WebhookReceipt,
    dependencies=[Public],
    responses=SIGNED_ERRORS,
    openapi_extra=_json_body("A Stripe event, signed in the Stripe-Signature header.")
    | {"parameters": [SIGNATURE_HEADER]},
)
async def receive_stripe_event(sent: DeliveryDep) -> Response:
    """Verify a Stripe event on its raw body, store it once and queue its handling."""
    signature = sent.headers.get("stripe-signature")
    return _answer(await stripe_events.receive(sent.ingest, sent.settings, sent.body, signature))


@router.post(
    "/gusto",
    summary="Receive a Gusto event or verification token",
    response_model=WebhookReceipt,
    dependencies=[Public],
    responses={**SIGNED_ERRORS, 429: problem(TooManyPendingSubscriptions)},
    openapi_extra=_json_body("A Gusto event signed in X-Gusto-Signature, or Gusto's unsigned handshake."),
)
async def receive_gusto_event(
    body: RawBody,
    session: SessionDep,
    settings: SettingsDep,
    x_gusto_signature: Annotated[str | None, Header(max_length=256)] = None,
) -> WebhookReceipt:
    """Keep a subscription's verification token, or verify an event, store it once and queue it."""
    outcome = await gusto_events.receive(session, settings, body, x_gusto_signature)
    if outcome.kind == "handshake":
        return WebhookReceipt(status="acknowledged")
    return WebhookReceipt(status="accepted" if outcome.kind == "accepted" else "duplicate")


GoogHeader = Annotated[str | None, Header(max_length=1024)]


@router.post(
    "/google/calendar",
    summary="Receive a Google Calendar push notification",
    response_model=WebhookReceipt,
    dependencies=[Public],
    responses={
        400: problem(MalformedEvent),
        401: problem(InvalidChannelToken),
        404: problem(UnknownChannel),
        413: problem(WebhookBodyTooLarge),
    },
)
async def receive_calendar_notification(
    _body: RawBody,
    session: SessionDep,
    settings: SettingsDep,
    x_goog_channel_id: Annotated[str, Header(min_length=1, max_length=64)],
    x_goog_resource_state: Annotated[str, Header(min_length=1, max_length=32)],
    x_goog_channel_token: GoogHeader = None,
    x_goog_resource_id: GoogHeader = None,
    x_goog_message_number: GoogHeader = None,
    x_goog_channel_expiration: GoogHeader = None,
    x_goog_resource_uri: GoogHeader = None,
    x_goog_changed: GoogHeader = None,
) -> WebhookReceipt:
    """Check the channel's token; acknowledge `sync`, store a change once and queue a re-sync."""
    note = calendar_push.Notification(
        channel_id=x_goog_channel_id,
        token=x_goog_channel_token,
        resource_id=x_goog_resource_id,
        resource_state=x_goog_resource_state,
        message_number=x_goog_message_number,
        expiration=x_goog_channel_expiration,
        resource_uri=x_goog_resource_uri,
        changed=x_goog_changed,
    )
    if x_goog_resource_state == calendar_push.SYNC:
        await calendar_push.receive(session, settings, note)
        return WebhookReceipt(status="acknowledged")
    return _receipt(await calendar_push.receive(session, settings, note))


# header.payload.signature, each base64url (RFC 7515 compact serialization).
COMPACT_JWS = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"


@router.post(
    "/google/risc",
    summary="Receive a Google Cross-Account Protection security event",
    status_code=202,
    response_model=WebhookReceipt,
    dependencies=[Public],
    responses={
        400: problem(SecurityEventRejected),
        404: problem(WebhookNotConfigured),
        413: problem(WebhookBodyTooLarge),
        503: problem(ProviderUnavailable),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "A security event token (RFC 8417) signed by Google.",
            "content": {"application/secevent+jwt": {"schema": {"type": "string", "pattern": COMPACT_JWS}}},
        }
    },
)
async def receive_security_event(sent: DeliveryDep, keys: GoogleKeysDep) -> WebhookReceipt:
    """Verify a security event token against Google's keys, store it once (by jti) and queue it."""
    return _receipt(await risc.receive(sent.ingest, sent.settings, keys, sent.body))


@admin_router.get(
    "/gusto-subscriptions",
    summary="List Gusto webhook subscriptions",
    response_model=list[GustoSubscriptionRead],
)
async def list_gusto_subscriptions(
    _principal: Administrator, session: SessionDep
) -> list[GustoSubscriptionRead]:
    """Subscriptions whose verification token Gusto delivered, verified or not."""
    found = await gusto_events.list_subscriptions(session)
    return [GustoSubscriptionRead.model_validate(subscription) for subscription in found]


@admin_router.get(
    "/gusto-subscriptions/{subscription_id}/token",
    summary="Reveal a Gusto verification token",
    response_model=GustoVerificationToken,
    responses={404: problem(SubscriptionNotFound)},
)
async def reveal_gusto_token(
    subscription_id: UUID, principal: Administrator, session: SessionDep, settings: SettingsDep
) -> GustoVerificationToken:
    """The token to paste into Gusto's developer portal to verify the subscription (audited)."""
    token = await gusto_events.reveal_token(session, settings, subscription_id)
    await audit.record(
        session,
        actor=principal,
        action="webhooks.gusto_token_revealed",
        subject_type="gusto_webhook_subscription",
        subject_id=subscription_id,
    )
    return GustoVerificationToken(verification_token=token)


@admin_router.post(
    "/gusto-subscriptions/{subscription_id}/verified",
    summary="Mark a Gusto subscription verified",
    response_model=GustoSubscriptionRead,
    responses={404: problem(SubscriptionNotFound)},
)
async def mark_gusto_subscription_verified(
    subscription_id: UUID, principal: Administrator, session: SessionDep
) -> GustoSubscriptionRead:
    """After Gusto accepted the token: events signed with it are accepted from now on (audited)."""
    found = await gusto_events.mark_verified(session, subscription_id)
    await audit.record(
        session,
        actor=principal,
        action="webhooks.gusto_subscription_verified",
        subject_type="gusto_webhook_subscription",
        subject_id=subscription_id,
    )
    return GustoSubscriptionRead.model_validate(found)


@admin_router.delete(
    "/gusto-subscriptions/{subscription_id}",
    summary="Forget a Gusto subscription",
    status_code=204,
    responses={404: problem(SubscriptionNotFound)},
)
async def delete_gusto_subscription(
    subscription_id: UUID, principal: Administrator, session: SessionDep
) -> None:
    """Stop trusting a subscription's token (a forged handshake, or a subscription removed at Gusto)."""
    await gusto_events.delete_subscription(session, subscription_id)
    await audit.record(
        session,
        actor=principal,
        action="webhooks.gusto_subscription_deleted",
        subject_type="gusto_webhook_subscription",
        subject_id=subscription_id,
    )
