"""Requests and answers of the unsubscribe and campaign endpoints."""

import re
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, Field

from opmaestro.core.schemas import RequestModel, ResponseModel

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
