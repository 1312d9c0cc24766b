from datetime import date, datetime
from typing import Annotated, Literal, Self
from uuid import UUID

import phonenumbers
import pycountry
from pydantic import (
    AfterValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from opmaestro.accounts.deps import SCOPES
from opmaestro.accounts.models import Role
from opmaestro.core.clock import utcnow
from opmaestro.core.schemas import Reason, RequestModel, ResponseModel
from opmaestro.core.security import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, password_problem

MINIMUM_AGE = 18
# Rules JSON Schema cannot state are named by a `format` of ours and described; clients and the
# contract test (tests/test_api_contract.py) know what each means.
NEW_PASSWORD_FORMAT = "new-password"
EMAIL_FORMAT = "deliverable-email"
PHONE_FORMAT = "phone"
BIRTH_DATE_FORMAT = "adult-birth-date"


def _country_pattern() -> str:
    """Every ISO 3166-1 alpha-2 code, either case: `^(?:[Aa][DdEeFf...]|...)$`."""
    by_first: dict[str, list[str]] = {}
    for country in pycountry.countries:
        by_first.setdefault(country.alpha_2[0], []).append(country.alpha_2[1])
    groups = [
        f"[{first}{first.lower()}][{''.join(second + second.lower() for second in sorted(seconds))}]"
        for first, seconds in sorted(by_first.items())
    ]
    return f"^(?:{'|'.join(groups)})$"


COUNTRY_PATTERN = _country_pattern()


def _new_password(value: str) -> str:
    if problem := password_problem(value):
        raise ValueError(problem)
    return value


def _country(value: str) -> str:
    code = value.upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError("Use an ISO 3166-1 alpha-2 country code, such as US or DE.")
    return code


def _scopes(value: list[str]) -> list[str]:
    unknown = sorted(set(value) - set(SCOPES))
    if unknown:
        raise ValueError(f"Unknown scopes: {', '.join(unknown)}.")
    if not value:
        raise ValueError("Choose at least one scope.")
    return sorted(set(value))


def to_e164(raw: str, country: str | None) -> str:
    try:
        number = phonenumbers.parse(raw, None if raw.startswith("+") else country)
    except phonenumbers.NumberParseException as error:
        raise ValueError("This is not a phone number.") from error
    if not phonenumbers.is_valid_number(number):
        raise ValueError("This phone number is not valid; include the country code, such as +1.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def years_between(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


NewPassword = Annotated[
    str,
    Field(
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        description=f"{PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters, at least 4 different ones, "
        "not a commonly used password (422 otherwise).",
        json_schema_extra={"format": NEW_PASSWORD_FORMAT},
    ),
    AfterValidator(_new_password),
]
Password = Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
OptionalText = Annotated[str | None, Field(default=None, max_length=200)]
Country = Annotated[
    str,
    Field(
        min_length=2,
        max_length=2,
        pattern=COUNTRY_PATTERN,
        description="ISO 3166-1 alpha-2 code, such as US or DE.",
    ),
    AfterValidator(_country),
]
Email = Annotated[
    EmailStr,
    Field(
        max_length=320,
        description="An address that can receive mail (special-use domains such as .test are refused).",
        json_schema_extra={"format": EMAIL_FORMAT},
    ),
]
# A policy version as the policies API gives it (say "2026-11-01"): printable ASCII, no spaces, so a
# value the schema allows is never one the server empties by stripping it.
Version = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[!-~]+$")]
Token = Annotated[str, Field(min_length=10, max_length=200, description="The token from the emailed link.")]
Scopes = Annotated[
    list[str],
    Field(
        min_length=1,
        max_length=len(SCOPES),
        json_schema_extra={"items": {"type": "string", "enum": list(SCOPES)}},
    ),
    AfterValidator(_scopes),
]
Phone = Annotated[
    Annotated[str, Field(max_length=40, json_schema_extra={"format": PHONE_FORMAT})] | None,
    Field(
        default=None,
        description="E.164 (+1 415 555 0132), or national in the account's country; empty removes it.",
    ),
]


class RegistrationCreate(RequestModel):
    name: Name
    email: Email
    password: NewPassword
    company: OptionalText = None
    job_title: OptionalText = None
    # Country comes before phone: a national phone number is read in the country's plan.
    country: Country
    phone: Phone = None
    confirms_age_18_or_over: Annotated[
        StrictBool,
        Field(description="Must be true: OpMaestro is for adults.", json_schema_extra={"const": True}),
    ]
    date_of_birth: Annotated[
        Annotated[date, Field(json_schema_extra={"format": BIRTH_DATE_FORMAT})] | None,
        Field(default=None, description=f"Born in 1900 or later, and {MINIMUM_AGE} or older today."),
    ] = None
    accepted_terms_version: Version
    accepted_privacy_version: Version
    acknowledged_us_transfer_notice_version: Version
    marketing_email_opt_in: StrictBool = False

    @field_validator("confirms_age_18_or_over")
    @classmethod
    def _adult(cls, value: bool) -> bool:
        if not value:
            raise ValueError(f"You must be {MINIMUM_AGE} or older to use OpMaestro.")
        return value

    @field_validator("date_of_birth")
    @classmethod
    def _born_adult(cls, value: date | None) -> date | None:
        if value is None:
            return None
        if value.year < 1900:
            raise ValueError("Check the date of birth.")
        if years_between(value, utcnow().date()) < MINIMUM_AGE:
            raise ValueError(f"You must be {MINIMUM_AGE} or older to use OpMaestro.")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None, info: ValidationInfo) -> str | None:
        return to_e164(value, info.data.get("country")) if value else None


class RegistrationAccepted(ResponseModel):
    status: Literal["verification_sent"] = "verification_sent"
    detail: str = "If the address can be used, a verification link is on its way to it."


class EmailVerification(RequestModel):
    token: Token


class EmailOnly(RequestModel):
    email: Email


class Accepted(ResponseModel):
    status: Literal["accepted"] = "accepted"
    detail: str


class LoginRequest(RequestModel):
    email: Email
    password: Password
    otp: Annotated[str | None, Field(default=None, min_length=6, max_length=20)] = None


class MeRead(ResponseModel):
    id: UUID
    email: str
    email_verified: bool
    name: str
    company: str | None
    job_title: str | None
    phone: str | None
    country: str
    role: Role
    status: str
    mfa_enabled: bool
    created_at: datetime


class LoginResult(ResponseModel):
    user: MeRead
    csrf_token: str
    session_expires_at: datetime


class ProfileUpdate(RequestModel):
    # Name and country can change but not be removed: `null` is refused, so the schema omits it.
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    name: Name | SkipJsonSchema[None] = None
    company: OptionalText = None
    job_title: OptionalText = None
    phone: Phone = None
    country: Country | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("The name cannot be removed.")
        if "country" in self.model_fields_set and self.country is None:
            raise ValueError("The country cannot be removed.")
        if not self.model_fields_set:
            raise ValueError("Send at least one field to change.")
        return self


class EmailChange(RequestModel):
    new_email: Email
    password: Password


class PasswordChange(RequestModel):
    current_password: Password
    new_password: NewPassword
    keep_token_ids: list[UUID] = Field(
        default_factory=list,
        max_length=100,
        description="Personal access tokens to keep working; every other one is revoked.",
    )


class PasswordReset(RequestModel):
    token: Token
    new_password: NewPassword


class PasswordConfirmation(RequestModel):
    password: Password


class AccountClosed(ResponseModel):
    status: Literal["closed"] = "closed"
    deletion_due_at: datetime
    detail: str


class SessionBase(ResponseModel):
    id: UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip_address: str | None
    user_agent: str | None


class SessionRead(SessionBase):
    current: bool


class TokenCreate(RequestModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    scopes: Scopes
    expires_in_days: Annotated[StrictInt, Field(ge=1, le=365)] = 90


class TokenRead(ResponseModel):
    id: UUID
    name: str
    hint: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="Shown once; store it now.")


class ScopeRead(ResponseModel):
    name: str
    description: str
    clients_only: bool = Field(description="Only OAuth clients can hold it, never a personal access token.")


class MfaEnrollment(ResponseModel):
    secret: str
    otpauth_uri: str


class MfaConfirmation(RequestModel):
    code: Annotated[str, Field(min_length=6, max_length=8, pattern=r"^\d+$")]


class MfaDisable(RequestModel):
    password: Password
    code: Annotated[
        str, Field(min_length=6, max_length=20, description="A code from the app, or a recovery code.")
    ]


class RecoveryCodes(ResponseModel):
    recovery_codes: list[str] = Field(description="Each works once; shown once.")


class AdminUserRead(ResponseModel):
    id: UUID
    email: str
    name: str
    company: str | None
    role: Role
    status: str
    email_verified: bool
    mfa_enabled: bool
    created_at: datetime


class AdminUserUpdate(RequestModel):
    # `reason` and at least one of `role` and `disabled`.
    model_config = ConfigDict(json_schema_extra={"minProperties": 2})

    role: Role | SkipJsonSchema[None] = None
    disabled: StrictBool | SkipJsonSchema[None] = None
    reason: Reason

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.role is None and self.disabled is None:
            raise ValueError("Send a role, disabled, or both.")
        for name in ("role", "disabled"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out instead.")
        return self


class OAuthClientCreate(RequestModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    scopes: Scopes


class OAuthClientRead(ResponseModel):
    id: UUID
    client_id: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class OAuthClientCreated(OAuthClientRead):
    client_secret: str = Field(description="Shown once; store it now.")


class OAuthToken(ResponseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    scope: str


class Reauthentication(RequestModel):
    """The password, or (with two-factor on) a code from the app or an unused recovery code."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    password: Password | SkipJsonSchema[None] = None
    code: Annotated[str, Field(min_length=6, max_length=20)] | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        sent = self.model_fields_set
        if len(sent) != 1 or (self.password is None) == (self.code is None):
            raise ValueError("Send either `password` or `code`.")
        return self
