"""The password checks behind a session (change email, change password, close the account, turn
two-factor off) refuse, per user, once too many wrong passwords or codes fill the window, so a
session left open cannot be used to guess the password."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy import func, select

from opmaestro.accounts.models import User
from opmaestro.core.clock import utcnow
from opmaestro.notifications.models import OutboxMessage
from tests.factories import PASSWORD, create_user, sign_in
from tests.problems import assert_problem

WRONG = "not the right password"
NEW_ADDRESS = "ann.lee@newco.example"


@dataclass(frozen=True)
class Check:
    method: str
    path: str
    ok: int

    def body(self, password: str, code: str = "") -> dict[str, Any]:
        if self.path == "/api/v1/me/email":
            return {"new_email": NEW_ADDRESS, "password": password}
        if self.path == "/api/v1/me/password":
            return {"current_password": password, "new_password": "violet kettle orbit tundra"}
        if self.path == "/api/v1/me/mfa/totp":
            return {"password": password, "code": code}
        return {"password": password}


CHANGE_EMAIL = Check("POST", "/api/v1/me/email", 202)
CHECKS = [
    CHANGE_EMAIL,
    Check("POST", "/api/v1/me/password", 200),
    Check("DELETE", "/api/v1/me", 202),
    Check("DELETE", "/api/v1/me/mfa/totp", 204),
]


@dataclass
class Member:
    user: User
    secret: str


async def make_member(session, email: str = "ann@example.com") -> Member:
    secret = pyotp.random_base32()
    return Member(await create_user(session, email, mfa_secret=secret), secret)


def fresh_code(member: Member, clock) -> str:
    """A code of a later time step than the one used to sign in (a used step is refused)."""
    clock.advance(seconds=30)
    return pyotp.TOTP(member.secret).now()


def wrong_code(member: Member) -> str:
    """A six-digit code that no time step near now produces."""
    totp, now = pyotp.TOTP(member.secret), utcnow()
    near = {totp.at(now + timedelta(seconds=step * 30)) for step in range(-2, 3)}
    return next(code for code in (f"{n:06d}" for n in range(1_000_000)) if code not in near)


async def send(browser, check: Check, password: str, code: str = ""):
    return await browser.request(check.method, check.path, json=check.body(password, code))


async def mails_to(session, address: str) -> int:
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.to_address == address)
    return int(await session.scalar(query) or 0)


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: f"{check.method} {check.path}")
async def test_once_wrong_passwords_fill_the_window_even_the_right_one_is_refused(
    limited_app, session, clock, check
):
    member = await make_member(session)
    browser = limited_app(password_checks_per_user=3)()
    await sign_in(browser, member.user.email, otp_secret=member.secret)
    before = (member.user.email, member.user.password_hash, member.user.status, member.user.mfa_enabled_at)
    for _ in range(3):
        assert_problem(await send(browser, check, WRONG, fresh_code(member, clock)), 403, "wrong-password")

    refused = await send(browser, check, PASSWORD, fresh_code(member, clock))

    problem = assert_problem(refused, 429, "too-many-attempts")
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 900
    assert "try again in" in problem["detail"]
    user = await session.get(User, member.user.id, populate_existing=True)
    assert (user.email, user.password_hash, user.status, user.mfa_enabled_at) == before
    assert await mails_to(session, NEW_ADDRESS) == 0


async def test_wrong_two_factor_codes_count_too(limited_app, session, clock):
    member = await make_member(session)
    browser = limited_app(password_checks_per_user=2)()
    await sign_in(browser, member.user.email, otp_secret=member.secret)
    disable = CHECKS[3]
    for _ in range(2):
        assert_problem(await send(browser, disable, PASSWORD, wrong_code(member)), 400, "invalid-otp")
    refused = await send(browser, disable, PASSWORD, fresh_code(member, clock))

    assert_problem(refused, 429, "too-many-attempts")
    assert (await browser.get("/api/v1/me")).json()["mfa_enabled"] is True


async def test_right_passwords_do_not_count_and_forget_the_wrong_ones_before(limited_app, session):
    member = await make_member(session)
    browser = limited_app(password_checks_per_user=2)()
    await sign_in(browser, member.user.email, otp_secret=member.secret)

    answers = [(await send(browser, CHANGE_EMAIL, password)).status_code for password in (WRONG, PASSWORD)]
    answers += [(await send(browser, CHANGE_EMAIL, password)).status_code for password in (WRONG, WRONG)]
    answers.append((await send(browser, CHANGE_EMAIL, PASSWORD)).status_code)

    assert answers == [403, 202, 403, 403, 429]


async def test_one_users_wrong_passwords_do_not_hold_another_back(limited_app, session, clock):
    ann, bob = await make_member(session), await make_member(session, "bob@example.com")
    browser_at = limited_app(password_checks_per_user=1)
    ann_browser, bob_browser = browser_at(), browser_at()
    await sign_in(ann_browser, ann.user.email, otp_secret=ann.secret)
    await sign_in(bob_browser, bob.user.email, otp_secret=bob.secret)
    await send(ann_browser, CHANGE_EMAIL, WRONG)
    assert (await send(ann_browser, CHANGE_EMAIL, PASSWORD)).status_code == 429

    assert (await send(bob_browser, CHANGE_EMAIL, PASSWORD)).status_code == 202


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: f"{check.method} {check.path}")
def test_the_refusal_is_in_the_api_description(app, check):
    responses = app.openapi()["paths"][check.path][check.method.lower()]["responses"]

    assert "429" in responses
