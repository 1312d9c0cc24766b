"""A newcomer signs up, verifies, edits the profile, changes the password and signs in again;
members verify late, and turn two-factor on and off."""

import asyncio
import re
import time

import pyotp
from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer, assert_accessible

PASSWORD = "a long passphrase for e2e"
NEW_PASSWORD = "another long passphrase 2"


async def reset_link(live_server: LiveServer, email: str) -> str:
    """The reset mail is written by a background job once the form has answered, so it may not
    be in the outbox yet; look again until it is, within a generous bound."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return live_server.mail_link(email, "reset your")
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.25)


async def sign_in(page: Page, email: str, password: str) -> None:
    await page.goto("/sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label(re.compile(r"^Password\b")).fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def test_sign_up_verify_edit_change_password_and_sign_in_again(page: Page, live_server: LiveServer):
    email = "journey@example.com"
    await page.goto("/sign-up")
    await assert_accessible(page)
    await page.get_by_label("Full name").fill("Jo Urney")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label(re.compile(r"^Password\b")).fill(PASSWORD)
    await page.get_by_label("Company").fill("Acme Corp")
    await page.get_by_label("Job title").fill("Sales lead")
    await page.get_by_label("Phone").fill("+1 415 555 0132")
    await page.get_by_label("Country").select_option(label="Germany")
    await page.get_by_label("I am 18 or older").check()
    await page.get_by_label("I accept the terms of service and the privacy policy").check()
    await page.get_by_label("I have read the notice on data processing in the United States").check()
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name=re.compile("check your email", re.I))).to_be_visible()
    await assert_accessible(page)

    await page.goto(live_server.mail_link(email, "confirm your email"))
    await expect(page.get_by_role("heading", name="Email verified")).to_be_visible()
    await assert_accessible(page)

    await sign_in(page, email, PASSWORD)
    await expect(page).to_have_url(re.compile(r"/profile$"))
    await expect(page.get_by_label("Company")).to_have_value("Acme Corp")
    await assert_accessible(page)
    await page.get_by_label("Company").fill("Globex")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_text(re.compile("saved|updated", re.I)).first).to_be_visible()
    await page.reload()
    await expect(page.get_by_label("Company")).to_have_value("Globex")

    await page.goto("/security")
    await assert_accessible(page)
    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_label("New password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_text(re.compile("your password is changed", re.I)).first).to_be_visible()

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/sign-in"))
    await sign_in(page, email, PASSWORD)
    await expect(page.get_by_text(re.compile("not correct|invalid|incorrect", re.I)).first).to_be_visible()
    await sign_in(page, email, NEW_PASSWORD)
    await expect(page).to_have_url(re.compile(r"/profile$"))
    await expect(page.get_by_label("Company")).to_have_value("Globex")


async def test_an_unverified_member_asks_for_a_new_link_from_the_banner_and_verifies(
    page: Page, live_server: LiveServer
):
    email = "late-verifier@example.com"
    live_server.register(email, PASSWORD)
    await sign_in(page, email, PASSWORD)
    await expect(page).to_have_url(re.compile(r"/profile$"))
    banner = page.get_by_role("alert").filter(has_text="Verify your email address")
    await expect(banner).to_contain_text(email)
    await assert_accessible(page)

    await banner.get_by_role("button", name="Send the link again").click()
    await expect(page.get_by_role("status").filter(has_text="a new link is on its way")).to_be_visible()
    verification_mails = [
        row for row in live_server.outbox(email) if "confirm your email" in row["subject"].lower()
    ]
    assert len(verification_mails) == 2

    await page.goto(live_server.mail_link(email, "confirm your email"))
    await expect(page.get_by_role("heading", name="Email verified")).to_be_visible()
    await page.goto("/profile")
    await expect(page.get_by_role("region", name="Email address")).to_contain_text(email)
    await expect(page.get_by_text("Verify your email address")).to_have_count(0)


async def test_signed_out_deep_link_returns_after_sign_in(page: Page, live_server: LiveServer):
    email = "deeplink@example.com"
    live_server.register(email, PASSWORD)
    await page.goto("/security")
    await expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Fsecurity|/sign-in\?next=/security"))
    await page.get_by_label("Email").fill(email)
    await page.get_by_label(re.compile(r"^Password\b")).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/security$"))


async def test_forgot_and_reset_password(page: Page, live_server: LiveServer):
    email = "forgetful@example.com"
    live_server.register(email, PASSWORD)
    await page.goto("/forgot-password")
    await assert_accessible(page)
    await page.get_by_label("Email").fill(email)
    await page.get_by_role("button", name="Send reset link").click()
    await expect(page.get_by_text(re.compile("if an account", re.I)).first).to_be_visible()
    await page.goto(await reset_link(live_server, email))
    await assert_accessible(page)
    await page.get_by_label("New password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set password").click()
    await expect(
        page.get_by_text(re.compile("password (has been |was )?(changed|set|reset)", re.I)).first
    ).to_be_visible()
    await sign_in(page, email, NEW_PASSWORD)
    await expect(page).to_have_url(re.compile(r"/profile$"))


async def test_a_member_turns_two_factor_on_signs_in_with_a_recovery_code_and_turns_it_off(
    page: Page, live_server: LiveServer
):
    email = "careful@example.com"
    live_server.register(email, PASSWORD)
    live_server.verify(email)
    await sign_in(page, email, PASSWORD)
    await expect(page).to_have_url(re.compile(r"/profile$"))

    await page.goto("/security")
    await page.get_by_role("button", name="Set up two-factor").click()
    await expect(page.get_by_role("img", name="QR code of the two-factor setup link")).to_be_visible()
    await assert_accessible(page)
    secret = re.sub(r"\s+", "", await page.get_by_test_id("totp-secret").inner_text())
    await page.get_by_label("Authentication code").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Turn on two-factor").click()
    listed = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    await expect(listed).to_have_count(10)
    recovery_codes = await listed.all_inner_texts()
    await page.get_by_role("button", name="I have stored them").click()

    # A recovery code stands in for the app (whose enrolment code may not be used again).
    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, email, PASSWORD)
    await page.get_by_label("Authentication code").fill(recovery_codes[0])
    await page.get_by_role("button", name="Verify").click()
    await expect(page).to_have_url(re.compile(r"/profile$"))

    await page.goto("/security")
    turn_off = page.get_by_role("form", name="Turn off two-factor")
    await assert_accessible(page)
    await turn_off.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    await turn_off.get_by_label(re.compile(r"^Code")).fill(recovery_codes[0])
    await turn_off.get_by_role("button", name="Turn off two-factor").click()
    await expect(turn_off.get_by_text(re.compile("not correct", re.I))).to_be_visible()
    await turn_off.get_by_label(re.compile(r"^Code")).fill(recovery_codes[1])
    await turn_off.get_by_role("button", name="Turn off two-factor").click()
    await expect(page.get_by_role("button", name="Set up two-factor")).to_be_visible()
    assert any("turned off" in row["subject"] for row in live_server.outbox(email))

    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, email, PASSWORD)
    await expect(page).to_have_url(re.compile(r"/profile$"))
