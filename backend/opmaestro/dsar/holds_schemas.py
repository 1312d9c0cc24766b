"""Request and response bodies of the legal-hold routes."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import Field

from opmaestro.core.datamap import Category
from opmaestro.core.schemas import RequestModel, ResponseModel

Reason = Annotated[str, Field(min_length=5, max_length=1000, description="The legal obligation; audited.")]


class LegalHoldCreate(RequestModel):
    category: Category
    reason: Reason


class LegalHoldRelease(RequestModel):
    reason: Reason


class LegalHoldRead(ResponseModel):
    id: UUID
    user_id: UUID
    category: Category
    reason: str
    created_at: datetime
    created_by: UUID | None
    released_at: datetime | None
    released_by: UUID | None
