"""Staff consent statistics: events per purpose and UTC day, opt-in rates and current grants."""

from datetime import UTC, date, timedelta

import pytest

from opmaestro.accounts.models import Role
from opmaestro.consent import ledger as consent
from opmaestro.consent.models import CollectionMethod, ConsentAction
from opmaestro.consent.stats import opt_in_rate
from tests.consent.helpers import SEEDED, sign_in_staff
from tests.factories import create_user, sign_in
from tests.problems import assert_problem

STATS = "/api/v1/admin/consent/stats"


async def answer(session, user, purpose: str, action: ConsentAction) -> None:
    await consent.record(
        session,
        user_id=user.id,
        purpose_key=purpose,
        action=action,
        method=CollectionMethod.SETTINGS,
        actor=None,
        ip=None,
        user_agent=None,
    )
    await session.commit()


def by_key(body: dict) -> dict[str, dict]:
    return {purpose["key"]: purpose for purpose in body["purposes"]}


def by_day(purpose: dict) -> dict[date, dict]:
    return {date.fromisoformat(day["day"]): day for day in purpose["days"]}


class TestConsentStats:
    # Events are recorded in the past (the clock is moved back, then returns to now) so staff
    # sign in at the real time, which their TOTP codes follow.
    async def test_counts_events_per_purpose_and_utc_day(self, session, client, clock):
        ann, bob, cy = [await create_user(session, f"{name}@example.com") for name in ("ann", "bob", "cy")]
        clock.advance(days=-4)
        first_day = clock.now().astimezone(UTC).date()
        await answer(session, ann, "analytics", ConsentAction.GRANTED)
        clock.advance(days=3)
        await answer(session, ann, "analytics", ConsentAction.WITHDRAWN)
        await answer(session, bob, "analytics", ConsentAction.GRANTED)
        await answer(session, cy, "analytics", ConsentAction.DENIED)
        clock.advance(days=1)
        await answer(session, ann, "analytics", ConsentAction.GRANTED)
        await answer(session, bob, "marketing_email", ConsentAction.GRANTED)
        await sign_in_staff(session, client, "root@example.com")

        response = await client.get(STATS, params={"days": 3})

        assert response.status_code == 200, response.text
        body = response.json()
        today = first_day + timedelta(days=4)
        assert (body["days"], body["start"], body["end"]) == (3, str(today - timedelta(days=2)), str(today))
        purposes = by_key(body)
        assert list(purposes) == SEEDED
        analytics = by_day(purposes["analytics"])
        assert list(analytics) == [today - timedelta(days=2), today - timedelta(days=1), today]
        quiet, busy, last = analytics.values()
        assert (quiet["granted"], quiet["denied"], quiet["withdrawn"], quiet["opt_in_rate"]) == (
            0,
            0,
            0,
            None,
        )
        assert (busy["granted"], busy["denied"], busy["withdrawn"]) == (1, 1, 1)
        assert busy["opt_in_rate"] == pytest.approx(1 / 3)
        assert (last["granted"], last["opt_in_rate"]) == (1, 1.0)
        assert by_day(purposes["marketing_email"])[today]["granted"] == 1
        assert purposes["analytics"]["granted_now"] == 2
        assert purposes["marketing_email"]["granted_now"] == 1
        assert purposes["personalization"]["granted_now"] == 0

    async def test_a_wider_window_includes_older_days(self, session, client, clock):
        ann = await create_user(session, "ann@example.com")
        clock.advance(days=-3)
        await answer(session, ann, "analytics", ConsentAction.GRANTED)
        clock.advance(days=3)
        await sign_in_staff(session, client, "root@example.com")
        narrow = by_key((await client.get(STATS, params={"days": 3})).json())["analytics"]
        wide = by_key((await client.get(STATS, params={"days": 4})).json())["analytics"]
        assert sum(day["granted"] for day in narrow["days"]) == 0
        assert [day["granted"] for day in wide["days"]] == [1, 0, 0, 0]

    async def test_grants_awaiting_renewal_are_not_counted_as_granted(self, session, client):
        ann = await create_user(session, "ann@example.com")
        await answer(session, ann, "analytics", ConsentAction.GRANTED)
        await sign_in_staff(session, client, "root@example.com")
        assert by_key((await client.get(STATS)).json())["analytics"]["granted_now"] == 1
        response = await client.patch(
            "/api/v1/admin/purposes/analytics", json={"description": "Now also heatmaps.", "material": True}
        )
        assert response.status_code == 200, response.text
        assert by_key((await client.get(STATS)).json())["analytics"]["granted_now"] == 0

    async def test_empty_window_has_every_day_without_a_rate(self, session, client):
        await sign_in_staff(session, client, "dpo@example.com", Role.PRIVACY_OFFICER)
        response = await client.get(STATS)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["days"] == 30 and [p["key"] for p in body["purposes"]] == SEEDED
        for purpose in body["purposes"]:
            assert len(purpose["days"]) == 30 and purpose["granted_now"] == 0
            assert all(day["opt_in_rate"] is None and day["granted"] == 0 for day in purpose["days"])

    @pytest.mark.parametrize(
        ("counts", "rate"), [((0, 0, 0), None), ((1, 0, 0), 1.0), ((1, 1, 0), 0.5), ((1, 2, 1), 0.25)]
    )
    def test_opt_in_rate(self, counts, rate):
        assert opt_in_rate(*counts) == rate

    @pytest.mark.parametrize("days", [0, 366, -1, "week"])
    async def test_days_out_of_range_is_422(self, session, client, days):
        await sign_in_staff(session, client, "root@example.com")
        assert_problem(await client.get(STATS, params={"days": days}), 422, "validation")

    async def test_members_and_support_are_refused(self, session, client, make_client):
        member = await create_user(session, "ann@example.com")
        browser = make_client()
        await sign_in(browser, member.email)
        assert_problem(await browser.get(STATS), 403, "forbidden")
        await sign_in_staff(session, client, "help@example.com", Role.SUPPORT)
        assert_problem(await client.get(STATS), 403, "forbidden")

    async def test_anonymous_is_401(self, client):
        assert_problem(await client.get(STATS), 401, "not-authenticated")
