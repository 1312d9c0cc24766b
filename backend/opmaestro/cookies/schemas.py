"""Requests and answers of the cookie banner, cookie consent and cookie inventory endpoints."""

from datetime import datetime
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from opmaestro.consent.models import CollectionMethod, ConsentAction
from opmaestro.core.schemas import PLAIN_TEXT, RequestModel, ResponseModel

CategoryKey = Literal["necessary", "preferences", "analytics", "marketing"]
Party = Literal["first", "third"]
MAX_CATEGORIES = 4
CookieName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.*\-]+$",
        description="The cookie's name; with `pattern`, `*` stands for any characters.",
    ),
]
Provider = Annotated[str, Field(min_length=1, max_length=200, pattern=PLAIN_TEXT)]
CookieDescription = Annotated[str, Field(min_length=1, max_length=2000, pattern=PLAIN_TEXT)]
Duration = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=PLAIN_TEXT, description="Such as `Session` or `13 months`."),
]


class CookieRead(ResponseModel):
    name: str
    pattern: bool = Field(description="`name` is a pattern, `*` standing for any characters.")
    provider: str
    description: str
    duration: str
    party: Party


class CookieCategoryRead(ResponseModel):
    key: CategoryKey
    name: str
    description: str
    purpose_key: str = Field(description="The consent purpose the category is recorded under.")
    required: bool = Field(description="Always on: needed to run the service.")
    cookies: list[CookieRead]


class BannerTexts(ResponseModel):
    title: str
    description: str
    accept_all: str
    reject_all: str
    save: str
    manage: str
    gpc_notice: str


class BannerLinks(ResponseModel):
    cookie_policy: str
    privacy_policy: str


class CookieBanner(ResponseModel):
    revision: int = Field(description="Grows with every material change of the inventory: ask again.")
    updated_at: datetime
    reprompt_after_days: int = Field(description="Ask again this long after a choice.")
    do_not_track_honored: bool = Field(description="Whether `DNT: 1` turns marketing off like GPC.")
    categories: list[CookieCategoryRead]
    texts: BannerTexts
    links: BannerLinks


class CookieConsentCreate(RequestModel):
    revision: StrictInt = Field(ge=1, le=2_147_483_647, description="The banner revision the visitor saw.")
    accepted: list[CategoryKey] = Field(
        max_length=MAX_CATEGORIES,
        description="The categories the visitor accepts; `necessary` is always on; the others are refused.",
    )
    gpc: StrictBool = Field(
        default=False, description="The page saw `navigator.globalPrivacyControl`: marketing stays off."
    )

    @field_validator("accepted")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("List each category once.")
        return value


class CookieCategoryChoices(ResponseModel):
    necessary: Literal[True] = True
    preferences: bool
    analytics: bool
    marketing: bool


class CookieConsentEventRead(ResponseModel):
    event_id: UUID
    purpose_key: str
    action: ConsentAction
    method: CollectionMethod


class CookieConsent(ResponseModel):
    revision: int = Field(description="The banner revision the choice was made on.")
    categories: CookieCategoryChoices
    chosen_at: datetime
    method: CollectionMethod = Field(description="How the newest answer was given: `banner`, `gpc`, ...")
    gpc_honored: bool = Field(
        description="Marketing is off because of Global Privacy Control (or Do Not Track)."
    )
    events: list[CookieConsentEventRead] = Field(
        description="The ledger events of the current answer; their receipts are at "
        "`/cookie-consents/receipts/{event_id}` (this device) or `/me/consents/events/{id}/receipt`."
    )


class GpcSupport(ResponseModel):
    gpc: bool
    lastUpdate: str = Field(description="YYYY-MM-DD")  # noqa: N815 - the name the GPC specification uses


class AdminCookieRead(CookieRead):
    id: UUID
    created_at: datetime
    updated_at: datetime


class AdminCookieCategoryRead(ResponseModel):
    key: CategoryKey
    name: str
    description: str
    purpose_key: str
    required: bool
    cookies: list[AdminCookieRead]


class CookieInventory(ResponseModel):
    revision: int
    updated_at: datetime
    categories: list[AdminCookieCategoryRead]


class CookieCreate(RequestModel):
    category: CategoryKey
    name: CookieName
    pattern: StrictBool = False
    provider: Provider
    description: CookieDescription
    duration: Duration
    party: Party


class CookieUpdate(RequestModel):
    # Fields can be left out but not removed: `null` is refused, so the schema omits it.
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    category: CategoryKey | SkipJsonSchema[None] = None
    name: CookieName | SkipJsonSchema[None] = None
    pattern: StrictBool | SkipJsonSchema[None] = None
    provider: Provider | SkipJsonSchema[None] = None
    description: CookieDescription | SkipJsonSchema[None] = None
    duration: Duration | SkipJsonSchema[None] = None
    party: Party | SkipJsonSchema[None] = None
    material: StrictBool = Field(
        default=False, description="Ask every visitor again even for a rewording (a new revision)."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        for name in ("category", "name", "pattern", "provider", "description", "duration", "party"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be removed.")
        if not self.model_fields_set:
            raise ValueError("Send at least one field to change.")
        return self
