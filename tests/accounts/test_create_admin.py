"""`opmaestro create-admin` on an address that already has an account: an unverified one is
refused unless forced, and a promoted one starts afresh (no session, token, pending link or
two-factor secret from before)."""

import asyncio
import os
import sys
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

from opmaestro.accounts import bootstrap
from opmaestro.accounts.models import AccountToken, PersonalAccessToken, RecoveryCode, Role, User
from opmaestro.audit.models import AuditRecord
from opmaestro.core import migrations
from opmaestro.core.db import create_engine, create_sessionmaker
from opmaestro.core.security import hash_token
from tests.factories import PASSWORD, create_user, sign_in
from tests.problems import assert_problem

EMAIL = "root@example.com"
ADMIN_PASSWORD = "operator chosen passphrase 2026"
REASON = "promoted to administrator from the command line"


async def promote(session, settings, *, force: bool = False) -> User:
    return await bootstrap.create_admin(
        session,
        email=EMAIL.upper(),
        name="Root Admin",
        password=ADMIN_PASSWORD,
        country="US",
        settings=settings,
        force=force,
    )


async def reload(session, user: User) -> User:
    return await session.get(User, user.id, populate_existing=True)


class TestPromotingAnUnverifiedAccount:
    async def test_is_refused_and_the_account_is_left_as_it_was(self, client, session, settings):
        squatter = await create_user(session, EMAIL, verified=False)
        await sign_in(client, EMAIL)

        with pytest.raises(bootstrap.UnverifiedAccount, match="--force"):
            await promote(session, settings)

        stored = await reload(session, squatter)
        assert (stored.role, stored.email_verified_at) == (Role.MEMBER, None)
        assert (await client.get("/api/v1/me")).json()["role"] == "member"

    async def test_with_force_is_promoted_verified_and_the_registrants_session_ends(
        self, client, session, settings
    ):
        squatter = await create_user(session, EMAIL, verified=False)
        await sign_in(client, EMAIL)

        await promote(session, settings, force=True)

        stored = await reload(session, squatter)
        assert stored.role == Role.ADMIN and stored.email_verified_at is not None
        assert_problem(await client.get("/api/v1/me"), 401, "not-authenticated")
        [record] = (
            await session.scalars(select(AuditRecord).where(AuditRecord.action == "admin.bootstrapped"))
        ).all()
        assert record.fields == sorted(["email_verified_at", "mfa", "password", "role", "status"])


class TestPromotingAVerifiedAccount:
    async def test_its_sessions_tokens_links_and_two_factor_are_all_reset(
        self, client, make_client, session, settings
    ):
        secret = pyotp.random_base32()
        member = await create_user(session, EMAIL, mfa_secret=secret, mfa_last_step=1)
        session.add(RecoveryCode(user_id=member.id, code_hash=hash_token("aaaa1111-bbbb2222")))
        await session.commit()
        await sign_in(client, EMAIL, otp_secret=secret)
        created = await client.post("/api/v1/me/tokens", json={"name": "Mine", "scopes": ["profile:read"]})
        assert created.status_code == 201, created.text
        api = make_client()
        api.headers["Authorization"] = f"Bearer {created.json()['token']}"
        assert (
            await client.post(
                "/api/v1/me/email", json={"new_email": "me@elsewhere.example", "password": PASSWORD}
            )
        ).status_code == 202

        await promote(session, settings)

        stored = await reload(session, member)
        assert stored.role == Role.ADMIN
        assert (stored.mfa_secret, stored.mfa_enabled_at, stored.mfa_last_step) == (None, None, None)
        assert (
            await session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == member.id))
        ).all() == []
        assert_problem(await client.get("/api/v1/me"), 401, "not-authenticated")
        assert_problem(await api.get("/api/v1/me"), 401, "not-authenticated")
        pending = await session.scalars(
            select(AccountToken).where(AccountToken.user_id == member.id, AccountToken.used_at.is_(None))
        )
        assert pending.all() == []
        [token] = (
            await session.scalars(select(PersonalAccessToken).execution_options(populate_existing=True))
        ).all()
        assert token.revoked_at is not None
        revoked = await session.scalars(select(AuditRecord.action).where(AuditRecord.reason == REASON))
        assert sorted(revoked.all()) == ["account_token.cancelled", "session.revoked", "token.revoked"]

    async def test_the_operator_signs_in_with_the_new_password_and_must_enrol_two_factor(
        self, client, session, settings
    ):
        await create_user(session, EMAIL, mfa_secret=pyotp.random_base32())

        await promote(session, settings)

        signed_in = await client.post("/api/v1/auth/login", json={"email": EMAIL, "password": ADMIN_PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        client.headers["X-CSRF-Token"] = signed_in.json()["csrf_token"]
        assert_problem(
            await client.get("/api/v1/admin/users?reason=checking%20a%20ticket"),
            403,
            "mfa-enrollment-required",
        )


@pytest.fixture
async def cli_database(tmp_dir: Path) -> tuple[str, dict[str, str]]:
    url = f"sqlite+aiosqlite:///{tmp_dir / 'cli.db'}"
    await asyncio.to_thread(migrations.upgrade, url)
    return url, os.environ | {"OPMAESTRO_DATABASE_URL": url, "OPMAESTRO_ADMIN_PASSWORD": ADMIN_PASSWORD}


async def run_create_admin(env: dict[str, str], *extra: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "opmaestro.cli",
        "create-admin",
        "--email",
        EMAIL,
        *extra,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_command_refuses_an_unverified_account_unless_forced(settings, cli_database):
    url, env = cli_database
    engine = create_engine(settings.model_copy(update={"database_url": url}))
    try:
        async with create_sessionmaker(engine)() as session:
            await create_user(session, EMAIL, verified=False)

        code, out, err = await run_create_admin(env)

        assert code == 2, out
        assert err.startswith("refused:") and "--force" in err and "never verified" in err
        async with create_sessionmaker(engine)() as session:
            assert await session.scalar(select(User.role)) == Role.MEMBER

        code, out, err = await run_create_admin(env, "--force")

        assert code == 0, err
        async with create_sessionmaker(engine)() as session:
            assert await session.scalar(select(User.role)) == Role.ADMIN
    finally:
        await engine.dispose()


async def test_the_demo_administrator_can_sign_in_with_the_printed_password(client, session, settings):
    password = await bootstrap.ensure_demo_admin(session, settings)
    assert password is not None

    response = await client.post(
        "/api/v1/auth/login", json={"email": bootstrap.DEMO_ADMIN_EMAIL, "password": password}
    )

    assert response.status_code == 200, response.text
    assert response.json()["user"]["role"] == "admin"
