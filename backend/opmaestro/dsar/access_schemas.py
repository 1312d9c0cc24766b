"""Response shapes of the access summary (`GET /me/data`)."""

from datetime import datetime

from opmaestro.core.schemas import ResponseModel


class ColumnRead(ResponseModel):
    table: str
    column: str
    erasure: str


class CategoryRead(ResponseModel):
    category: str
    label: str
    purpose: str
    legal_basis: str
    recipients: list[str]
    retention: str
    source: str
    record_count: int
    columns: list[ColumnRead]


class HoldRead(ResponseModel):
    category: str
    reason: str
    since: datetime


class DataSummaryRead(ResponseModel):
    generated_at: datetime
    categories: list[CategoryRead]
    legal_holds: list[HoldRead]
