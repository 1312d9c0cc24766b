"""When a data request must be answered, by the requester's jurisdiction.

- EU/EEA, the UK and Switzerland (GDPR Art. 12(3), UK GDPR, Swiss FADP): one calendar month
  from receipt, extendable once by two further months with a reason.
- California (CCPA, Cal. Civ. Code 1798.130): 45 days, extendable once by 45 days.
- Elsewhere: 30 days, extendable once by 30 days (our own promise; no statute sets one).

A month ends on the same day of the month, or on the month's last day when it has no such day:
31 January + 1 month is 28 (or 29) February.
"""

import calendar
from datetime import datetime, timedelta

from opmaestro.dsar.models import Jurisdiction

# EU member states, the other EEA states (IS, LI, NO), the United Kingdom and Switzerland.
EUROPEAN_COUNTRIES = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
        "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
        "IS", "LI", "NO",
        "GB",
        "CH",
    }
)  # fmt: skip
SOON = timedelta(days=7)


def jurisdiction_of(country: str | None, us_state: str | None = None) -> Jurisdiction:
    """The rule that applies to a requester in `country` (ISO alpha-2) and, in the US, `us_state`."""
    code = (country or "").strip().upper()
    if code in EUROPEAN_COUNTRIES:
        return Jurisdiction.EUROPE
    if code == "US" and (us_state or "").strip().upper() == "CA":
        return Jurisdiction.CALIFORNIA
    return Jurisdiction.OTHER


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later, or the last day of that month when it is shorter."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def due_at(jurisdiction: Jurisdiction, received_at: datetime) -> datetime:
    """The first deadline for a request received at `received_at`."""
    if jurisdiction is Jurisdiction.EUROPE:
        return add_months(received_at, 1)
    if jurisdiction is Jurisdiction.CALIFORNIA:
        return received_at + timedelta(days=45)
    return received_at + timedelta(days=30)


def extended_due_at(jurisdiction: Jurisdiction, due: datetime) -> datetime:
    """The deadline after the one extension the jurisdiction allows."""
    if jurisdiction is Jurisdiction.EUROPE:
        return add_months(due, 2)
    if jurisdiction is Jurisdiction.CALIFORNIA:
        return due + timedelta(days=45)
    return due + timedelta(days=30)


def is_overdue(due: datetime, now: datetime) -> bool:
    return now >= due


def is_due_soon(due: datetime, now: datetime) -> bool:
    """Not yet overdue, but due within a week."""
    return now < due <= now + SOON
