"""Forms that mail an address on anyone's request (sign-up, a new verification link, a password
reset, a data request) are capped per address and kind of mail, and per IP, alike for addresses
with and without an account."""

import math

import pytest
from sqlalchemy import func, select

from opmaestro.notifications.models import OutboxMessage
from tests.factories import PASSWORD, create_user, registration, sign_in
from tests.problems import assert_problem

REGISTER = "/api/v1/auth/register"
RESEND = "/api/v1/auth/verify-email/resend"
FORGOT = "/api/v1/auth/password/forgot"
CHANGE_EMAIL = "/api/v1/me/email"
DATA_REQUEST = "/api/v1/data-requests"
VICTIM = "ann@example.com"


async def mails_to(session, address: str) -> int:
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.to_address == address)
    return int(await session.scalar(query) or 0)


async def ask(client, path: str, email: str = VICTIM):
    if path == REGISTER:
        body = registration(email=email)
    elif path == DATA_REQUEST:
        body = {"email": email, "kind": "erasure"}
    else:
        body = {"email": email}
    return await client.post(path, json=body)


def without_request_id(problem: dict) -> dict:
    return {key: value for key, value in problem.items() if key != "request_id"}


@pytest.mark.parametrize("path", [REGISTER, RESEND, FORGOT])
async def test_each_form_stops_mailing_one_address_at_the_cap(limited_app, session, run_jobs, path):
    await create_user(session, VICTIM, verified=path == FORGOT)
    client = limited_app(mail_requests_per_address=3, mail_requests_per_ip=100)()
    for _ in range(3):
        assert (await ask(client, path)).status_code == 202
    await run_jobs()
    sent = await mails_to(session, VICTIM)

    refused = await ask(client, path)
    await run_jobs()

    problem = assert_problem(refused, 429, "too-many-attempts")
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 3600
    assert problem["detail"].endswith(f"try again in {math.ceil(retry_after / 60)} minutes.")
    assert await mails_to(session, VICTIM) == sent == 3


async def test_one_form_has_one_cap_per_address_whatever_its_case(limited_app):
    client = limited_app(mail_requests_per_address=3, mail_requests_per_ip=100)()
    for email in ("Ann@Example.com", "ANN@example.com", VICTIM):
        assert (await ask(client, FORGOT, email)).status_code == 202

    assert_problem(await ask(client, FORGOT, "ann@EXAMPLE.com"), 429, "too-many-attempts")
    # Another address is not held back by the first one's cap.
    assert (await ask(client, FORGOT, "bob@example.com")).status_code == 202


@pytest.mark.parametrize("other", [DATA_REQUEST, REGISTER, RESEND])
async def test_other_forms_cannot_use_up_the_password_reset_mail(limited_app, session, run_jobs, other):
    """Anonymous requests for other mail to someone's address must not keep their reset link away."""
    await create_user(session, VICTIM)
    client = limited_app(mail_requests_per_address=3, mail_requests_per_ip=100)()
    for _ in range(3):
        assert (await ask(client, other)).status_code == 202
    assert_problem(await ask(client, other), 429, "too-many-attempts")

    response = await ask(client, FORGOT)

    assert response.status_code == 202, response.text
    await run_jobs()
    query = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.to_address == VICTIM, OutboxMessage.template == "reset_password")
    )
    assert await session.scalar(query) == 1


async def test_the_reset_cap_does_not_hold_back_the_other_forms(limited_app):
    client = limited_app(mail_requests_per_address=1, mail_requests_per_ip=100)()
    assert (await ask(client, FORGOT)).status_code == 202
    assert_problem(await ask(client, FORGOT), 429, "too-many-attempts")

    for path in (REGISTER, RESEND, DATA_REQUEST):
        assert (await ask(client, path)).status_code == 202, path


async def test_a_refusal_says_nothing_about_whether_the_address_has_an_account(limited_app, session):
    await create_user(session, VICTIM)
    client = limited_app(mail_requests_per_address=1, mail_requests_per_ip=100)()
    await ask(client, FORGOT, VICTIM)
    await ask(client, FORGOT, "nobody@example.com")

    for_account = await ask(client, FORGOT, VICTIM)
    for_nobody = await ask(client, FORGOT, "nobody@example.com")

    assert (for_account.status_code, for_nobody.status_code) == (429, 429)
    assert without_request_id(for_account.json()) == without_request_id(for_nobody.json())


async def test_one_ip_is_capped_across_addresses_and_other_ips_are_not(limited_app, session):
    browser_at = limited_app(mail_requests_per_address=100, mail_requests_per_ip=3)
    sender = browser_at("198.51.100.7")
    for number in range(3):
        assert (await ask(sender, REGISTER, f"user{number}@example.com")).status_code == 202

    refused = await ask(sender, REGISTER, "user3@example.com")

    assert_problem(refused, 429, "too-many-attempts")
    assert int(refused.headers["Retry-After"]) >= 1
    assert await mails_to(session, "user3@example.com") == 0
    assert (await ask(browser_at("203.0.113.9"), REGISTER, "user3@example.com")).status_code == 202


async def test_the_cap_lifts_in_the_next_window(limited_app, settings, clocked_rate_limits):
    client = limited_app(mail_requests_per_address=1, mail_requests_per_ip=100)()
    assert (await ask(client, FORGOT)).status_code == 202
    assert (await ask(client, FORGOT)).status_code == 429

    clocked_rate_limits.advance(seconds=settings.mail_request_window_seconds)

    assert (await ask(client, FORGOT)).status_code == 202


async def test_malformed_requests_are_refused_without_using_the_cap(limited_app):
    client = limited_app(mail_requests_per_address=1, mail_requests_per_ip=1)()
    for body in ({"email": "not an address"}, {}, {"email": VICTIM, "extra": 1}):
        assert_problem(await client.post(FORGOT, json=body), 422)

    assert (await ask(client, FORGOT)).status_code == 202


async def test_changing_the_email_counts_against_the_new_address_cap(limited_app, session):
    await create_user(session, "bob@example.com")
    browser = limited_app(mail_requests_per_address=2, mail_requests_per_ip=100)()
    await sign_in(browser, "bob@example.com")

    answers = [
        (await browser.post(CHANGE_EMAIL, json={"new_email": VICTIM, "password": PASSWORD})).status_code
        for _ in range(2)
    ]

    assert answers == [202, 202]
    refused = await browser.post(CHANGE_EMAIL, json={"new_email": VICTIM, "password": PASSWORD})
    assert_problem(refused, 429, "too-many-attempts")
    assert int(refused.headers["Retry-After"]) >= 1
    assert await mails_to(session, VICTIM) == 2
    # Its own cap: the address's owner can still ask for a reset link.
    assert (await ask(browser, FORGOT, VICTIM)).status_code == 202
