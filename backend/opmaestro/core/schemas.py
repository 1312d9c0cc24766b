"""Base classes for request and response schemas."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, StringConstraints


class RequestModel(BaseModel):
    """Rejects unknown fields; fields use strict types where coercion could hide a mistake."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Text people type: any character but the control ones (newline, carriage return and tab excepted);
# PostgreSQL cannot store NUL, and the others only hide or garble what staff and requesters read.
PLAIN_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
REASON_MIN_LENGTH = 5
REASON_MAX_LENGTH = 500

# Why a staff member reads or changes a person's data (audited): one rule for every reasoned read
# and action, in a query or a body. Surrounding whitespace is stripped before the length is checked,
# so a reason of only spaces is refused.
Reason = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=REASON_MIN_LENGTH,
        max_length=REASON_MAX_LENGTH,
        pattern=PLAIN_TEXT,
    ),
]


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01 at +14:00 is in year 0 once in UTC: no date column can hold it.
        raise ValueError("the time is out of range once converted to UTC") from None


# A moment given by a caller (a body field or a query parameter): it must carry its UTC offset, and
# it is converted to UTC, so a date at the edge of the calendar is refused here, not by the database.
UtcMoment = Annotated[AwareDatetime, AfterValidator(_in_utc)]
