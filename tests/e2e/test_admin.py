"""Staff set up two-factor, sign in with a code, and change a member's role."""

import re
from datetime import UTC, datetime

import pyotp
from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer, assert_accessible

ADMIN = "ada@example.com"
ADMIN_PASSWORD = "admin passphrase for e2e"
MEMBER = "promote-me@example.com"


def current_step(secret: str) -> int:
    return pyotp.TOTP(secret).timecode(datetime.now(UTC))


def code_after(secret: str, used_step: int) -> str:
    """A code of a later time step than the one used: codes are single-use (RFC 6238 §5.2), and
    the server also takes the next step's code (clock drift), so the test need not wait for it."""
    return pyotp.TOTP(secret).generate_otp(max(current_step(secret), used_step + 1))


async def test_admin_enrolls_signs_in_with_totp_and_changes_a_role(page: Page, live_server: LiveServer):
    live_server.create_admin(ADMIN, ADMIN_PASSWORD)
    live_server.register(MEMBER, "member passphrase for e2e", name="Mo Member")

    await page.goto("/sign-in")
    await page.get_by_label("Email").fill(ADMIN)
    await page.get_by_label(re.compile(r"^Password\b")).fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).not_to_have_url(re.compile(r"/sign-in"))

    await page.goto("/security")
    await page.get_by_role("button", name=re.compile("set up two-factor", re.I)).click()
    secret_text = await page.get_by_test_id("totp-secret").inner_text()
    secret = re.sub(r"\s+", "", secret_text)
    await assert_accessible(page)
    enrolled_step = current_step(secret)
    await page.get_by_label("Authentication code").fill(pyotp.TOTP(secret).generate_otp(enrolled_step))
    await page.get_by_role("button", name="Turn on two-factor").click()
    await expect(page.get_by_text(re.compile("recovery codes", re.I)).first).to_be_visible()

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/sign-in"))
    await page.get_by_label("Email").fill(ADMIN)
    await page.get_by_label(re.compile(r"^Password\b")).fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_label("Authentication code").fill(code_after(secret, enrolled_step))
    await assert_accessible(page)
    await page.get_by_role("button", name="Verify").click()
    await expect(page).not_to_have_url(re.compile(r"/sign-in"))

    await page.get_by_role("link", name="Users").click()
    await expect(page).to_have_url(re.compile(r"/admin/users"))
    await assert_accessible(page)
    await page.get_by_label("Reason").fill("E2E: promote a member to support")
    await page.get_by_label("Search").fill(MEMBER)
    await page.get_by_label("Search").press("Enter")
    row = page.get_by_role("row").filter(has_text=MEMBER)
    await expect(row).to_be_visible()
    await page.get_by_label(f"Role for {MEMBER}").select_option("support")
    await row.get_by_role("button", name="Save").click()
    await expect(page.get_by_text(f"{MEMBER}:").first).to_be_visible()

    await page.reload()
    await page.get_by_label("Reason").fill("E2E: check the change")
    await page.get_by_label("Search").fill(MEMBER)
    await page.get_by_label("Search").press("Enter")
    await expect(page.get_by_role("row").filter(has_text=MEMBER)).to_contain_text(re.compile("support", re.I))

    await page.get_by_role("link", name="Purposes").click()
    await expect(page.get_by_role("heading", name="Purposes", level=1)).to_be_visible()
    await expect(page.get_by_role("table", name="Purposes")).to_contain_text("marketing_email")
    await assert_accessible(page)
    await page.get_by_role("button", name="Edit analytics").click()
    edit = page.get_by_role("form", name="Edit analytics")
    await edit.get_by_label("Description").fill("Counting page views to improve the product, in our words.")
    await edit.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_text(re.compile(r"is saved \(version 2\)"))).to_be_visible()

    await page.get_by_role("link", name="Consent dashboard").click()
    await expect(page.get_by_role("heading", name="Consent dashboard", level=1)).to_be_visible()
    await expect(page.get_by_role("table", name="Current grants")).to_be_visible()
    await assert_accessible(page)
