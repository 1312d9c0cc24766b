from datetime import datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import ConfigDict, Field, StrictBool, model_validator
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
