"""Requests and answers of the consent, unsubscribe, campaign and statistics endpoints."""

import re
from datetime import date, datetime
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import AfterValidator, ConfigDict, Field, StrictBool, model_validator
from pydantic.json_schema import SkipJsonSchema

from opmaestro.consent.models import CollectionMethod, ConsentAction, LegalBasis
from opmaestro.core.schemas import RequestModel, ResponseModel

PurposeKey = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
PurposeName = Annotated[str, Field(min_length=1, max_length=200)]
PurposeDescription = Annotated[str, Field(min_length=1, max_length=4000)]


class PurposeRead(ResponseModel):
    key: str
    name: str
    description: str
    legal_basis: LegalBasis
    optional: bool
    version: int


class PurposeAdminRead(PurposeRead):
    renewal_version: int = Field(description="Consents given at an older version must be renewed.")
    created_at: datetime
    updated_at: datetime


class PurposeCreate(RequestModel):
    key: PurposeKey
    name: PurposeName
    description: PurposeDescription
    legal_basis: LegalBasis
    optional: StrictBool = True


class PurposeUpdate(RequestModel):
    # Fields can be left out but not removed: `null` is refused, so the schema omits it.
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    name: PurposeName | SkipJsonSchema[None] = None
    description: PurposeDescription | SkipJsonSchema[None] = None
    legal_basis: LegalBasis | SkipJsonSchema[None] = None
    optional: StrictBool | SkipJsonSchema[None] = None
    material: StrictBool = Field(
        default=False, description="The change is material: consents given before it must be renewed."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        for name in ("name", "description", "legal_basis", "optional"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be removed.")
        if not self.model_fields_set:
            raise ValueError("Send at least one field to change.")
        return self


class ConsentRead(ResponseModel):
    key: str
    name: str
    description: str
    legal_basis: LegalBasis
    optional: bool
    version: int
    granted: bool | None = Field(description="None: never asked.")
    since: datetime | None
    method: CollectionMethod | None
    renewal_needed: bool


class ConsentUpdate(RequestModel):
    granted: StrictBool


class ConsentEventRead(ResponseModel):
    id: UUID
    purpose_key: str
    purpose_version: int
    action: ConsentAction
    method: CollectionMethod
    policy_version: str | None
    jurisdiction: str | None
    ip_address: str | None
    user_agent: str | None
    created_at: datetime
    hash: str


class ChainVerification(ResponseModel):
    intact: bool
    events: int
    first_broken_event_id: UUID | None


class Receipt(ResponseModel):
    receipt: str = Field(description="Compact JWS (RS256); verify it with /.well-known/jwks.json.")
    claims: dict[str, object]


class JsonWebKeySet(ResponseModel):
    keys: list[dict[str, object]]


SUBJECT_MAX_LENGTH = 200
TEXT_BODY_MAX_LENGTH = 50_000
HTML_BODY_MAX_LENGTH = 200_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Staff write this HTML, but it lands in every recipient's mail client: no active content.
_ACTIVE_HTML = re.compile(
    r"<\s*(script|iframe|object|embed|form|base|meta)\b|\bon[a-z]+\s*=|javascript:", re.IGNORECASE
)


def _one_line(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("The subject must be one line without control characters.")
    return value


def _passive_html(value: str | None) -> str | None:
    if value is not None and _ACTIVE_HTML.search(value):
        raise ValueError("Scripts, frames, forms, event handlers and javascript: links are not allowed.")
    return value or None


class CampaignCreate(RequestModel):
    subject: Annotated[
        str,
        Field(
            min_length=1,
            max_length=SUBJECT_MAX_LENGTH,
            description="One line, without control characters.",
        ),
        AfterValidator(_one_line),
    ]
    text_body: Annotated[str, Field(min_length=1, max_length=TEXT_BODY_MAX_LENGTH)]
    html_body: Annotated[
        str | None, Field(default=None, max_length=HTML_BODY_MAX_LENGTH), AfterValidator(_passive_html)
    ] = None


class CampaignCreated(ResponseModel):
    campaign_id: UUID
    recipients: int


class CampaignRead(ResponseModel):
    id: UUID
    purpose_key: str
    subject: str
    text_body: str
    html_body: str | None
    recipients: int
    created_by: UUID | None
    created_at: datetime


class UnsubscribeLinkRead(ResponseModel):
    purpose: str
    address: str = Field(description="The recipient's address, masked, such as a***@example.com.")
    subscribed: bool = Field(description="Whether this consent is still granted.")


class UnsubscribeResult(ResponseModel):
    purpose: str
    status: Literal["unsubscribed"] = "unsubscribed"


class DayStats(ResponseModel):
    day: date = Field(description="A UTC calendar day.")
    granted: int
    denied: int
    withdrawn: int
    opt_in_rate: float | None = Field(
        description="granted / (granted + denied + withdrawn); null without events."
    )


class PurposeStats(ResponseModel):
    key: str
    name: str
    granted_now: int = Field(description="Users whose current answer is a grant still valid for the purpose.")
    days: list[DayStats]


class ConsentStatsRead(ResponseModel):
    days: int
    start: date = Field(description="First UTC day of the window.")
    end: date = Field(description="Last UTC day of the window (today).")
    purposes: list[PurposeStats]
