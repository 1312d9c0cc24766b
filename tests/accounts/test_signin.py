"""Signing in and out: cookies, hashed session tokens, rate limits, CSRF, closed accounts."""

import hashlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opmaestro.accounts.models import SecurityEvent, User, UserSession, UserStatus
from opmaestro.core import jobs
from opmaestro.core.config import Settings, get_settings
from opmaestro.core.security import password_hasher
from opmaestro.main import create_app
from opmaestro.notifications.models import OutboxMessage
from tests.factories import PASSWORD, create_user, sign_in

LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/me"
EMAIL = "member@example.com"
PROBLEM_JSON = "application/problem+json"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """The Set-Cookie headers of a response, by cookie name."""
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def without_request_id(problem: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in problem.items() if key != "request_id"}


async def login(
    client: httpx.AsyncClient, email: str = EMAIL, password: str = PASSWORD, otp: str | None = None
) -> httpx.Response:
    body = {"email": email, "password": password} | ({"otp": otp} if otp else {})
    return await client.post(LOGIN, json=body)


async def session_rows(session: AsyncSession, user: User) -> list[UserSession]:
    result = await session.scalars(
        select(UserSession).where(UserSession.user_id == user.id).execution_options(populate_existing=True)
    )
    return list(result.all())


async def events(session: AsyncSession, kind: str) -> list[SecurityEvent]:
    return list((await session.scalars(select(SecurityEvent).where(SecurityEvent.kind == kind))).all())


@pytest.fixture
async def user(session: AsyncSession) -> User:
    return await create_user(session, EMAIL)


class TestLogin:
    async def test_success_sets_an_http_only_session_cookie_and_a_readable_csrf_cookie(self, client, user):
        response = await login(client)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["user"]["email"] == EMAIL
        cookies = set_cookies(response)
        session_cookie = cookies["opm_session"].lower()
        assert "httponly" in session_cookie
        assert "samesite=lax" in session_cookie
        assert "path=/" in session_cookie
        csrf_cookie = cookies["opm_csrf"].lower()
        assert "httponly" not in csrf_cookie
        assert client.cookies["opm_csrf"] == body["csrf_token"]
        assert len(client.cookies["opm_session"]) >= 32

    async def test_the_returned_csrf_token_lets_the_browser_make_unsafe_requests(self, client, user):
        csrf = (await login(client)).json()["csrf_token"]

        response = await client.patch(ME, json={"name": "Renamed"}, headers={"X-CSRF-Token": csrf})

        assert response.status_code == 200, response.text
        assert response.json()["name"] == "Renamed"

    async def test_the_session_token_is_stored_only_as_a_hash(self, client, session, user):
        await sign_in(client, EMAIL)
        token = client.cookies["opm_session"]

        [row] = await session_rows(session, user)

        assert row.token_hash == sha256(token)
        stored = [str(getattr(row, column.key)) for column in UserSession.__table__.columns]
        assert not any(token in value for value in stored)

    async def test_wrong_password_and_unknown_email_get_the_same_401_problem(self, client, user):
        wrong_password = await login(client, password="not the right password")
        unknown_email = await login(client, email="nobody@example.com")

        assert wrong_password.status_code == unknown_email.status_code == 401
        assert wrong_password.headers["content-type"] == PROBLEM_JSON
        assert without_request_id(wrong_password.json()) == without_request_id(unknown_email.json())
        assert "opm_session" not in client.cookies

    async def test_email_is_matched_regardless_of_case(self, client, user):
        response = await login(client, email="Member@Example.COM")

        assert response.status_code == 200, response.text

    async def test_success_records_a_security_event(self, client, session, user):
        await sign_in(client, EMAIL)

        [event] = await events(session, "login_succeeded")
        assert event.user_id == user.id
        assert event.ip_address == "127.0.0.1"

    async def test_disabled_user_is_refused_like_a_wrong_password(self, client, session):
        await create_user(session, EMAIL, status=UserStatus.DISABLED)

        disabled = await login(client)
        unknown = await login(client, email="nobody@example.com")

        assert disabled.status_code == 401
        assert without_request_id(disabled.json()) == without_request_id(unknown.json())
        assert "opm_session" not in client.cookies

    async def test_disabling_a_user_ends_their_existing_sessions(self, client, session, user):
        await sign_in(client, EMAIL)
        user.status = UserStatus.DISABLED
        await session.commit()

        assert (await client.get(ME)).status_code == 401

    async def test_password_hashed_with_old_parameters_is_rehashed_at_sign_in(self, client, session):
        other_cost = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
        old_hash = other_cost.hash(PASSWORD)
        user = await create_user(session, EMAIL, password_hash=old_hash)

        await sign_in(client, EMAIL)

        await session.refresh(user)
        assert user.password_hash != old_hash
        assert not password_hasher(get_settings()).check_needs_rehash(user.password_hash)
        assert PasswordHasher().verify(user.password_hash, PASSWORD)

    async def test_current_hash_is_left_alone(self, client, session, user):
        before = user.password_hash

        await sign_in(client, EMAIL)

        await session.refresh(user)
        assert user.password_hash == before

    async def test_signing_in_again_rotates_the_session(self, client, make_client, session, user):
        await sign_in(client, EMAIL)
        old_token = client.cookies["opm_session"]

        await sign_in(client, EMAIL)
        new_token = client.cookies["opm_session"]

        assert new_token != old_token
        rows = {row.token_hash: row for row in await session_rows(session, user)}
        assert rows[sha256(old_token)].revoked_at is not None
        assert rows[sha256(new_token)].revoked_at is None
        replay = make_client()
        replay.cookies.set("opm_session", old_token)
        assert (await replay.get(ME)).status_code == 401
        assert (await client.get(ME)).status_code == 200

    async def test_login_returns_when_the_session_expires(self, client, clock, user):
        body = (await login(client)).json()

        expires_at = datetime.fromisoformat(body["session_expires_at"])
        assert abs(expires_at - (clock.now() + timedelta(hours=12))) < timedelta(minutes=1)


class TestLoginSecurityEvents:
    """Failed attempts are recorded in their own transaction, so they need real commits."""

    @pytest.fixture
    async def committed_client(
        self, settings: Settings, committed_sessionmaker: async_sessionmaker[AsyncSession]
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings, sessionmaker=committed_sessionmaker, job_backend=jobs.ExternalWorker())
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client

    async def test_failed_sign_in_is_recorded_although_the_request_is_rolled_back(
        self, committed_client, committed_sessionmaker
    ):
        async with committed_sessionmaker() as own:
            user = await create_user(own, EMAIL)

        wrong = await login(committed_client, password="not the right password")
        unknown = await login(committed_client, email="nobody@example.com")

        assert wrong.status_code == unknown.status_code == 401
        async with committed_sessionmaker() as own:
            failed = await events(own, "login_failed")
        assert sorted((e.user_id is None, e.ip_address) for e in failed) == [
            (False, "127.0.0.1"),
            (True, "127.0.0.1"),
        ]
        assert [e.user_id for e in failed if e.user_id is not None] == [user.id]


class TestRateLimits:
    async def test_per_account_limit_answers_429_with_retry_after(self, limited_app, user):
        client = limited_app(login_attempts_per_account=3, login_attempts_per_ip=100)()
        for _ in range(3):
            assert (await login(client, password="not the right password")).status_code == 401

        refused = await login(client)

        assert refused.status_code == 429
        assert refused.headers["content-type"] == PROBLEM_JSON
        assert refused.json()["type"].endswith("too-many-attempts")
        assert int(refused.headers["Retry-After"]) >= 1
        assert "opm_session" not in client.cookies

    async def test_per_account_limit_ignores_email_case(self, limited_app, user):
        client = limited_app(login_attempts_per_account=2, login_attempts_per_ip=100)()
        await login(client, email="MEMBER@example.com", password="not the right password")
        await login(client, email="Member@Example.com", password="not the right password")

        assert (await login(client)).status_code == 429

    async def test_per_account_limit_does_not_lock_other_accounts(self, limited_app, session, user):
        await create_user(session, "other@example.com")
        client = limited_app(login_attempts_per_account=2, login_attempts_per_ip=100)()
        for _ in range(3):
            await login(client, password="not the right password")

        assert (await login(client, email="other@example.com")).status_code == 200

    async def test_per_ip_limit_answers_429_with_retry_after(self, limited_app, user):
        client = limited_app(login_attempts_per_account=100, login_attempts_per_ip=3)()
        for number in range(3):
            assert (await login(client, email=f"probe{number}@example.com")).status_code == 401

        refused = await login(client)

        assert refused.status_code == 429
        assert refused.headers["content-type"] == PROBLEM_JSON
        assert int(refused.headers["Retry-After"]) >= 1

    async def test_per_ip_limit_does_not_block_other_addresses(self, limited_app, user):
        browser_at = limited_app(login_attempts_per_account=100, login_attempts_per_ip=2)
        client = browser_at("198.51.100.7")
        for number in range(3):
            await login(client, email=f"probe{number}@example.com")

        assert (await login(browser_at("203.0.113.9"))).status_code == 200

    async def test_throttled_attempt_is_recorded(self, limited_app, session, user):
        client = limited_app(login_attempts_per_account=1, login_attempts_per_ip=100)()
        await login(client, password="not the right password")

        assert (await login(client)).status_code == 429
        assert len(await events(session, "login_throttled")) == 1

    async def test_account_limit_resets_after_the_window(self, limited_app, clocked_rate_limits, user):
        client = limited_app(login_attempts_per_account=2, login_attempts_per_ip=100)()
        for _ in range(2):
            await login(client, password="not the right password")
        assert (await login(client)).status_code == 429

        clocked_rate_limits.advance(minutes=15, seconds=1)

        assert (await login(client)).status_code == 200

    async def test_ip_limit_resets_after_the_window(self, limited_app, clocked_rate_limits, user):
        client = limited_app(login_attempts_per_account=100, login_attempts_per_ip=2)()
        for number in range(2):
            await login(client, email=f"probe{number}@example.com")
        assert (await login(client)).status_code == 429

        clocked_rate_limits.advance(minutes=15, seconds=1)

        assert (await login(client)).status_code == 200


class TestNoLockOut:
    """Someone without the password cannot keep the owner out: the account's limit counts
    failures per client IP, and only a much higher limit counts them across every IP."""

    ATTACKER, OWNER = "198.51.100.7", "203.0.113.9"

    async def test_the_owner_signs_in_with_a_code_while_an_attacker_is_refused(
        self, limited_app, settings, session
    ):
        secret = pyotp.random_base32()
        await create_user(session, EMAIL, mfa_secret=secret)
        browser_at = limited_app()
        attacker = browser_at(self.ATTACKER)
        answers = [(await login(attacker, password=f"guess {n}")).status_code for n in range(12)]
        assert answers == [401] * settings.login_attempts_per_account + [429, 429]

        owner = browser_at(self.OWNER)
        response = await owner.post(
            LOGIN, json={"email": EMAIL, "password": PASSWORD, "otp": pyotp.TOTP(secret).now()}
        )

        assert response.status_code == 200, response.text
        assert (await login(attacker)).status_code == 429

    async def test_successes_do_not_count_and_forget_the_failures_before(self, limited_app, user):
        client = limited_app(login_attempts_per_account=2)()
        for _ in range(3):
            assert (await login(client)).status_code == 200
        assert (await login(client, password="not the right password")).status_code == 401
        assert (await login(client)).status_code == 200

        answers = [(await login(client, password="not the right password")).status_code for _ in range(3)]

        assert answers == [401, 401, 429]
        assert (await login(client)).status_code == 429

    async def test_failures_from_many_ips_meet_the_account_wide_limit(self, limited_app, user):
        browser_at = limited_app(login_attempts_per_account=2, login_attempts_per_account_global=5)
        for number in range(3):
            attacker = browser_at(f"198.51.100.{number}")
            for _ in range(3):
                await login(attacker, password="not the right password")

        refused = await login(browser_at(self.OWNER))

        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1

    async def test_past_the_account_wide_limit_only_password_and_code_get_in(
        self, limited_app, settings, session
    ):
        secret = pyotp.random_base32()
        await create_user(session, EMAIL, mfa_secret=secret)
        browser_at = limited_app(login_attempts_per_account=2, login_attempts_per_account_global=5)
        for number in range(3):
            attacker = browser_at(f"198.51.100.{number}")
            for _ in range(3):
                await login(attacker, password="not the right password")
        wrong_code = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"

        # The same 429 whatever is wrong, so the answer tells a guesser nothing.
        assert (await login(browser_at("192.0.2.1"), password="another guess")).status_code == 429
        assert (await login(browser_at("192.0.2.2"))).status_code == 429
        assert (await login(browser_at("192.0.2.3"), otp=wrong_code)).status_code == 429
        response = await login(browser_at(self.OWNER), otp=pyotp.TOTP(secret).now())

        assert response.status_code == 200, response.text

    async def test_a_spraying_ip_is_refused_for_every_account(self, limited_app, session, user):
        await create_user(session, "other@example.com")
        browser_at = limited_app(login_attempts_per_ip=5)
        sprayer = browser_at(self.ATTACKER)
        for number in range(5):
            assert (await login(sprayer, email=f"user{number}@example.com")).status_code == 401

        refused = await login(sprayer, email="other@example.com")

        assert refused.status_code == 429
        assert refused.headers["content-type"] == PROBLEM_JSON
        assert int(refused.headers["Retry-After"]) >= 1
        assert (await login(browser_at(self.OWNER), email="other@example.com")).status_code == 200

    def test_the_account_wide_limit_is_ten_times_the_pair_limit_unless_set(self):
        assert Settings(login_attempts_per_account=7).login_attempts_per_account_global == 70
        assert Settings(login_attempts_per_account_global=30).login_attempts_per_account_global == 30


class TestLogout:
    async def test_logout_clears_the_cookies_and_ends_the_session(self, client, make_client, session, user):
        await sign_in(client, EMAIL)
        token = client.cookies["opm_session"]

        response = await client.post(LOGOUT)

        assert response.status_code == 204
        cleared = set_cookies(response)
        for name in ("opm_session", "opm_csrf"):
            assert "max-age=0" in cleared[name].lower()
            assert name not in client.cookies
        [row] = await session_rows(session, user)
        assert row.revoked_at is not None
        replay = make_client()
        replay.cookies.set("opm_session", token)
        assert (await replay.get(ME)).status_code == 401

    async def test_anonymous_logout_is_401(self, client):
        response = await client.post(LOGOUT)

        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM_JSON


class TestCsrf:
    async def test_unsafe_request_without_the_header_is_403(self, client, user):
        await sign_in(client, EMAIL)
        del client.headers["X-CSRF-Token"]

        response = await client.patch(ME, json={"name": "Renamed"})

        assert response.status_code == 403
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["type"].endswith("csrf-failed")
        client.headers["X-CSRF-Token"] = client.cookies["opm_csrf"]
        assert (await client.get(ME)).json()["name"] == "Test User"

    async def test_logout_without_the_header_is_403_and_the_session_survives(self, client, user):
        await sign_in(client, EMAIL)
        del client.headers["X-CSRF-Token"]

        assert (await client.post(LOGOUT)).status_code == 403
        assert (await client.get(ME)).status_code == 200

    async def test_wrong_token_is_403(self, client, user):
        await sign_in(client, EMAIL)

        response = await client.patch(ME, json={"name": "Renamed"}, headers={"X-CSRF-Token": "0" * 64})

        assert response.status_code == 403
        assert response.headers["content-type"] == PROBLEM_JSON

    async def test_token_from_another_users_session_is_403(self, client, make_client, session, user):
        await create_user(session, "other@example.com")
        other = make_client()
        other_csrf = await sign_in(other, "other@example.com")
        await sign_in(client, EMAIL)

        response = await client.patch(ME, json={"name": "Renamed"}, headers={"X-CSRF-Token": other_csrf})

        assert response.status_code == 403

    async def test_token_from_a_previous_session_of_the_same_user_is_403(self, client, user):
        old_csrf = await sign_in(client, EMAIL)
        await sign_in(client, EMAIL)

        response = await client.patch(ME, json={"name": "Renamed"}, headers={"X-CSRF-Token": old_csrf})

        assert response.status_code == 403

    async def test_safe_requests_need_no_token(self, client, user):
        await sign_in(client, EMAIL)
        del client.headers["X-CSRF-Token"]

        response = await client.get(ME)

        assert response.status_code == 200
        assert response.json()["email"] == EMAIL

    async def test_bearer_token_requests_need_no_csrf_header(self, client, make_client, user):
        await sign_in(client, EMAIL)
        created = await client.post(
            f"{ME}/tokens", json={"name": "CRM sync", "scopes": ["profile:read", "profile:write"]}
        )
        assert created.status_code == 201, created.text
        api = make_client()

        response = await api.patch(
            ME, json={"name": "From the API"}, headers={"Authorization": f"Bearer {created.json()['token']}"}
        )

        assert response.status_code == 200, response.text
        assert response.json()["name"] == "From the API"


class TestClosedAccount:
    async def close(self, client: httpx.AsyncClient) -> httpx.Response:
        response = await client.request("DELETE", ME, json={"password": PASSWORD})
        assert response.status_code == 202, response.text
        return response

    async def test_closing_signs_the_browser_out(self, client, user):
        await sign_in(client, EMAIL)

        await self.close(client)

        assert "opm_session" not in client.cookies
        assert (await client.get(ME)).status_code == 401

    async def test_signing_in_within_the_grace_period_reopens_the_account(self, client, clock, session, user):
        await sign_in(client, EMAIL)
        await self.close(client)
        clock.advance(days=29)

        response = await login(client)

        assert response.status_code == 200, response.text
        assert response.json()["user"]["status"] == "active"
        await session.refresh(user)
        assert user.status == UserStatus.ACTIVE
        assert user.deletion_due_at is None
        # The owner hears of it: whoever knew the password stopped the deletion.
        [mail] = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.template == "account_reopened"))
        ).all()
        assert mail.to_address == EMAIL and mail.subject == "Your OpMaestro account is open again"
        assert "it will not be deleted" in mail.text_body and "/security" in mail.text_body

    async def test_wrong_password_does_not_reopen_the_account(self, client, session, user):
        await sign_in(client, EMAIL)
        await self.close(client)

        response = await login(client, password="not the right password")

        assert response.status_code == 401
        await session.refresh(user)
        assert user.status == UserStatus.CLOSED

    async def test_signing_in_after_the_grace_period_is_refused(self, client, clock, session, user):
        await sign_in(client, EMAIL)
        await self.close(client)
        clock.advance(days=31)

        response = await login(client)

        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM_JSON
        assert "opm_session" not in client.cookies
        await session.refresh(user)
        assert user.status == UserStatus.CLOSED
