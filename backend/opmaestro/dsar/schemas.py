"""Request and response bodies of the data-request routes."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import AfterValidator, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from opmaestro.accounts.schemas import Country, Email, Token
from opmaestro.core.schemas import PLAIN_TEXT, Reason, RequestModel, ResponseModel
from opmaestro.dsar.models import RequestKind, RequestState


class CorrectableField(StrEnum):
    """Data a person cannot change themselves, or wants corrected where it was copied."""

    NAME = "name"
    EMAIL = "email"
    PHONE = "phone"
    COMPANY = "company"
    JOB_TITLE = "job_title"
    COUNTRY = "country"
    DATE_OF_BIRTH = "date_of_birth"
    CONSENT_HISTORY = "consent_history"
    ACTIVITY = "activity"
    BILLING = "billing"
    OTHER = "other"


Details = Annotated[str, Field(min_length=1, max_length=4000, pattern=PLAIN_TEXT)]

# USPS codes of the states, the District of Columbia and the territories.
US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "DC",
        "AS",
        "GU",
        "MP",
        "PR",
        "VI",
        "UM",
    ]
)


# The codes in the schema's pattern (upper or lower case), so clients know the list.
US_STATE_PATTERN = "^(" + "|".join(sorted(US_STATES) + sorted(code.lower() for code in US_STATES)) + ")$"


def _us_state(code: str) -> str:
    return code.upper()


UsState = Annotated[
    str,
    Field(
        min_length=2,
        max_length=2,
        pattern=US_STATE_PATTERN,
        description=(
            "USPS code of a US state, DC or a territory (AS, GU, MP, PR, VI, UM), such as CA; "
            "only read when the country is US."
        ),
    ),
    AfterValidator(_us_state),
]
Fields = Annotated[
    list[CorrectableField],
    Field(default_factory=list, max_length=len(CorrectableField), json_schema_extra={"uniqueItems": True}),
]


# The rule `_correction_rules` checks, stated in the schema so clients (and the contract test) know it.
CORRECTION_RULE: dict[str, Any] = {
    "if": {"properties": {"kind": {"const": RequestKind.CORRECTION.value}}, "required": ["kind"]},
    "then": {"required": ["details", "fields"], "properties": {"fields": {"minItems": 1}}},
    "else": {"properties": {"fields": {"maxItems": 0}}},
}


def _correction_rules(
    sent: set[str],
    kind: RequestKind,
    details: str | None,
    fields: list[CorrectableField],
    values: dict[str, Any],
) -> None:
    if nulls := sorted(name for name in sent if values.get(name) is None):
        raise ValueError(f"Leave out, rather than send null for: {', '.join(nulls)}.")
    if kind is RequestKind.CORRECTION and (not details or not fields):
        raise ValueError("A correction request needs `details` and at least one entry in `fields`.")
    if kind is not RequestKind.CORRECTION and fields:
        raise ValueError("`fields` is only for correction requests.")
    if len(set(fields)) != len(fields):
        raise ValueError("Name each field once in `fields`.")


class DataRequestCreate(RequestModel):
    model_config = ConfigDict(json_schema_extra=CORRECTION_RULE)

    kind: RequestKind
    details: Details | SkipJsonSchema[None] = None
    fields: Fields
    us_state: UsState | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _correction(self) -> Self:
        _correction_rules(self.model_fields_set, self.kind, self.details, self.fields, dict(self))
        return self


class PublicDataRequestCreate(RequestModel):
    model_config = ConfigDict(json_schema_extra=CORRECTION_RULE)

    email: Email
    kind: RequestKind
    details: Details | SkipJsonSchema[None] = None
    fields: Fields
    country: Country | SkipJsonSchema[None] = None
    us_state: UsState | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _correction(self) -> Self:
        _correction_rules(self.model_fields_set, self.kind, self.details, self.fields, dict(self))
        return self


class DataRequestVerification(RequestModel):
    token: Token


class StaffReason(RequestModel):
    reason: Reason


class StaffVerification(RequestModel):
    """How the requester's identity was checked (optional; audited with the verification)."""

    note: Reason | SkipJsonSchema[None] = None


class Resolution(RequestModel):
    resolution: Annotated[str, Field(min_length=5, max_length=2000, pattern=PLAIN_TEXT)]


class ExportFile(ResponseModel):
    size_bytes: int
    sha256: str
    expires_at: datetime


class LegalHoldNotice(ResponseModel):
    category: str
    reason: str
    since: datetime


class DataRequestRead(ResponseModel):
    id: UUID
    kind: RequestKind
    state: RequestState
    created_at: datetime
    due_at: datetime
    extended: bool
    extension_reason: str | None
    closed_at: datetime | None
    outcome: str | None
    progress_percent: int
    erase_after: datetime | None
    fields: list[str]
    export: ExportFile | None
    certificate: dict[str, Any] | None
    legal_holds: list[LegalHoldNotice]


class PublicRequestAccepted(ResponseModel):
    status: Literal["accepted"] = "accepted"
    detail: str


class AdminDataRequestRead(DataRequestRead):
    """A request in the staff queue: who asked (an account or an address) and its badges."""

    user_id: UUID | None
    jurisdiction: str
    verified_at: datetime | None
    started_at: datetime | None
    extended_at: datetime | None
    overdue: bool
    due_soon: bool
    awaiting_confirmation: bool = Field(
        description="Filed by email and its link not opened yet: nothing to do until the requester confirms."
    )


class AdminDataRequestDetail(AdminDataRequestRead):
    """One request opened with a stated reason: adds the requester's address and details."""

    email: str | None
    details: str | None


class AuditEntry(ResponseModel):
    id: UUID
    created_at: datetime
    actor_id: UUID | None
    actor_kind: str
    action: str
    fields: list[str]
    reason: str | None
