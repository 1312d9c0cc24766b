"""Legal holds: staff place, list and release them; every step is audited; erasure honours them."""

from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.models import Role, User
from opmaestro.audit.models import AuditRecord
from opmaestro.core.datamap import CONTACT
from opmaestro.dsar import holds
from tests.consent.helpers import bearer, create_token
from tests.factories import create_user, sign_in
from tests.problems import assert_problem

REASON = "litigation hold: case 22-114, counsel's letter of 3 November"
LIST_REASON = "reviewing holds before an erasure"


def holds_of(user: User) -> str:
    return f"/api/v1/admin/users/{user.id}/legal-holds"


def release_of(hold_id: str) -> str:
    return f"/api/v1/admin/legal-holds/{hold_id}/release"


async def sign_in_as(client: httpx.AsyncClient, session: AsyncSession, email: str, role: Role) -> User:
    secret = pyotp.random_base32() if role != Role.MEMBER else None
    user = await create_user(session, email, role=role, mfa_secret=secret)
    await sign_in(client, email, otp_secret=secret)
    return user


@pytest.fixture
async def officer(client: httpx.AsyncClient, session: AsyncSession) -> User:
    return await sign_in_as(client, session, "officer@example.com", Role.PRIVACY_OFFICER)


@pytest.fixture
async def member(session: AsyncSession) -> User:
    return await create_user(session, "held.person@example.com", name="Held Person")


async def place(client: httpx.AsyncClient, user: User, **body: Any) -> httpx.Response:
    return await client.post(holds_of(user), json={"category": "contact", "reason": REASON} | body)


async def audit_actions(session: AsyncSession, action: str) -> list[AuditRecord]:
    return list((await session.scalars(select(AuditRecord).where(AuditRecord.action == action))).all())


class TestPlace:
    async def test_a_privacy_officer_places_an_audited_hold(self, client, session, officer, member):
        response = await place(client, member)

        assert response.status_code == 201, response.text
        body = response.json()
        assert (
            body["category"] == "contact" and body["reason"] == REASON and body["user_id"] == str(member.id)
        )
        assert body["created_by"] == str(officer.id) and body["released_at"] is None
        [record] = await audit_actions(session, "legal_hold.placed")
        assert (
            record.actor_id == officer.id and record.subject_id == str(member.id) and record.reason == REASON
        )
        assert await holds.held_categories(session, member.id) == {CONTACT: REASON}
        [current] = await holds.current_holds(session, member.id)
        assert str(current.id) == body["id"] and current.created_at is not None

    async def test_an_admin_may_place_one(self, client, session, member):
        await sign_in_as(client, session, "admin@example.com", Role.ADMIN)

        assert (await place(client, member, category="billing")).status_code == 201

    async def test_the_same_category_twice_is_a_conflict(self, client, officer, member):
        assert (await place(client, member)).status_code == 201

        assert_problem(await place(client, member), 409, "legal-hold-exists")

    async def test_an_unknown_user_is_not_found(self, client, officer, member):
        response = await client.post(
            "/api/v1/admin/users/01a22cd8-d825-78f9-ace9-2bb8874d6426/legal-holds",
            json={"category": "contact", "reason": REASON},
        )

        assert_problem(response, 404, "user-not-found")

    @pytest.mark.parametrize(
        "body",
        [
            {"category": "contact"},
            {"category": "horoscope", "reason": REASON},
            {"category": "contact", "reason": "why"},
            {"category": "contact", "reason": "x" * 1001},
            {"category": "contact", "reason": REASON, "until": "forever"},
            {"category": ["contact"], "reason": REASON},
        ],
    )
    async def test_bad_input_is_a_validation_problem(self, client, officer, member, body):
        assert_problem(await client.post(holds_of(member), json=body), 422, "validation")

    async def test_malformed_json_and_ids_are_problems(self, client, officer, member):
        response = await client.post(
            holds_of(member), content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert_problem(response, 400, "malformed-json")
        bad_id = await client.post(
            "/api/v1/admin/users/42/legal-holds", json={"category": "contact", "reason": REASON}
        )
        assert_problem(bad_id, 422, "validation")

    async def test_an_oversized_body_is_refused(self, client, officer, member):
        response = await client.post(
            holds_of(member), json={"category": "contact", "reason": "x" * 2_000_000}
        )

        assert_problem(response, 413)


class TestAccess:
    @pytest.mark.parametrize("role", [Role.MEMBER, Role.SUPPORT])
    async def test_members_and_support_are_forbidden(self, client, session, member, role):
        await sign_in_as(client, session, "caller@example.com", role)

        assert_problem(await place(client, member), 403, "forbidden")
        assert_problem(await client.get(holds_of(member), params={"reason": LIST_REASON}), 403, "forbidden")
        assert_problem(
            await client.post(release_of(str(member.id)), json={"reason": REASON}), 403, "forbidden"
        )
        assert await audit_actions(session, "legal_hold.placed") == []

    async def test_a_person_cannot_hold_or_see_their_own_data_holds(self, client, session, member):
        await sign_in(client, member.email)

        assert_problem(await place(client, member), 403, "forbidden")
        assert_problem(await client.get(holds_of(member), params={"reason": LIST_REASON}), 403, "forbidden")

    async def test_signed_out_callers_are_refused(self, client, member):
        assert_problem(await place(client, member), 401, "not-authenticated")

    async def test_an_officer_without_a_second_factor_is_refused(self, client, session, member):
        await create_user(session, "no-mfa@example.com", role=Role.PRIVACY_OFFICER)
        await sign_in(client, "no-mfa@example.com")

        assert_problem(await place(client, member), 403)

    async def test_tokens_cannot_reach_staff_holds(self, client, make_client, session, officer, member):
        token = await create_token(client, "profile:read")
        other = make_client()

        assert_problem(
            await other.post(
                holds_of(member), json={"category": "contact", "reason": REASON}, headers=bearer(token)
            ),
            403,
        )


class TestList:
    async def test_lists_current_and_released_holds_newest_first_and_audits_the_read(
        self, client, session, officer, member
    ):
        first = (await place(client, member)).json()
        second = (await place(client, member, category="billing")).json()
        await client.post(release_of(first["id"]), json={"reason": "case settled out of court"})

        response = await client.get(holds_of(member), params={"reason": LIST_REASON, "limit": 1})

        assert response.status_code == 200, response.text
        page = response.json()
        assert [item["id"] for item in page["items"]] == [second["id"]] and page["next_cursor"]
        rest = await client.get(
            holds_of(member), params={"reason": LIST_REASON, "cursor": page["next_cursor"]}
        )
        [released] = rest.json()["items"]
        assert (
            released["id"] == first["id"]
            and released["released_at"]
            and released["released_by"] == str(officer.id)
        )
        records = await audit_actions(session, "legal_hold.listed")
        assert len(records) == 2 and {record.reason for record in records} == {LIST_REASON}

    async def test_the_read_needs_a_reason(self, client, officer, member):
        assert_problem(await client.get(holds_of(member)), 422, "validation")
        assert_problem(await client.get(holds_of(member), params={"reason": "x"}), 422, "validation")
        assert_problem(await client.get(holds_of(member), params={"reason": "     "}), 422, "validation")

    async def test_a_foreign_cursor_is_a_problem(self, client, officer, member):
        response = await client.get(
            holds_of(member), params={"reason": LIST_REASON, "cursor": "bm90LWEtY3Vyc29y"}
        )

        assert_problem(response, 400, "invalid-cursor")

    async def test_an_unknown_user_is_not_found(self, client, session, officer):
        response = await client.get(
            "/api/v1/admin/users/01a22cd8-d825-78f9-ace9-2bb8874d6426/legal-holds",
            params={"reason": LIST_REASON},
        )

        assert_problem(response, 404, "user-not-found")
        assert await audit_actions(session, "legal_hold.listed") == []


class TestRelease:
    async def test_release_is_audited_and_ends_the_hold(self, client, session, officer, member):
        hold = (await place(client, member)).json()

        response = await client.post(release_of(hold["id"]), json={"reason": "case settled out of court"})

        assert response.status_code == 200, response.text
        assert response.json()["released_at"] is not None
        [record] = await audit_actions(session, "legal_hold.released")
        assert record.reason == "case settled out of court" and record.subject_id == str(member.id)
        assert await holds.held_categories(session, member.id) == {}

    async def test_releasing_twice_is_a_conflict(self, client, officer, member):
        hold = (await place(client, member)).json()
        await client.post(release_of(hold["id"]), json={"reason": "case settled out of court"})

        assert_problem(
            await client.post(release_of(hold["id"]), json={"reason": "again, to be sure"}),
            409,
            "legal-hold-released",
        )

    async def test_an_unknown_hold_is_not_found(self, client, officer):
        response = await client.post(
            release_of("01a22cd8-d825-78f9-ace9-2bb8874d6426"), json={"reason": REASON}
        )

        assert_problem(response, 404, "legal-hold-not-found")

    @pytest.mark.parametrize("body", [{}, {"reason": "no"}, {"reason": REASON, "category": "contact"}])
    async def test_bad_input_is_a_validation_problem(self, client, officer, member, body):
        hold = (await place(client, member)).json()

        assert_problem(await client.post(release_of(hold["id"]), json=body), 422, "validation")

    async def test_a_released_category_can_be_held_again(self, client, officer, member):
        hold = (await place(client, member)).json()
        await client.post(release_of(hold["id"]), json={"reason": "case settled out of court"})

        assert (await place(client, member)).status_code == 201
