"""Requests and answers of the consent, unsubscribe, campaign and statistics endpoints."""

import re
from datetime import date, datetime
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import AfterValidator, ConfigDict, Field, StrictBool, model_validator
from pydantic.json_schema import SkipJsonSchema

from opmaestro.consent.models import CollectionMethod, ConsentAction, LegalBasis
from opmaestro.core.schemas import PLAIN_TEXT, RequestModel, ResponseModel, UtcMoment

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


# The clients' consent API (`consents:read`, `consents:write`; docs/consent-api.md).
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
# A client's reference or retry key: printable ASCII without spaces, so it is safe in any log.
CLIENT_KEY = r"^[\x21-\x7e]+$"
IDEMPOTENCY_KEY_MAX_LENGTH = 255
NOTICE_TEXT_MAX_LENGTH = 4000


class MarketingEmailRead(ResponseModel):
    allowed: bool = Field(description="Whether marketing email may be sent to the person now.")
    reason: str | None = Field(description="Why not, when it may not; the outbox's own send-time check.")


class ClientConsentRead(ResponseModel):
    purpose: str
    granted: bool | None = Field(description="null: never asked.")
    action: ConsentAction | None
    method: CollectionMethod | None
    since: datetime | None = Field(description="When the current answer was recorded.")
    purpose_version: int | None = Field(description="The purpose's version the answer was given to.")
    policy_version: str | None = Field(description="The privacy policy version in force at the answer.")
    renewal_needed: bool = Field(description="Granted to a version the purpose has since changed materially.")
    event_id: UUID | None = Field(description="The ledger event of the current answer.")


class SubjectConsentsRead(ResponseModel):
    user_id: UUID
    marketing_email: MarketingEmailRead
    consents: list[ClientConsentRead]


class ConsentLookup(RequestModel):
    email: Annotated[str, Field(min_length=3, max_length=320, pattern=ONE_LINE)]


class ConsentChangeRead(ResponseModel):
    event_id: UUID
    user_id: UUID
    purpose: str
    purpose_version: int
    action: ConsentAction
    granted: bool
    method: CollectionMethod
    actor_kind: str = Field(description="subject, staff, client or system.")
    recorded_at: datetime


class ConsentChangesPage(ResponseModel):
    items: list[ConsentChangeRead]
    next_cursor: str = Field(description="Pass it as `cursor` next time, even when `items` is empty.")
    has_more: bool = Field(description="More changes are waiting: ask again at once.")


class ConsentRecordCreate(RequestModel):
    user_id: UUID
    purpose: PurposeKey
    granted: StrictBool = Field(description="false records a refusal, or a withdrawal of a grant.")
    collected_at: UtcMoment = Field(
        description="When the person answered, with its UTC offset; not in the future, not too long ago."
    )
    source: Annotated[
        str,
        Field(
            min_length=1,
            max_length=200,
            pattern=ONE_LINE,
            description="Where it was collected (a form, a call).",
        ),
    ]
    notice_version: Annotated[
        str | None,
        Field(
            default=None,
            min_length=1,
            max_length=64,
            pattern=ONE_LINE,
            description="The notice version shown.",
        ),
    ] = None
    notice_text: Annotated[
        str | None,
        Field(
            default=None,
            min_length=1,
            max_length=NOTICE_TEXT_MAX_LENGTH,
            pattern=PLAIN_TEXT,
            description="The wording shown to the person.",
        ),
    ] = None
    reference: Annotated[
        str | None,
        Field(
            default=None,
            min_length=1,
            max_length=100,
            pattern=CLIENT_KEY,
            description="Your id for this consent; a second record with it is a retry of the first.",
        ),
    ] = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.notice_version is None and self.notice_text is None:
            raise ValueError("Send notice_version, notice_text or both: what the person was shown.")
        return self


class ConsentRecordRead(ResponseModel):
    event_id: UUID
    user_id: UUID
    purpose: str
    purpose_version: int
    granted: bool
    action: ConsentAction
    method: CollectionMethod
    recorded_at: datetime
    collected_at: datetime
    source: str
    notice_version: str | None
    reference: str | None
    replayed: bool = Field(description="true when this answers a retry of a request already recorded.")
