"""Due dates by jurisdiction, month arithmetic at month ends, and the queue's badges."""

from datetime import UTC, datetime, timedelta

import pytest

from opmaestro.dsar import deadlines
from opmaestro.dsar.models import Jurisdiction


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 9, 30, tzinfo=UTC)


class TestJurisdiction:
    @pytest.mark.parametrize("country", ["DE", "FR", "IE", "NO", "IS", "LI", "GB", "CH", "de", " gb "])
    def test_eu_eea_uk_and_switzerland_are_european(self, country: str) -> None:
        assert deadlines.jurisdiction_of(country) is Jurisdiction.EUROPE

    @pytest.mark.parametrize("state", ["CA", "ca"])
    def test_california_needs_the_us_and_the_state(self, state: str) -> None:
        assert deadlines.jurisdiction_of("US", state) is Jurisdiction.CALIFORNIA

    @pytest.mark.parametrize(
        ("country", "state"),
        [("US", None), ("US", "NY"), ("CA", None), ("CA", "CA"), ("JP", None), (None, None)],
    )
    def test_everywhere_else_is_other(self, country: str | None, state: str | None) -> None:
        # "CA" as a country is Canada, not California.
        assert deadlines.jurisdiction_of(country, state) is Jurisdiction.OTHER

    def test_every_eu_member_state_is_listed(self) -> None:
        assert len(deadlines.EUROPEAN_COUNTRIES) == 27 + 3 + 2


class TestAddMonths:
    @pytest.mark.parametrize(
        ("start", "months", "end"),
        [
            (at(2026, 1, 31), 1, at(2026, 2, 28)),
            (at(2028, 1, 31), 1, at(2028, 2, 29)),
            (at(2026, 3, 31), 1, at(2026, 4, 30)),
            (at(2026, 1, 15), 1, at(2026, 2, 15)),
            (at(2026, 12, 31), 1, at(2027, 1, 31)),
            (at(2026, 11, 30), 2, at(2027, 1, 30)),
            (at(2026, 12, 31), 2, at(2027, 2, 28)),
            (at(2027, 12, 29), 2, at(2028, 2, 29)),
            (at(2026, 8, 31), 14, at(2027, 10, 31)),
        ],
    )
    def test_the_same_day_or_the_months_last(self, start: datetime, months: int, end: datetime) -> None:
        assert deadlines.add_months(start, months) == end

    def test_keeps_the_time_of_day_and_zone(self) -> None:
        moved = deadlines.add_months(datetime(2026, 5, 31, 23, 59, 59, tzinfo=UTC), 1)
        assert moved == datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC)


class TestDueDates:
    def test_europe_one_calendar_month(self) -> None:
        assert deadlines.due_at(Jurisdiction.EUROPE, at(2026, 1, 31)) == at(2026, 2, 28)

    def test_europe_extends_by_two_months_from_the_due_date(self) -> None:
        due = deadlines.due_at(Jurisdiction.EUROPE, at(2026, 1, 31))
        assert deadlines.extended_due_at(Jurisdiction.EUROPE, due) == at(2026, 4, 28)

    def test_california_45_days_extendable_by_45(self) -> None:
        due = deadlines.due_at(Jurisdiction.CALIFORNIA, at(2026, 1, 1))
        assert due == at(2026, 2, 15)
        assert deadlines.extended_due_at(Jurisdiction.CALIFORNIA, due) == at(2026, 4, 1)

    def test_elsewhere_30_days_extendable_by_30(self) -> None:
        due = deadlines.due_at(Jurisdiction.OTHER, at(2026, 2, 1))
        assert due == at(2026, 3, 3)
        assert deadlines.extended_due_at(Jurisdiction.OTHER, due) == at(2026, 4, 2)


class TestBadges:
    now = at(2026, 6, 1)

    @pytest.mark.parametrize(
        ("due_in", "overdue", "soon"),
        [
            (timedelta(days=-1), True, False),
            (timedelta(0), True, False),
            (timedelta(seconds=1), False, True),
            (timedelta(days=7), False, True),
            (timedelta(days=7, seconds=1), False, False),
        ],
    )
    def test_overdue_and_due_soon(self, due_in: timedelta, overdue: bool, soon: bool) -> None:
        assert deadlines.is_overdue(self.now + due_in, self.now) is overdue
        assert deadlines.is_due_soon(self.now + due_in, self.now) is soon
