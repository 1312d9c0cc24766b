from datetime import datetime
from typing import Literal
from uuid import UUID

from opmaestro.core.schemas import ResponseModel


class WebhookReceipt(ResponseModel):
    """What a provider is told: `accepted` (stored, to be handled), `duplicate` (stored before,
    no second effect), `acknowledged` (nothing to store: a channel's `sync`, a Gusto handshake)."""

    status: Literal["accepted", "duplicate", "acknowledged"]


class GustoSubscriptionRead(ResponseModel):
    id: UUID
    subscription_uuid: str
    received_at: datetime
    verified_at: datetime | None


class GustoVerificationToken(ResponseModel):
    verification_token: str
