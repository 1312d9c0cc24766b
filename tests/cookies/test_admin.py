"""Staff inventory: /admin/cookies, material changes bump the revision, audited, staff only."""

import pytest
from sqlalchemy import select

from opmaestro.accounts.models import Role
from opmaestro.audit.models import AuditRecord
from tests.consent.helpers import create_token, sign_in_staff
from tests.cookies.helpers import BANNER
from tests.factories import create_user, sign_in

ADMIN = "/api/v1/admin/cookies"
NEW_COOKIE = {
    "category": "analytics",
    "name": "_pk_id.*",
    "pattern": True,
    "provider": "Matomo (self-hosted)",
    "description": "Tells visits apart for usage statistics.",
    "duration": "13 months",
    "party": "first",
}


@pytest.fixture
async def staff(session, client):
    await sign_in_staff(session, client, "officer@example.com", Role.PRIVACY_OFFICER)
    return client


async def revision(client) -> tuple[int, str]:
    response = await client.get(BANNER)
    return response.json()["revision"], response.headers["etag"]


async def add(staff, **changes):
    response = await staff.post(ADMIN, json=NEW_COOKIE | changes)
    assert response.status_code == 201, response.text
    return response.json()


class TestInventory:
    async def test_lists_categories_with_ids_and_the_revision(self, staff):
        response = await staff.get(ADMIN)
        assert response.status_code == 200
        body = response.json()
        assert body["revision"] == 1
        necessary = body["categories"][0]
        assert necessary["key"] == "necessary" and len(necessary["cookies"]) == 4
        assert {"id", "created_at", "updated_at", "name", "party"} <= set(necessary["cookies"][0])

    async def test_adding_a_cookie_is_material_and_audited(self, staff, session):
        before, etag = await revision(staff)
        created = await add(staff)
        assert created["name"] == "_pk_id.*" and created["pattern"] is True
        after, new_etag = await revision(staff)
        assert after == before + 1 and new_etag != etag
        banner = (await staff.get(BANNER)).json()
        analytics = next(c for c in banner["categories"] if c["key"] == "analytics")
        assert [cookie["name"] for cookie in analytics["cookies"]] == ["_pk_id.*"]
        actions = (
            await session.scalars(select(AuditRecord.action).where(AuditRecord.subject_id == created["id"]))
        ).all()
        assert actions == ["cookies.cookie_added"]

    async def test_a_duplicate_name_is_409(self, staff):
        await add(staff)
        response = await staff.post(ADMIN, json=NEW_COOKIE)
        assert response.status_code == 409
        assert response.json()["type"] == "urn:opmaestro:problem:cookie-exists"

    async def test_rewording_changes_the_etag_but_not_the_revision(self, staff):
        created = await add(staff)
        before, etag = await revision(staff)
        response = await staff.patch(f"{ADMIN}/{created['id']}", json={"description": "Counts visits."})
        assert response.status_code == 200 and response.json()["description"] == "Counts visits."
        after, new_etag = await revision(staff)
        assert after == before and new_etag != etag
        assert (await staff.get(BANNER, headers={"If-None-Match": etag})).status_code == 200

    async def test_rewording_marked_material_bumps_the_revision(self, staff):
        created = await add(staff)
        before, _ = await revision(staff)
        await staff.patch(f"{ADMIN}/{created['id']}", json={"duration": "6 months", "material": True})
        assert (await revision(staff))[0] == before + 1

    @pytest.mark.parametrize(
        "change",
        [{"category": "marketing"}, {"party": "third"}, {"provider": "Matomo Cloud"}, {"name": "_pk_ses.*"}],
    )
    async def test_moving_or_retyping_is_material(self, staff, session, change):
        created = await add(staff)
        before, _ = await revision(staff)
        response = await staff.patch(f"{ADMIN}/{created['id']}", json=change)
        assert response.status_code == 200
        assert (await revision(staff))[0] == before + 1
        audited = (
            await session.scalars(select(AuditRecord).where(AuditRecord.action == "cookies.cookie_changed"))
        ).one()
        assert audited.fields == [next(iter(change)).replace("category", "category")]

    async def test_an_unchanged_value_changes_nothing(self, staff):
        created = await add(staff)
        before, etag = await revision(staff)
        await staff.patch(f"{ADMIN}/{created['id']}", json={"party": "first"})
        assert await revision(staff) == (before, etag)

    async def test_renaming_onto_another_cookie_is_409(self, staff):
        created = await add(staff)
        response = await staff.patch(f"{ADMIN}/{created['id']}", json={"name": "opm_session"})
        assert response.status_code == 409

    async def test_removing_is_material(self, staff, session):
        created = await add(staff)
        before, _ = await revision(staff)
        assert (await staff.delete(f"{ADMIN}/{created['id']}")).status_code == 204
        assert (await revision(staff))[0] == before + 1
        assert (await staff.delete(f"{ADMIN}/{created['id']}")).status_code == 404
        actions = (
            await session.scalars(select(AuditRecord.action).where(AuditRecord.subject_id == created["id"]))
        ).all()
        assert sorted(actions) == ["cookies.cookie_added", "cookies.cookie_removed"]

    @pytest.mark.parametrize("method", ["patch", "delete"])
    async def test_an_unknown_cookie_is_404(self, staff, method):
        url = f"{ADMIN}/01a22d84-9648-76a7-9347-1cd830c603b2"
        response = await (
            staff.patch(url, json={"duration": "1 day"}) if method == "patch" else staff.delete(url)
        )
        assert response.status_code == 404
        assert response.json()["type"] == "urn:opmaestro:problem:cookie-not-found"


class TestValidation:
    @pytest.mark.parametrize(
        "changes",
        [
            {"name": "x" * 129},
            {"name": "has space"},
            {"name": ""},
            {"category": "advertising"},
            {"party": "second"},
            {"pattern": "yes"},
            {"provider": "p" * 201},
            {"description": "d" * 2001},
            {"duration": "nul\x00"},
            {"extra": 1},
        ],
    )
    async def test_invalid_cookies_are_422(self, staff, changes):
        response = await staff.post(ADMIN, json=NEW_COOKIE | changes)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"

    @pytest.mark.parametrize("body", [{}, {"name": None}, {"material": True, "party": None}, {"id": "x"}])
    async def test_invalid_changes_are_422(self, staff, body):
        created = await add(staff)
        response = await staff.patch(f"{ADMIN}/{created['id']}", json=body)
        assert response.status_code == 422

    async def test_a_malformed_id_is_422(self, staff):
        assert (await staff.patch(f"{ADMIN}/not-an-id", json={"duration": "1 day"})).status_code == 422


class TestAccess:
    async def test_anonymous_is_401(self, client):
        for response in (await client.get(ADMIN), await client.post(ADMIN, json=NEW_COOKIE)):
            assert response.status_code == 401
            assert response.headers["content-type"] == "application/problem+json"

    async def test_a_member_is_403(self, client, session):
        await create_user(session, "member@example.com")
        await sign_in(client, "member@example.com")
        assert (await client.get(ADMIN)).status_code == 403
        assert (await client.post(ADMIN, json=NEW_COOKIE)).status_code == 403

    async def test_support_staff_are_403(self, client, session):
        await sign_in_staff(session, client, "support@example.com", Role.SUPPORT)
        assert (await client.get(ADMIN)).status_code == 403

    async def test_an_admins_token_is_403(self, staff, make_client, session):
        await create_user(session, "tokenowner@example.com", role=Role.MEMBER)
        token = await create_token(staff, "profile:read")
        api = make_client()
        response = await api.get(ADMIN, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 403

    async def test_without_the_csrf_header_a_change_is_refused(self, staff):
        staff.headers.pop("X-CSRF-Token")
        response = await staff.post(ADMIN, json=NEW_COOKIE)
        assert response.status_code == 403
        assert response.json()["type"] == "urn:opmaestro:problem:csrf-failed"
