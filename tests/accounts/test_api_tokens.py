"""Personal access tokens: created from a browser, shown once, stored hashed, scoped, expiring."""

import base64
import hashlib
import json
import uuid
from datetime import datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from opmaestro.accounts.models import PersonalAccessToken, Role
from opmaestro.audit.models import AuditRecord
from tests.factories import PASSWORD, create_user, sign_in
from tests.problems import assert_problem

SOME_ID = "0193a5f0-7c1e-7d3a-9b1f-2f6c0a1b2c3d"
MEMBER_SCOPES = ["consent:read", "consent:write", "profile:read", "profile:write"]


@pytest.fixture
async def member(session):
    return await create_user(session, "ann@example.com", name="Ann Lee")


@pytest.fixture
async def browser(client, member):
    await sign_in(client, member.email)
    return client


@pytest.fixture
def api(make_client):
    """A third-party program: no cookies, no CSRF header, only what it is given."""
    return make_client()


async def create_token(browser, scopes=("profile:read",), name="CRM sync", **extra) -> dict:
    response = await browser.post("/api/v1/me/tokens", json={"name": name, "scopes": list(scopes), **extra})
    assert response.status_code == 201, response.text
    return response.json()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def cursor_of(raw: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


async def listed_ids(browser) -> list[str]:
    response = await browser.get("/api/v1/me/tokens")
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


class TestScopes:
    async def test_the_fixed_list_is_public_and_described(self, client):
        response = await client.get("/api/v1/scopes")
        assert response.status_code == 200, response.text
        scopes = {item["name"]: item["description"] for item in response.json()}
        assert set(MEMBER_SCOPES) <= set(scopes)
        assert all(description for description in scopes.values())


class TestCreateToken:
    async def test_secret_is_returned_once_with_the_prefix(self, browser):
        created = await create_token(browser, scopes=["profile:write", "profile:read"])
        assert created["token"].startswith("opm_pat_")
        assert len(created["token"]) > len("opm_pat_") + 30
        assert created["hint"] == created["token"][-4:]
        assert created["name"] == "CRM sync"
        assert created["scopes"] == ["profile:read", "profile:write"]
        assert created["last_used_at"] is None

    async def test_each_token_has_its_own_secret(self, browser):
        first, second = await create_token(browser), await create_token(browser)
        assert first["token"] != second["token"] and first["id"] != second["id"]

    async def test_only_a_hash_of_the_secret_is_stored(self, session, browser):
        created = await create_token(browser)
        secret = created["token"]
        row = await session.get(PersonalAccessToken, uuid.UUID(created["id"]))
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        stored = " ".join(str(getattr(row, column.key)) for column in PersonalAccessToken.__table__.columns)
        assert secret not in stored
        assert secret[len("opm_pat_") :] not in stored

    async def test_creation_is_audited_without_the_secret(self, session, browser, member):
        created = await create_token(browser)
        [entry] = (
            await session.scalars(select(AuditRecord).where(AuditRecord.action == "token.created"))
        ).all()
        assert entry.actor_id == member.id
        assert (entry.subject_type, entry.subject_id) == ("personal_access_token", created["id"])
        assert created["token"] not in str(entry.fields) + str(entry.reason)

    @pytest.mark.parametrize(("extra", "days"), [({}, 90), ({"expires_in_days": 7}, 7)])
    async def test_expiry_is_chosen_in_days_and_defaults_to_90(self, browser, clock, extra, days):
        before = clock.now()
        created = await create_token(browser, **extra)
        after = clock.now()
        expires_at = datetime.fromisoformat(created["expires_at"])
        assert before + timedelta(days=days) <= expires_at <= after + timedelta(days=days)

    @pytest.mark.parametrize("days", [0, -1, 366, "30", 1.5, None])
    async def test_expiry_outside_one_day_to_a_year_is_refused(self, session, browser, days):
        response = await browser.post(
            "/api/v1/me/tokens", json={"name": "CRM", "scopes": ["profile:read"], "expires_in_days": days}
        )
        body = assert_problem(response, 422, "validation")
        assert {error["field"] for error in body["errors"]} == {"expires_in_days"}
        assert (await session.scalars(select(PersonalAccessToken))).all() == []

    @pytest.mark.parametrize(
        "scopes", [["profile:delete"], ["profile:read", "everything"], [], "profile:read"]
    )
    async def test_unknown_or_missing_scopes_are_refused(self, session, browser, scopes):
        response = await browser.post("/api/v1/me/tokens", json={"name": "CRM", "scopes": scopes})
        body = assert_problem(response, 422, "validation")
        assert {error["field"] for error in body["errors"]} == {"scopes"}
        assert (await session.scalars(select(PersonalAccessToken))).all() == []

    @pytest.mark.parametrize("name", ["", "x" * 101])
    async def test_name_is_required_and_bounded(self, browser, name):
        response = await browser.post("/api/v1/me/tokens", json={"name": name, "scopes": ["profile:read"]})
        assert_problem(response, 422, "validation")

    async def test_unknown_field_is_refused(self, browser):
        response = await browser.post(
            "/api/v1/me/tokens",
            json={"name": "CRM", "scopes": ["profile:read"], "user_id": str(uuid.uuid4())},
        )
        assert_problem(response, 422, "validation")

    @pytest.mark.parametrize("staff_scope", ["admin:users:read", "admin:users:write"])
    async def test_members_cannot_grant_staff_scopes(self, session, browser, staff_scope):
        response = await browser.post(
            "/api/v1/me/tokens", json={"name": "CRM", "scopes": ["profile:read", staff_scope]}
        )
        assert_problem(response, 403, "scope-not-allowed")
        assert (await session.scalars(select(PersonalAccessToken))).all() == []

    async def test_staff_can_grant_staff_scopes(self, session, client):
        secret = pyotp.random_base32()
        admin = await create_user(session, "root@example.com", role=Role.ADMIN, mfa_secret=secret)
        await sign_in(client, admin.email, PASSWORD, otp_secret=secret)
        created = await create_token(client, scopes=["admin:users:read"])
        assert created["scopes"] == ["admin:users:read"]

    async def test_unverified_user_cannot_create_tokens(self, session, client):
        user = await create_user(session, "new@example.com", verified=False)
        await sign_in(client, user.email)
        response = await client.post("/api/v1/me/tokens", json={"name": "CRM", "scopes": ["profile:read"]})
        assert_problem(response, 403, "email-not-verified")
        assert (await session.scalars(select(PersonalAccessToken))).all() == []

    async def test_needs_the_csrf_header(self, session, browser):
        del browser.headers["X-CSRF-Token"]
        response = await browser.post("/api/v1/me/tokens", json={"name": "CRM", "scopes": ["profile:read"]})
        assert_problem(response, 403, "csrf-failed")
        assert (await session.scalars(select(PersonalAccessToken))).all() == []

    async def test_anonymous_caller_gets_401(self, client):
        response = await client.post("/api/v1/me/tokens", json={"name": "CRM", "scopes": ["profile:read"]})
        assert_problem(response, 401, "not-authenticated")

    async def test_a_sign_in_twelve_minutes_ago_is_not_enough(self, session, browser, clock):
        """A token outlives the session: a browser left signed in must not be able to plant one."""
        clock.advance(minutes=12)

        response = await browser.post("/api/v1/me/tokens", json={"name": "CRM", "scopes": ["profile:write"]})

        body = assert_problem(response, 403, "reauthentication-required")
        assert body["reauthenticate"] == "/api/v1/me/reauthenticate"
        assert (await session.scalars(select(PersonalAccessToken))).all() == []

    async def test_entering_the_password_again_allows_it(self, browser, clock):
        clock.advance(minutes=12)
        again = await browser.post("/api/v1/me/reauthenticate", json={"password": PASSWORD})
        assert again.status_code == 204, again.text

        created = await create_token(browser, scopes=["profile:write"])

        assert created["scopes"] == ["profile:write"]


class TestListTokens:
    async def test_never_shows_the_secret(self, browser):
        created = await create_token(browser)
        response = await browser.get("/api/v1/me/tokens")
        assert response.status_code == 200, response.text
        [item] = response.json()["items"]
        assert "token" not in item and "token_hash" not in item
        assert created["token"] not in response.text
        assert item["id"] == created["id"] and item["hint"] == created["hint"]
        assert item["scopes"] == ["profile:read"]

    async def test_only_the_callers_tokens_are_listed(self, session, browser, make_client):
        mine = await create_token(browser)
        bob = await create_user(session, "bob@example.com")
        other = make_client()
        await sign_in(other, bob.email)
        theirs = await create_token(other)
        assert await listed_ids(browser) == [mine["id"]]
        assert await listed_ids(other) == [theirs["id"]]

    async def test_pages_newest_first_with_a_cursor(self, browser):
        made = [(await create_token(browser, name=f"token {n}"))["id"] for n in range(3)]
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
            response = await browser.get("/api/v1/me/tokens", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            assert len(page["items"]) == 1
            seen += [item["id"] for item in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert pages < 5
        assert seen == list(reversed(made))

    async def test_last_page_has_no_next_cursor(self, browser):
        await create_token(browser)
        page = (await browser.get("/api/v1/me/tokens", params={"limit": 1})).json()
        assert len(page["items"]) == 1 and page["next_cursor"] is None

    @pytest.mark.parametrize(
        "cursor",
        [
            pytest.param("garbage!", id="not-base64"),
            pytest.param("bm9wZQ", id="not-json"),
            pytest.param(cursor_of({"a": 1}), id="not-a-pair"),
            pytest.param(cursor_of([1, 2]), id="wrong-types"),
            pytest.param(cursor_of(["yesterday", SOME_ID]), id="bad-date"),
            pytest.param(cursor_of(["2026-01-01T00:00:00+00:00", "not-a-uuid"]), id="bad-id"),
            pytest.param(cursor_of(["2026-01-01T00:00:00", SOME_ID]), id="naive-date"),
            # Both leave the calendar once converted to UTC (a 500 before).
            pytest.param(cursor_of(["0001-01-01T00:00:00+14:00", SOME_ID]), id="before-year-1-in-utc"),
            pytest.param(cursor_of(["9999-12-31T23:59:59-14:00", SOME_ID]), id="after-9999-in-utc"),
        ],
    )
    async def test_garbage_cursor_is_400(self, browser, cursor):
        await create_token(browser)
        response = await browser.get("/api/v1/me/tokens", params={"cursor": cursor})
        assert_problem(response, 400, "invalid-cursor")

    @pytest.mark.parametrize("limit", [0, -1, 201, "many"])
    async def test_limit_out_of_range_is_422(self, browser, limit):
        assert_problem(await browser.get("/api/v1/me/tokens", params={"limit": limit}), 422, "validation")

    async def test_shows_when_a_token_was_last_used(self, browser, api):
        created = await create_token(browser)
        assert (await api.get("/api/v1/me", headers=bearer(created["token"]))).status_code == 200
        [item] = (await browser.get("/api/v1/me/tokens")).json()["items"]
        assert item["last_used_at"] is not None


class TestUsingToken:
    async def test_read_scope_reads_the_profile(self, browser, api, member):
        created = await create_token(browser, scopes=["profile:read"])
        response = await api.get("/api/v1/me", headers=bearer(created["token"]))
        assert response.status_code == 200, response.text
        assert response.json()["id"] == str(member.id)

    async def test_write_scope_changes_the_profile_without_csrf(self, session, browser, api, member):
        created = await create_token(browser, scopes=["profile:write"])
        response = await api.patch("/api/v1/me", json={"company": "Globex"}, headers=bearer(created["token"]))
        assert response.status_code == 200, response.text
        assert response.json()["company"] == "Globex"
        [entry] = (
            await session.scalars(select(AuditRecord).where(AuditRecord.action == "profile.updated"))
        ).all()
        assert entry.actor_id == member.id and entry.fields == ["company"]

    async def test_read_scope_cannot_write(self, session, browser, api, member):
        created = await create_token(browser, scopes=["profile:read", "consent:write"])
        response = await api.patch("/api/v1/me", json={"company": "Globex"}, headers=bearer(created["token"]))
        body = assert_problem(response, 403, "insufficient-scope")
        assert "profile:write" in body["detail"]
        await session.refresh(member)
        assert member.company is None

    async def test_write_scope_alone_cannot_read(self, browser, api):
        created = await create_token(browser, scopes=["profile:write"])
        response = await api.get("/api/v1/me", headers=bearer(created["token"]))
        assert_problem(response, 403, "insufficient-scope")

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("POST", "/api/v1/me/tokens", {"name": "more", "scopes": ["profile:read"]}),
            ("GET", "/api/v1/me/tokens", None),
            ("DELETE", "/api/v1/me/tokens/{own_id}", None),
            ("GET", "/api/v1/me/sessions", None),
            (
                "POST",
                "/api/v1/me/password",
                {"current_password": PASSWORD, "new_password": "violet kettle orbit"},
            ),
            ("POST", "/api/v1/me/email", {"new_email": "mallory@example.com", "password": PASSWORD}),
            ("DELETE", "/api/v1/me", {"password": PASSWORD}),
            ("POST", "/api/v1/auth/logout", None),
        ],
    )
    async def test_browser_only_actions_are_refused_whatever_the_scopes(
        self, session, browser, api, member, method, path, body
    ):
        created = await create_token(browser, scopes=MEMBER_SCOPES)
        url = path.format(own_id=created["id"])
        response = await api.request(method, url, json=body, headers=bearer(created["token"]))
        assert_problem(response, 403, "forbidden")
        await session.refresh(member)
        assert (member.status, member.email) == ("active", "ann@example.com")
        assert await listed_ids(browser) == [created["id"]]
        assert (await api.get("/api/v1/me", headers=bearer(created["token"]))).status_code == 200

    async def test_staff_routes_are_refused_for_members(self, browser, api):
        created = await create_token(browser, scopes=MEMBER_SCOPES)
        response = await api.get(
            "/api/v1/admin/users", params={"reason": "curious today"}, headers=bearer(created["token"])
        )
        assert_problem(response, 403)

    async def test_made_up_token_is_401(self, browser, api):
        await create_token(browser)
        response = await api.get("/api/v1/me", headers=bearer("opm_pat_" + "A" * 43))
        assert_problem(response, 401, "not-authenticated")
        assert "invalid_token" in response.headers["www-authenticate"]

    async def test_hash_of_a_token_is_not_a_token(self, session, browser, api):
        created = await create_token(browser)
        row = await session.get(PersonalAccessToken, uuid.UUID(created["id"]))
        assert_problem(await api.get("/api/v1/me", headers=bearer(row.token_hash)), 401)
        assert_problem(await api.get("/api/v1/me", headers=bearer("opm_pat_" + row.token_hash)), 401)

    @pytest.mark.parametrize("header", ["Basic {secret}", "{secret}", "Bearer", "Bearer   "])
    async def test_malformed_authorization_header_is_401(self, browser, api, header):
        created = await create_token(browser)
        response = await api.get(
            "/api/v1/me", headers={"Authorization": header.format(secret=created["token"])}
        )
        assert_problem(response, 401, "not-authenticated")

    async def test_expired_token_is_401_and_no_longer_listed(self, browser, api, member, clock):
        created = await create_token(browser, expires_in_days=1)
        assert (await api.get("/api/v1/me", headers=bearer(created["token"]))).status_code == 200
        clock.advance(days=1, seconds=1)
        response = await api.get("/api/v1/me", headers=bearer(created["token"]))
        assert_problem(response, 401, "not-authenticated")
        assert "invalid_token" in response.headers["www-authenticate"]
        await sign_in(browser, member.email)
        assert await listed_ids(browser) == []

    async def test_token_works_until_just_before_expiry(self, browser, api, clock):
        created = await create_token(browser, expires_in_days=1)
        clock.advance(hours=23, minutes=59)
        assert (await api.get("/api/v1/me", headers=bearer(created["token"]))).status_code == 200


class TestRevokeToken:
    async def test_revoked_token_is_401_and_no_longer_listed(self, session, browser, api):
        created = await create_token(browser)
        kept = await create_token(browser, name="kept")
        response = await browser.delete(f"/api/v1/me/tokens/{created['id']}")
        assert response.status_code == 204, response.text
        assert_problem(await api.get("/api/v1/me", headers=bearer(created["token"])), 401)
        assert (await api.get("/api/v1/me", headers=bearer(kept["token"]))).status_code == 200
        assert await listed_ids(browser) == [kept["id"]]
        [entry] = (
            await session.scalars(select(AuditRecord).where(AuditRecord.action == "token.revoked"))
        ).all()
        assert entry.subject_id == created["id"]

    async def test_revoking_twice_is_404(self, browser):
        created = await create_token(browser)
        assert (await browser.delete(f"/api/v1/me/tokens/{created['id']}")).status_code == 204
        assert_problem(await browser.delete(f"/api/v1/me/tokens/{created['id']}"), 404, "token-not-found")

    async def test_another_users_token_is_not_found_and_keeps_working(
        self, session, browser, api, make_client
    ):
        bob = await create_user(session, "bob@example.com")
        other = make_client()
        await sign_in(other, bob.email)
        theirs = await create_token(other)
        assert_problem(await browser.delete(f"/api/v1/me/tokens/{theirs['id']}"), 404, "token-not-found")
        response = await api.get("/api/v1/me", headers=bearer(theirs["token"]))
        assert response.status_code == 200 and response.json()["email"] == "bob@example.com"
        assert await listed_ids(other) == [theirs["id"]]

    async def test_unknown_id_is_404(self, browser):
        assert_problem(await browser.delete(f"/api/v1/me/tokens/{uuid.uuid4()}"), 404, "token-not-found")

    @pytest.mark.parametrize("token_id", ["not-a-uuid", "123", "opm_pat_x"])
    async def test_malformed_id_is_422(self, browser, token_id):
        assert_problem(await browser.delete(f"/api/v1/me/tokens/{token_id}"), 422, "validation")

    async def test_needs_the_csrf_header(self, browser, api):
        created = await create_token(browser)
        del browser.headers["X-CSRF-Token"]
        assert_problem(await browser.delete(f"/api/v1/me/tokens/{created['id']}"), 403, "csrf-failed")
        assert (await api.get("/api/v1/me", headers=bearer(created["token"]))).status_code == 200


class TestAccountLifecycle:
    async def test_reopening_a_closed_account_does_not_revive_its_tokens(self, browser, api, member):
        created = await create_token(browser)
        closed = await browser.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
        assert closed.status_code == 202, closed.text
        await sign_in(browser, member.email)
        assert (await browser.get("/api/v1/me")).json()["status"] == "active"
        assert_problem(await api.get("/api/v1/me", headers=bearer(created["token"])), 401)
        assert await listed_ids(browser) == []

    async def test_disabled_user_token_is_401(self, session, browser, api, member):
        created = await create_token(browser)
        await session.refresh(member)
        member.status = "disabled"
        await session.commit()
        assert_problem(await api.get("/api/v1/me", headers=bearer(created["token"])), 401)
