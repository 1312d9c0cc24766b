"""Re-authentication before a data request: the password, or a two-factor or recovery code,
counted against the same per-user limit as the other password checks."""

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from opmaestro.accounts.models import RecoveryCode, UserSession
from opmaestro.audit.models import AuditRecord
from opmaestro.core.clock import utcnow
from opmaestro.core.security import hash_token
from tests.factories import PASSWORD, create_user, sign_in
from tests.problems import assert_problem

URL = "/api/v1/me/reauthenticate"
WRONG = "not the right password"


async def stamp(session, user_id) -> object:
    statement = (
        select(UserSession.reauthenticated_at)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .execution_options(populate_existing=True)
    )
    return await session.scalar(statement)


@pytest.fixture
async def two_factor_member(session, make_client):
    secret = pyotp.random_base32()
    user = await create_user(session, "ann@example.com", mfa_secret=secret)
    session.add(RecoveryCode(user_id=user.id, code_hash=hash_token("abcd-efgh-ijkl")))
    await session.commit()
    browser = make_client()
    # The code itself, not the secret: a test that replays it must not see the next time step's.
    code = pyotp.TOTP(secret).now()
    await sign_in(browser, user.email, otp=code)
    return browser, user, secret, code


class TestSignInCounts:
    async def test_signing_in_stamps_the_session(self, member, session) -> None:
        _, user = member
        stamped = await stamp(session, user.id)
        assert stamped is not None and utcnow() - stamped < timedelta(minutes=1)


class TestPassword:
    async def test_the_right_password_stamps_the_session_and_is_audited(self, member, session, clock) -> None:
        browser, user = member
        user_id = user.id
        before = await stamp(session, user_id)
        clock.advance(minutes=20)

        response = await browser.post(URL, json={"password": PASSWORD})

        assert response.status_code == 204, response.text
        assert response.content == b"" and "content-type" not in response.headers
        after = await stamp(session, user_id)
        assert after is not None and before is not None and after - before >= timedelta(minutes=20)
        actions = await session.scalars(
            select(AuditRecord.action).where(AuditRecord.subject_id == str(user_id))
        )
        assert "account.reauthenticated" in list(actions)

    async def test_a_wrong_password_is_refused_and_stamps_nothing(self, member, session, clock) -> None:
        browser, user = member
        user_id = user.id
        before = await stamp(session, user_id)
        clock.advance(minutes=20)

        assert_problem(await browser.post(URL, json={"password": WRONG}), 403, "wrong-password")
        assert await stamp(session, user_id) == before

    async def test_too_many_wrong_answers_lock_even_the_right_password_out(self, member, settings) -> None:
        browser, _ = member
        for _ in range(settings.password_checks_per_user):
            assert (await browser.post(URL, json={"password": WRONG})).status_code == 403

        response = await browser.post(URL, json={"password": PASSWORD})

        assert_problem(response, 429, "too-many-attempts")
        assert "Retry-After" in response.headers


class TestCodes:
    async def test_a_fresh_totp_code_works(self, two_factor_member, clock) -> None:
        browser, _, secret, _ = two_factor_member
        clock.advance(seconds=30)

        assert (await browser.post(URL, json={"code": pyotp.TOTP(secret).at(clock.now())})).status_code == 204

    async def test_the_code_used_to_sign_in_cannot_be_replayed(self, two_factor_member) -> None:
        browser, _, _, code_used_to_sign_in = two_factor_member
        assert_problem(await browser.post(URL, json={"code": code_used_to_sign_in}), 400, "invalid-otp")

    async def test_a_recovery_code_works_once(self, two_factor_member) -> None:
        browser, _, _, _ = two_factor_member
        assert (await browser.post(URL, json={"code": "ABCD-EFGH-IJKL"})).status_code == 204
        assert_problem(await browser.post(URL, json={"code": "abcd-efgh-ijkl"}), 400, "invalid-otp")

    async def test_a_code_without_two_factor_is_refused(self, member) -> None:
        browser, _ = member
        assert_problem(await browser.post(URL, json={"code": "123456"}), 400, "invalid-otp")


class TestBadInput:
    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"password": PASSWORD, "code": "123456"},
            {"password": None},
            {"password": PASSWORD, "code": None},
            {"code": "12345"},
            {"password": "x" * 129},
            {"password": PASSWORD, "remember": True},
        ],
    )
    async def test_refused_as_problems(self, member, body) -> None:
        browser, _ = member
        assert_problem(await browser.post(URL, json=body), 422, "validation")

    async def test_anonymous_callers_are_refused(self, client) -> None:
        assert_problem(await client.post(URL, json={"password": PASSWORD}), 401, "not-authenticated")

    async def test_the_csrf_header_is_required(self, member) -> None:
        browser, _ = member
        del browser.headers["X-CSRF-Token"]
        assert_problem(await browser.post(URL, json={"password": PASSWORD}), 403, "csrf-failed")
