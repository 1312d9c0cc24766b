"""Request and response bodies of the webhook endpoint routes."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import Field, StrictBool

from opmaestro.core.schemas import PLAIN_TEXT, RequestModel, ResponseModel
from opmaestro.webhooks.outbound.models import (
    DESCRIPTION_MAX_LENGTH,
    URL_MAX_LENGTH,
    DeliveryStatus,
    EventType,
)

WEBHOOK_URL_FORMAT = "webhook-url"
EndpointUrl = Annotated[
    str,
    Field(
        min_length=8,
        max_length=URL_MAX_LENGTH,
        description=(
            "Where events are POSTed: an https:// URL whose host resolves only to public addresses "
            "(format `webhook-url`; checked when registered and again before each delivery)."
        ),
        json_schema_extra={"format": WEBHOOK_URL_FORMAT},
    ),
]
Description = Annotated[str, Field(max_length=DESCRIPTION_MAX_LENGTH, pattern=PLAIN_TEXT)]
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=len(EventType))]


class PersonEventType(StrEnum):
    """The events a person's own endpoints can receive: not `account.deleted`, since they are
    erased with the person's data."""

    CONSENT_CHANGED = EventType.CONSENT_CHANGED.value
    DATA_REQUEST_COMPLETED = EventType.DATA_REQUEST_COMPLETED.value
    ACCOUNT_CLOSED = EventType.ACCOUNT_CLOSED.value


PersonEventTypes = Annotated[list[PersonEventType], Field(min_length=1, max_length=len(PersonEventType))]


class EndpointCreate(RequestModel):
    url: EndpointUrl
    event_types: EventTypes
    description: Description = ""
    enabled: StrictBool = True


class EndpointUpdate(RequestModel):
    url: EndpointUrl | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: StrictBool | None = None


class PersonEndpointCreate(EndpointCreate):
    event_types: PersonEventTypes  # type: ignore[assignment]


class PersonEndpointUpdate(EndpointUpdate):
    event_types: PersonEventTypes | None = None  # type: ignore[assignment]


class EndpointRead(ResponseModel):
    id: UUID
    url: str
    description: str
    event_types: list[EventType]
    enabled: bool
    consecutive_failures: int
    disabled_at: datetime | None
    disabled_reason: str | None
    previous_secret_expires_at: datetime | None = Field(
        description="While set and in the future, the secret replaced by the last rotation still signs too."
    )
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(EndpointRead):
    secret: str = Field(
        description="The signing secret (`whsec_...`). Shown this once: store it now.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class DeliveryRead(ResponseModel):
    id: UUID = Field(description="Also the `webhook-id` header the receiver saw.")
    event_type: EventType
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_duration_ms: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
