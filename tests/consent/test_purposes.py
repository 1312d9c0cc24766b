"""Purposes: public catalogue, staff edits, versions and material changes that ask for renewal."""

import pytest
from sqlalchemy import select

from opmaestro.accounts.models import Role
from opmaestro.audit.models import AuditRecord
from opmaestro.consent import ledger as consent
from tests.consent.helpers import SEEDED, bearer, consents_by_key, create_token, put_consent, sign_in_staff
from tests.factories import create_user, sign_in
from tests.problems import assert_problem

NEW_PURPOSE = {
    "key": "partner_offers",
    "name": "Partner offers",
    "description": "Offers from companies we work with, sent by us.",
    "legal_basis": "consent",
}


@pytest.fixture
async def admin(session, client):
    return await sign_in_staff(session, client, "root@example.com")


@pytest.fixture
async def member(session, make_client):
    user = await create_user(session, "ann@example.com", name="Ann Lee")
    browser = make_client()
    await sign_in(browser, user.email)
    return user, browser


class TestPublicPurposes:
    async def test_seeded_purposes_are_listed_without_signing_in(self, client):
        response = await client.get("/api/v1/consent/purposes")
        assert response.status_code == 200, response.text
        purposes = response.json()
        assert [p["key"] for p in purposes] == SEEDED
        marketing = next(p for p in purposes if p["key"] == "marketing_email")
        assert marketing["legal_basis"] == "consent" and marketing["optional"] is True
        assert marketing["version"] == 1 and marketing["name"] and marketing["description"]
        assert "renewal_version" not in marketing


class TestAdminPurposes:
    async def test_admin_lists_with_versions(self, client, admin):
        response = await client.get("/api/v1/admin/purposes")
        assert response.status_code == 200, response.text
        assert [p["key"] for p in response.json()] == SEEDED
        assert all(p["renewal_version"] == 1 for p in response.json())

    async def test_privacy_officer_creates_a_purpose_and_it_is_audited(self, session, client):
        officer = await sign_in_staff(session, client, "dpo@example.com", Role.PRIVACY_OFFICER)
        response = await client.post("/api/v1/admin/purposes", json=NEW_PURPOSE)
        assert response.status_code == 201, response.text
        assert response.json()["version"] == 1 and response.json()["optional"] is True
        listed = (await client.get("/api/v1/consent/purposes")).json()
        assert "partner_offers" in [p["key"] for p in listed]
        [entry] = (
            await session.scalars(select(AuditRecord).where(AuditRecord.action == "consent.purpose_created"))
        ).all()
        assert entry.actor_id == officer.id and entry.subject_id == "partner_offers"

    async def test_duplicate_key_is_409(self, client, admin):
        body = NEW_PURPOSE | {"key": "analytics"}
        assert_problem(await client.post("/api/v1/admin/purposes", json=body), 409, "purpose-exists")

    @pytest.mark.parametrize(
        "body",
        [
            NEW_PURPOSE | {"key": "Bad Key"},
            NEW_PURPOSE | {"legal_basis": "because"},
            NEW_PURPOSE | {"optional": "yes"},
            NEW_PURPOSE | {"surprise": 1},
            {"key": "partner_offers"},
        ],
    )
    async def test_invalid_body_is_422(self, client, admin, body):
        assert_problem(await client.post("/api/v1/admin/purposes", json=body), 422, "validation")

    async def test_malformed_json_is_400(self, client, admin):
        response = await client.post(
            "/api/v1/admin/purposes", content=b'{"key": ', headers={"content-type": "application/json"}
        )
        assert_problem(response, 400, "malformed-json")

    async def test_new_wording_is_a_new_version(self, session, client, admin):
        response = await client.patch(
            "/api/v1/admin/purposes/analytics", json={"description": "Counting clicks."}
        )
        assert response.status_code == 200, response.text
        assert (response.json()["version"], response.json()["renewal_version"]) == (2, 1)
        [entry] = (
            await session.scalars(select(AuditRecord).where(AuditRecord.action == "consent.purpose_updated"))
        ).all()
        assert entry.subject_id == "analytics" and entry.fields == ["description", "version"]

    async def test_legal_basis_change_alone_keeps_the_version(self, client, admin):
        response = await client.patch(
            "/api/v1/admin/purposes/product_updates", json={"legal_basis": "consent"}
        )
        assert response.status_code == 200, response.text
        assert (response.json()["legal_basis"], response.json()["version"]) == ("consent", 1)

    async def test_material_change_asks_those_who_consented_to_renew(self, session, client, admin, member):
        user, browser = member
        await put_consent(browser, "analytics", True)
        await put_consent(browser, "personalization", False)
        assert await consent.is_granted(session, user.id, "analytics")
        response = await client.patch(
            "/api/v1/admin/purposes/analytics", json={"description": "Now also heatmaps.", "material": True}
        )
        assert (response.json()["version"], response.json()["renewal_version"]) == (2, 2)
        mine = await consents_by_key(browser)
        assert mine["analytics"]["renewal_needed"] is True and mine["analytics"]["granted"] is True
        assert mine["personalization"]["renewal_needed"] is False
        assert not await consent.is_granted(session, user.id, "analytics")
        renewed = await put_consent(browser, "analytics", True)
        assert renewed["renewal_needed"] is False and renewed["version"] == 2
        assert await consent.is_granted(session, user.id, "analytics")

    async def test_non_material_change_keeps_consents_valid(self, session, client, admin, member):
        user, browser = member
        await put_consent(browser, "analytics", True)
        await client.patch("/api/v1/admin/purposes/analytics", json={"name": "Analytics"})
        assert (await consents_by_key(browser))["analytics"]["renewal_needed"] is False
        assert await consent.is_granted(session, user.id, "analytics")

    async def test_unknown_purpose_is_404(self, client, admin):
        response = await client.patch("/api/v1/admin/purposes/nothing", json={"name": "x"})
        assert_problem(response, 404, "purpose-not-found")

    @pytest.mark.parametrize("body", [{}, {"name": None}, {"version": 7}])
    async def test_bad_patch_is_422(self, client, admin, body):
        assert_problem(await client.patch("/api/v1/admin/purposes/analytics", json=body), 422, "validation")

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("GET", "/api/v1/admin/purposes", None),
            ("POST", "/api/v1/admin/purposes", NEW_PURPOSE),
            ("PATCH", "/api/v1/admin/purposes/analytics", {"name": "Mine now"}),
        ],
    )
    async def test_members_and_support_are_refused(self, session, client, member, method, path, body):
        _, browser = member
        assert_problem(await browser.request(method, path, json=body), 403, "forbidden")
        support = await sign_in_staff(session, client, "help@example.com", Role.SUPPORT)
        assert support.role == Role.SUPPORT
        assert_problem(await client.request(method, path, json=body), 403, "forbidden")

    async def test_tokens_cannot_manage_purposes(self, client, admin, make_client):
        token = await create_token(client, "consent:read", "consent:write")
        response = await make_client().get("/api/v1/admin/purposes", headers=bearer(token))
        assert_problem(response, 403, "forbidden")

    async def test_anonymous_is_401(self, client):
        assert_problem(await client.get("/api/v1/admin/purposes"), 401, "not-authenticated")
