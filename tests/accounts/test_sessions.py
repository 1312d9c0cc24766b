"""Browser sessions: idle and absolute timeouts, listing and revoking them, password change."""

import base64
import json
import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.models import User, UserSession
from tests.factories import PASSWORD, create_user, sign_in

ME = "/api/v1/me"
SESSIONS = "/api/v1/me/sessions"
EMAIL = "member@example.com"
OTHER_EMAIL = "other@example.com"
NEW_PASSWORD = "a quite different passphrase 42"
PROBLEM_JSON = "application/problem+json"


def browser(make_client, user_agent: str) -> httpx.AsyncClient:
    client: httpx.AsyncClient = make_client()
    client.headers["User-Agent"] = user_agent
    return client


async def my_sessions(client: httpx.AsyncClient, **params: object) -> dict:
    response = await client.get(SESSIONS, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def current_session_id(client: httpx.AsyncClient) -> str:
    [current] = [item for item in (await my_sessions(client))["items"] if item["current"]]
    return str(current["id"])


def cursor_of(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.fixture
async def user(session: AsyncSession) -> User:
    return await create_user(session, EMAIL)


@pytest.fixture
async def other_user(session: AsyncSession) -> User:
    return await create_user(session, OTHER_EMAIL)


class TestTimeouts:
    async def test_idle_session_expires_after_30_minutes(self, client, clock, user):
        await sign_in(client, EMAIL)
        clock.advance(minutes=29)
        assert (await client.get(ME)).status_code == 200

        clock.advance(minutes=31)
        response = await client.get(ME)

        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM_JSON

    async def test_idle_session_without_any_activity_expires(self, client, clock, user):
        await sign_in(client, EMAIL)

        clock.advance(minutes=31)

        assert (await client.get(ME)).status_code == 401

    async def test_activity_within_the_window_keeps_the_session_alive(self, client, clock, user):
        await sign_in(client, EMAIL)

        for _ in range(4):
            clock.advance(minutes=20)
            assert (await client.get(ME)).status_code == 200

    async def test_unsafe_requests_also_count_as_activity(self, client, clock, user):
        await sign_in(client, EMAIL)
        clock.advance(minutes=20)
        assert (await client.patch(ME, json={"name": "Renamed"})).status_code == 200

        clock.advance(minutes=20)

        assert (await client.get(ME)).status_code == 200

    async def test_session_ends_after_12_hours_even_with_activity(self, client, clock, user):
        await sign_in(client, EMAIL)
        for _ in range(28):
            clock.advance(minutes=25)
            assert (await client.get(ME)).status_code == 200

        clock.advance(minutes=25)

        assert (await client.get(ME)).status_code == 401

    async def test_expired_sessions_are_not_listed(self, make_client, clock, user):
        idle = browser(make_client, "Idle Browser")
        await sign_in(idle, EMAIL)
        clock.advance(minutes=20)
        active = browser(make_client, "Active Browser")
        await sign_in(active, EMAIL)

        clock.advance(minutes=15)

        agents = [item["user_agent"] for item in (await my_sessions(active))["items"]]
        assert agents == ["Active Browser"]


class TestListSessions:
    async def test_lists_device_address_last_seen_and_which_is_current(self, make_client, clock, user):
        laptop = browser(make_client, "Laptop Firefox")
        await sign_in(laptop, EMAIL)
        clock.advance(minutes=5)
        phone = browser(make_client, "Phone Safari")
        await sign_in(phone, EMAIL)

        items = (await my_sessions(laptop))["items"]

        assert [(item["user_agent"], item["current"]) for item in items] == [
            ("Phone Safari", False),
            ("Laptop Firefox", True),
        ]
        assert all(item["ip_address"] == "127.0.0.1" for item in items)
        assert all(item["last_seen_at"] and item["expires_at"] and item["created_at"] for item in items)
        assert "token_hash" not in items[0]

    async def test_other_users_sessions_never_appear(self, make_client, user, other_user):
        mine = browser(make_client, "Mine")
        await sign_in(mine, EMAIL)
        theirs = browser(make_client, "Theirs")
        await sign_in(theirs, OTHER_EMAIL)

        mine_listed = (await my_sessions(mine))["items"]
        theirs_listed = (await my_sessions(theirs))["items"]

        assert [item["user_agent"] for item in mine_listed] == ["Mine"]
        assert [item["user_agent"] for item in theirs_listed] == ["Theirs"]

    async def test_revoked_sessions_are_not_listed(self, make_client, user):
        first = browser(make_client, "First")
        await sign_in(first, EMAIL)
        second = browser(make_client, "Second")
        await sign_in(second, EMAIL)
        assert (await second.post("/api/v1/auth/logout")).status_code == 204

        agents = [item["user_agent"] for item in (await my_sessions(first))["items"]]

        assert agents == ["First"]

    async def test_cursor_pagination_walks_every_session_once(self, make_client, clock, user):
        agents = ["Browser A", "Browser B", "Browser C"]
        clients = []
        for agent in agents:
            clients.append(browser(make_client, agent))
            await sign_in(clients[-1], EMAIL)
            clock.advance(minutes=1)

        seen = []
        page = await my_sessions(clients[0], limit=1)
        seen += page["items"]
        while page["next_cursor"]:
            assert len(page["items"]) == 1
            page = await my_sessions(clients[0], limit=1, cursor=page["next_cursor"])
            seen += page["items"]

        assert [item["user_agent"] for item in seen] == list(reversed(agents))
        assert len({item["id"] for item in seen}) == 3

    async def test_sessions_created_in_the_same_instant_are_all_paged(self, make_client, user):
        clients = [browser(make_client, f"Browser {n}") for n in range(3)]
        for client in clients:
            await sign_in(client, EMAIL)

        ids = []
        page = await my_sessions(clients[0], limit=2)
        ids += [item["id"] for item in page["items"]]
        if page["next_cursor"]:
            page = await my_sessions(clients[0], limit=2, cursor=page["next_cursor"])
            ids += [item["id"] for item in page["items"]]

        assert page["next_cursor"] is None
        assert sorted(ids) == sorted(set(ids)) and len(ids) == 3

    @pytest.mark.parametrize(
        "cursor",
        [
            pytest.param("not-a-cursor", id="not-base64-json"),
            pytest.param("%%%", id="not-base64"),
            pytest.param(cursor_of(5), id="a-number"),
            pytest.param(cursor_of(["2026-01-01T00:00:00+00:00"]), id="one-part"),
            pytest.param(cursor_of(["yesterday", str(uuid.uuid4())]), id="bad-date"),
            pytest.param(cursor_of(["2026-01-01T00:00:00+00:00", "not-a-uuid"]), id="bad-id-string"),
            pytest.param(cursor_of(["2026-01-01T00:00:00+00:00", 5]), id="id-is-a-number"),
            pytest.param(cursor_of([["2026"], str(uuid.uuid4())]), id="date-is-a-list"),
        ],
    )
    async def test_garbage_cursor_is_a_400_problem(self, client, user, cursor):
        await sign_in(client, EMAIL)

        response = await client.get(SESSIONS, params={"cursor": cursor})

        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["type"].endswith("invalid-cursor")

    async def test_anonymous_caller_is_401(self, client):
        response = await client.get(SESSIONS)

        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM_JSON


class TestRevokeSession:
    async def test_revoking_my_other_session_signs_that_browser_out(self, make_client, session, user):
        laptop = browser(make_client, "Laptop")
        await sign_in(laptop, EMAIL)
        phone = browser(make_client, "Phone")
        await sign_in(phone, EMAIL)
        phone_id = await current_session_id(phone)

        response = await laptop.delete(f"{SESSIONS}/{phone_id}")

        assert response.status_code == 204
        assert (await phone.get(ME)).status_code == 401
        assert (await laptop.get(ME)).status_code == 200
        row = await session.get(UserSession, uuid.UUID(phone_id), populate_existing=True)
        assert row is not None and row.revoked_at is not None

    async def test_revoking_the_current_session_signs_this_browser_out(self, client, user):
        await sign_in(client, EMAIL)
        current = await current_session_id(client)

        assert (await client.delete(f"{SESSIONS}/{current}")).status_code == 204

        assert (await client.get(ME)).status_code == 401

    async def test_revoking_twice_is_404(self, make_client, user):
        laptop = browser(make_client, "Laptop")
        await sign_in(laptop, EMAIL)
        phone = browser(make_client, "Phone")
        await sign_in(phone, EMAIL)
        phone_id = await current_session_id(phone)
        assert (await laptop.delete(f"{SESSIONS}/{phone_id}")).status_code == 204

        response = await laptop.delete(f"{SESSIONS}/{phone_id}")

        assert response.status_code == 404

    async def test_another_users_session_is_not_found_and_stays_alive(self, make_client, user, other_user):
        mine = browser(make_client, "Mine")
        await sign_in(mine, EMAIL)
        theirs = browser(make_client, "Theirs")
        await sign_in(theirs, OTHER_EMAIL)
        their_id = await current_session_id(theirs)

        response = await mine.delete(f"{SESSIONS}/{their_id}")

        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["type"].endswith("session-not-found")
        assert (await theirs.get(ME)).status_code == 200

    async def test_unknown_session_id_is_404(self, client, user):
        await sign_in(client, EMAIL)

        response = await client.delete(f"{SESSIONS}/{uuid.uuid4()}")

        assert response.status_code == 404

    async def test_malformed_id_is_422(self, client, user):
        await sign_in(client, EMAIL)

        response = await client.delete(f"{SESSIONS}/not-a-uuid")

        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM_JSON

    async def test_revoking_needs_the_csrf_header(self, make_client, user):
        laptop = browser(make_client, "Laptop")
        await sign_in(laptop, EMAIL)
        phone = browser(make_client, "Phone")
        await sign_in(phone, EMAIL)
        phone_id = await current_session_id(phone)
        del laptop.headers["X-CSRF-Token"]

        assert (await laptop.delete(f"{SESSIONS}/{phone_id}")).status_code == 403
        assert (await phone.get(ME)).status_code == 200

    async def test_anonymous_caller_is_401(self, client):
        response = await client.delete(f"{SESSIONS}/{uuid.uuid4()}")

        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM_JSON


class TestPasswordChange:
    async def test_changing_the_password_signs_out_every_other_session(self, make_client, session, user):
        laptop = browser(make_client, "Laptop")
        await sign_in(laptop, EMAIL)
        phone = browser(make_client, "Phone")
        await sign_in(phone, EMAIL)
        old_laptop_token = laptop.cookies["opm_session"]

        response = await laptop.post(
            f"{ME}/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        )

        assert response.status_code == 200, response.text
        assert (await phone.get(ME)).status_code == 401
        assert laptop.cookies["opm_session"] != old_laptop_token
        laptop.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        assert (await laptop.get(ME)).status_code == 200
        assert (await laptop.patch(ME, json={"name": "Renamed"})).status_code == 200
        live = [row for row in await self.rows(session, user) if row.revoked_at is None]
        assert len(live) == 1

    async def test_wrong_current_password_changes_nothing(self, make_client, user):
        laptop = browser(make_client, "Laptop")
        await sign_in(laptop, EMAIL)
        phone = browser(make_client, "Phone")
        await sign_in(phone, EMAIL)

        response = await laptop.post(
            f"{ME}/password",
            json={"current_password": "not the right password", "new_password": NEW_PASSWORD},
        )

        assert response.status_code == 403
        assert (await phone.get(ME)).status_code == 200
        assert (await laptop.get(ME)).status_code == 200

    async def test_the_new_password_signs_in_and_the_old_one_does_not(self, client, make_client, user):
        await sign_in(client, EMAIL)
        await client.post(f"{ME}/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
        fresh = make_client()

        old = await fresh.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        new = await fresh.post("/api/v1/auth/login", json={"email": EMAIL, "password": NEW_PASSWORD})

        assert old.status_code == 401
        assert new.status_code == 200

    @staticmethod
    async def rows(session: AsyncSession, user: User) -> list[UserSession]:
        query = select(UserSession).where(UserSession.user_id == user.id)
        return list((await session.scalars(query.execution_options(populate_existing=True))).all())
