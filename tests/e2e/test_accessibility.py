"""axe-core finds no serious or critical violation on any page, including pages showing errors."""

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer, assert_accessible

PASSWORD = "accessible passphrase 1"


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/sign-in", "Sign in"),
        ("/sign-up", "Create your account"),
        ("/forgot-password", None),
        ("/reset-password?token=not-a-real-token", None),
        ("/verify-email?token=not-a-real-token-at-all", "Verification failed"),
    ],
)
async def test_public_pages(page: Page, path: str, heading: str | None):
    await page.goto(path)
    if heading:
        await expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
    else:
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await assert_accessible(page)


async def test_forms_showing_field_errors(page: Page, live_server: LiveServer):
    await page.goto("/sign-up")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.locator("[aria-invalid=true]").first).to_be_visible()
    await assert_accessible(page)

    await page.goto("/sign-in")
    await page.get_by_label("Email").fill("nobody@example.com")
    await page.get_by_label(re.compile(r"^Password\b")).fill("wrong password here")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text(re.compile("not correct", re.I)).first).to_be_visible()
    await assert_accessible(page)


async def test_signed_in_pages(page: Page, live_server: LiveServer):
    email = "a11y@example.com"
    live_server.register(email, PASSWORD)
    await page.goto("/sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label(re.compile(r"^Password\b")).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/profile$"))
    await assert_accessible(page)

    await page.get_by_label("Phone").fill("12")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_label("Phone")).to_have_attribute("aria-invalid", "true")
    await assert_accessible(page)

    for path, heading in (("/security", "Security"), ("/close-account", "Close your account")):
        await page.goto(path)
        await expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        await expect(page.get_by_role("status")).to_have_count(0)
        await assert_accessible(page)
