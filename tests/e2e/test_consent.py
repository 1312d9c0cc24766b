"""Privacy > Consents: switch marketing on and off, see the history, download a receipt; then
unsubscribe through the link in a marketing mail."""

import asyncio
import re
from pathlib import Path

from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer, assert_accessible

PASSWORD = "consenting passphrase 1"


async def sign_in(page: Page, email: str) -> None:
    await page.goto("/sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label(re.compile(r"^Password\b")).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/profile$"))


async def test_toggle_marketing_see_history_and_download_a_receipt(page: Page, live_server: LiveServer):
    email = "consent@example.com"
    live_server.register(email, PASSWORD)
    await sign_in(page, email)

    await page.get_by_role("link", name="Consents").click()
    await expect(page.get_by_role("heading", name="Consents & communications", level=1)).to_be_visible()
    marketing = page.get_by_role("switch", name="Marketing email")
    await expect(marketing).not_to_be_checked()
    await assert_accessible(page)

    await marketing.click()
    await expect(page.get_by_text("Marketing email is on.")).to_be_visible()
    await expect(marketing).to_be_checked()
    await marketing.click()
    await expect(page.get_by_text("Marketing email is off.")).to_be_visible()
    await expect(marketing).not_to_be_checked()

    history = page.get_by_role("table", name="Consent history")
    rows = history.get_by_role("row").filter(has_text="Marketing email")
    await expect(rows.filter(has_text="Withdrawn").first).to_be_visible()
    await expect(rows.filter(has_text="Given").first).to_be_visible()
    await assert_accessible(page)

    async with page.expect_download() as download_info:
        await rows.first.get_by_role(
            "button", name=re.compile("^Download receipt for Marketing email")
        ).click()
    download = await download_info.value
    assert download.suggested_filename.endswith(".jws")
    receipt = (await asyncio.to_thread(Path(await download.path()).read_text)).strip()
    assert re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", receipt), receipt[:80]


async def test_unsubscribe_link_from_a_marketing_mail(page: Page, live_server: LiveServer):
    email = "newsreader@example.com"
    live_server.register(email, PASSWORD)
    live_server.verify(email)
    await sign_in(page, email)
    await page.goto("/privacy/consents")
    await page.get_by_role("switch", name="Marketing email").click()
    await expect(page.get_by_text("Marketing email is on.")).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()

    staff = live_server.staff_client("campaigner@example.com", "campaign passphrase 1")
    sent = staff.post("/api/v1/admin/campaigns", json={"subject": "E2E news", "text_body": "Hello."})
    assert sent.status_code == 201, sent.text
    assert sent.json()["recipients"] >= 1

    await page.goto(live_server.mail_link(email, "E2E news", contains="/unsubscribe/"))
    await expect(page.get_by_role("heading", name="Unsubscribe", level=1)).to_be_visible()
    await assert_accessible(page)
    await page.get_by_role("button", name="Unsubscribe").click()
    await expect(page.get_by_text(re.compile("You are unsubscribed from Marketing email"))).to_be_visible()

    await sign_in(page, email)
    await page.goto("/privacy/consents")
    await expect(page.get_by_role("switch", name="Marketing email")).not_to_be_checked()
    history = page.get_by_role("table", name="Consent history")
    await expect(history.get_by_role("row").filter(has_text="unsubscribe link").first).to_be_visible()
