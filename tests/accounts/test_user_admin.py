"""Staff administration of users: search, role changes, disabling, and the first administrator."""

import asyncio
import base64
import json
import os
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from sqlalchemy import select

from opmaestro.accounts.models import Role, User, UserStatus
from opmaestro.audit.models import AuditRecord
from opmaestro.core import migrations
from tests.factories import PASSWORD, create_user, sign_in
from tests.problems import assert_problem as problem_of

USERS = "/api/v1/admin/users"
REASON = "ticket 4711: customer asked about their account"


async def search(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    return await client.get(USERS, params={"reason": REASON} | params)


def as_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def emails(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [user["email"] for user in response.json()["items"]]


async def staff_client(client: httpx.AsyncClient, session, email: str, role: Role) -> User:
    secret = pyotp.random_base32()
    user = await create_user(session, email, role=role, mfa_secret=secret)
    await sign_in(client, user.email, otp_secret=secret)
    return user


@pytest.fixture
async def admin(client, session) -> User:
    return await staff_client(client, session, "admin@example.com", Role.ADMIN)


class TestSearch:
    @pytest.fixture
    async def people(self, session) -> None:
        await create_user(session, "ann@acme.example", name="Ann Lee", company="Acme Corp")
        await create_user(session, "bob@other.example", name="Bob Stone", company="Globex")
        await create_user(session, "cy@other.example", name="Cy Young", role=Role.SUPPORT)

    @pytest.mark.parametrize(
        ("q", "found"),
        [
            ("acme.example", ["ann@acme.example"]),
            ("ANN@", ["ann@acme.example"]),
            ("stone", ["bob@other.example"]),
            ("globex", ["bob@other.example"]),
            ("other.example", ["cy@other.example", "bob@other.example"]),
            ("nobody-matches", []),
        ],
    )
    async def test_finds_users_by_email_name_or_company(self, client, admin, people, q, found):
        assert emails(await search(client, q=q)) == found

    async def test_filters_by_role_and_status(self, client, admin, people, session):
        await create_user(session, "gone@other.example", status=UserStatus.DISABLED)

        assert emails(await search(client, role="support")) == ["cy@other.example"]
        assert emails(await search(client, status="disabled")) == ["gone@other.example"]

    async def test_cursor_pagination_walks_every_match_once_newest_first(self, client, admin, session, clock):
        created = []
        for n in range(5):
            clock.advance(seconds=1)
            created.append((await create_user(session, f"page{n}@paged.example")).email)

        seen, cursor, pages = [], None, 0
        while True:
            params = {"q": "paged.example", "limit": 2} | ({"cursor": cursor} if cursor else {})
            response = await search(client, **params)
            seen += emails(response)
            pages += 1
            cursor = response.json()["next_cursor"]
            if cursor is None:
                break

        assert pages == 3
        assert seen == list(reversed(created))

    @pytest.mark.parametrize(
        "cursor",
        [
            pytest.param("garbage", id="not-base64-json"),
            pytest.param(as_cursor([]), id="empty-list"),
            pytest.param(as_cursor(["yesterday", "1"]), id="not-a-date"),
            pytest.param(as_cursor(["2026-01-01T00:00:00", str(uuid.UUID(int=0))]), id="naive-datetime"),
            pytest.param(as_cursor(["2026-01-01T00:00:00+00:00", 5]), id="number-as-id"),
        ],
    )
    async def test_a_cursor_the_api_did_not_hand_out_is_refused(self, client, admin, cursor):
        problem_of(await search(client, cursor=cursor), 400, "invalid-cursor")

    @pytest.mark.parametrize("limit", [0, 201, -1])
    async def test_a_limit_outside_one_to_two_hundred_is_invalid(self, client, admin, limit):
        problem_of(await search(client, limit=limit), 422, "validation")

    @pytest.mark.parametrize("reason", [None, "", "why", "     ", "  why  ", "Court\x00order", "x" * 501])
    async def test_a_reason_is_required(self, client, admin, session, reason):
        params = {} if reason is None else {"reason": reason}

        problem_of(await client.get(USERS, params=params), 422, "validation")
        searches = select(AuditRecord).where(AuditRecord.action == "admin.users.searched")
        assert (await session.scalars(searches)).all() == []

    async def test_every_search_is_audited_with_its_reason(self, client, admin, people, session):
        await search(client, q="acme", role="member")

        records = (
            await session.scalars(select(AuditRecord).where(AuditRecord.action == "admin.users.searched"))
        ).all()
        assert len(records) == 1
        record = records[0]
        assert (record.actor_id, record.actor_kind) == (admin.id, "staff")
        assert record.reason == REASON
        assert record.fields == ["query", "role"]
        assert "acme" not in str(record.fields)

    async def test_members_are_forbidden(self, client, session):
        member = await create_user(session)
        await sign_in(client, member.email)

        problem_of(await search(client), 403, "forbidden")

    @pytest.mark.parametrize("role", [Role.SUPPORT, Role.PRIVACY_OFFICER])
    async def test_support_and_privacy_officers_can_search_but_not_change(self, client, session, role):
        await staff_client(client, session, "staff@example.com", role)
        member = await create_user(session)

        assert member.email in emails(await search(client))
        response = await client.patch(f"{USERS}/{member.id}", json={"role": "admin", "reason": REASON})
        problem_of(response, 403, "forbidden")
        await session.refresh(member)
        assert member.role == Role.MEMBER


class TestUpdate:
    async def test_changing_a_role_is_saved_and_audited_by_field_name(self, client, admin, session):
        member = await create_user(session)

        response = await client.patch(f"{USERS}/{member.id}", json={"role": "support", "reason": REASON})

        assert response.status_code == 200, response.text
        assert response.json()["role"] == "support"
        await session.refresh(member)
        assert member.role == Role.SUPPORT
        record = await session.scalar(select(AuditRecord).where(AuditRecord.action == "admin.user_updated"))
        assert record is not None
        assert (record.subject_id, record.actor_id) == (str(member.id), admin.id)
        assert record.fields == ["role"] and record.reason == REASON

    async def test_disabling_ends_sessions_and_tokens_and_blocks_sign_in(
        self, client, admin, session, make_client
    ):
        member = await create_user(session)
        browser = make_client()
        await sign_in(browser, member.email)
        created = await browser.post("/api/v1/me/tokens", json={"name": "cli", "scopes": ["profile:read"]})
        token = created.json()["token"]

        response = await client.patch(f"{USERS}/{member.id}", json={"disabled": True, "reason": REASON})

        assert response.status_code == 200, response.text
        assert response.json()["status"] == "disabled"
        problem_of(await browser.get("/api/v1/me"), 401, "not-authenticated")
        bearer = {"Authorization": f"Bearer {token}"}
        problem_of(await make_client().get("/api/v1/me", headers=bearer), 401, "not-authenticated")
        login = await make_client().post(
            "/api/v1/auth/login", json={"email": member.email, "password": PASSWORD}
        )
        problem_of(login, 401, "invalid-credentials")
        record = await session.scalar(select(AuditRecord).where(AuditRecord.action == "admin.user_updated"))
        assert record is not None and record.fields == ["status"]

    async def test_re_enabling_lets_the_user_sign_in_again(self, client, admin, session, make_client):
        member = await create_user(session, status=UserStatus.DISABLED)

        response = await client.patch(f"{USERS}/{member.id}", json={"disabled": False, "reason": REASON})

        assert response.json()["status"] == "active"
        await sign_in(make_client(), member.email)

    async def test_a_change_that_changes_nothing_is_not_audited(self, client, admin, session):
        member = await create_user(session)

        response = await client.patch(f"{USERS}/{member.id}", json={"role": "member", "reason": REASON})

        assert response.status_code == 200, response.text
        assert (
            await session.scalar(select(AuditRecord).where(AuditRecord.action == "admin.user_updated"))
            is None
        )

    @pytest.mark.parametrize(
        "change", [{"role": "member"}, {"disabled": True}, {"role": "support", "disabled": True}]
    )
    async def test_the_last_active_admin_cannot_be_demoted_or_disabled(self, client, admin, session, change):
        await create_user(session, "old-admin@example.com", role=Role.ADMIN, status=UserStatus.DISABLED)

        response = await client.patch(f"{USERS}/{admin.id}", json=change | {"reason": REASON})

        problem_of(response, 409, "last-admin")
        await session.refresh(admin)
        assert (admin.role, admin.status) == (Role.ADMIN, UserStatus.ACTIVE)
        assert (await client.get("/api/v1/admin/oauth-clients")).status_code == 200

    async def test_an_admin_can_step_down_once_there_is_another(self, client, admin, session):
        await create_user(session, "second@example.com", role=Role.ADMIN, mfa_secret=pyotp.random_base32())

        response = await client.patch(f"{USERS}/{admin.id}", json={"role": "support", "reason": REASON})

        assert response.status_code == 200, response.text
        assert response.json()["role"] == "support"

    async def test_an_unknown_user_is_not_found(self, client, admin):
        response = await client.patch(f"{USERS}/{uuid.uuid4()}", json={"role": "support", "reason": REASON})

        problem_of(response, 404, "user-not-found")

    async def test_a_malformed_id_is_invalid(self, client, admin):
        response = await client.patch(f"{USERS}/not-a-uuid", json={"role": "support", "reason": REASON})

        problem_of(response, 422, "validation")

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({"role": "support", "reason": REASON, "email": "x@example.com"}, id="unknown-field"),
            pytest.param({"role": "superuser", "reason": REASON}, id="unknown-role"),
            pytest.param({"disabled": "yes", "reason": REASON}, id="non-boolean-disabled"),
            pytest.param({"role": "support"}, id="no-reason"),
            pytest.param({"role": "support", "reason": "       "}, id="blank-reason"),
            pytest.param({"reason": REASON}, id="nothing-to-change"),
        ],
    )
    async def test_invalid_changes_are_refused_and_nothing_changes(self, client, admin, session, body):
        member = await create_user(session)

        problem_of(await client.patch(f"{USERS}/{member.id}", json=body), 422, "validation")
        await session.refresh(member)
        assert (member.role, member.status) == (Role.MEMBER, UserStatus.ACTIVE)


@pytest.fixture
async def cli_database(tmp_dir: Path) -> tuple[Path, dict[str, str]]:
    """A migrated SQLite database of its own and the environment that points the CLI at it."""
    path = tmp_dir / "cli.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(migrations.upgrade, url)
    return path, os.environ | {"OPMAESTRO_DATABASE_URL": url}


async def create_admin(env: dict[str, str], email: str, password: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "opmaestro.cli",
        "create-admin",
        "--email",
        email,
        "--name",
        "Root Admin",
        env=env | {"OPMAESTRO_ADMIN_PASSWORD": password},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def rows(path: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(query).fetchall()


def password_matches(stored_hash: str, password: str) -> bool:
    try:
        return PasswordHasher().verify(stored_hash, password)
    except VerifyMismatchError:
        return False


class TestCreateAdminCommand:
    async def test_creates_a_verified_admin_and_never_prints_the_password(self, cli_database):
        path, env = cli_database
        password = "cli admin password 2026"

        code, out, err = await create_admin(env, "Root@Example.com", password)

        assert code == 0, err
        assert "root@example.com" in out and "two-factor" in out
        assert password not in out + err
        [(email, role, status, verified, mfa, stored_hash)] = rows(
            path,
            "SELECT email, role, status, email_verified_at, mfa_enabled_at, password_hash FROM user_account",
        )
        assert (email, role, status, mfa) == ("root@example.com", "admin", "active", None)
        assert verified is not None
        assert password_matches(stored_hash, password)
        assert rows(path, "SELECT action, actor_kind FROM audit_record") == [("admin.bootstrapped", "system")]

    async def test_running_it_again_for_the_same_address_resets_the_password_without_a_duplicate(
        self, cli_database
    ):
        path, env = cli_database
        await create_admin(env, "root@example.com", "first cli password 2026")

        code, _, err = await create_admin(env, "ROOT@example.com", "second cli password 2026")

        assert code == 0, err
        [(role, stored_hash)] = rows(path, "SELECT role, password_hash FROM user_account")
        assert role == "admin"
        assert password_matches(stored_hash, "second cli password 2026")
        assert not password_matches(stored_hash, "first cli password 2026")

    async def test_a_weak_password_is_refused_and_nothing_is_created(self, cli_database):
        path, env = cli_database

        code, out, err = await create_admin(env, "root@example.com", "password1234")

        assert code == 2
        assert err.startswith("refused:")
        assert "password1234" not in out + err
        assert rows(path, "SELECT count(*) FROM user_account") == [(0,)]
