"""Privacy > Your data, the public privacy request, and Admin > Data requests, in the browser:
a member gets a copy of their data after re-authenticating and schedules then cancels an
erasure; a visitor without an account files a request; a privacy officer handles it."""

import asyncio
import io
import re
import sqlite3
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyotp
from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer, assert_accessible

PASSWORD = "data subject passphrase 1"
STAFF_PASSWORD = "privacy officer passphrase 1"


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.goto("/sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label(re.compile(r"^Password\b")).fill(password)
    await page.get_by_role("button", name="Sign in").click()


def forget_reauthentication(live_server: LiveServer, email: str) -> None:
    """As if the password was entered more than 10 minutes ago (sign-in counts as entering it)."""
    database = live_server.env["OPMAESTRO_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(database) as connection:
        updated = connection.execute(
            "UPDATE user_session SET reauthenticated_at = NULL"
            " WHERE user_id = (SELECT id FROM user_account WHERE email = ?)",
            (email,),
        ).rowcount
    assert updated >= 1


async def assert_landmarks_clean(page: Page) -> None:
    """No landmark violation of any impact (assert_accessible counts serious ones only): a dialog's
    header must not be a second banner."""
    await assert_accessible(page)  # loads axe
    results = await page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['best-practice', 'wcag2a']},"
        " resultTypes: ['violations']})"
    )
    landmarks = [
        f"{violation['id']}: {[node['html'][:120] for node in violation['nodes'][:3]]}"
        for violation in results["violations"]
        if violation["id"].startswith("landmark")
    ]
    assert not landmarks, "\n".join(landmarks)


async def assert_badges_whole(page: Page) -> None:
    """At 1280 px wide no badge shows its word cut off ("COMPLE…")."""
    await page.set_viewport_size({"width": 1280, "height": 800})
    cut = await page.evaluate(
        "[...document.querySelectorAll('.mantine-Badge-label')]"
        ".filter((label) => label.scrollWidth > label.clientWidth + 1).map((label) => label.textContent)"
    )
    assert await page.locator(".mantine-Badge-label").count() > 0
    assert not cut, cut


def read_zip(path: str) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(Path(path).read_bytes())) as archive:
        return archive.namelist()


async def test_member_exports_after_reauthenticating_then_schedules_and_cancels_erasure(
    page: Page, live_server: LiveServer
):
    email = "subject@example.com"
    live_server.register(email, PASSWORD, name="Sam Subject")
    live_server.verify(email)
    await sign_in(page, email)
    await expect(page).to_have_url(re.compile(r"/profile$"))
    forget_reauthentication(live_server, email)

    await page.get_by_role("link", name="Your data").click()
    await expect(page.get_by_role("heading", name="Your data", level=1)).to_be_visible()
    await expect(page.get_by_role("heading", name="How to reach you", level=3)).to_be_visible()
    await expect(page.get_by_text("You have not made any requests yet.")).to_be_visible()
    await assert_accessible(page)

    await page.get_by_role("button", name="Request a copy").click()
    dialog = page.get_by_role("dialog", name="Confirm it is you")
    await expect(dialog).to_be_visible()
    await assert_accessible(page)
    await assert_landmarks_clean(page)
    await dialog.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    await dialog.get_by_role("button", name="Confirm").click()
    await expect(dialog).to_be_hidden()

    download_link = page.get_by_role("link", name=re.compile(r"^Download your data"))
    await expect(download_link).to_be_visible()
    await expect(page.get_by_role("progressbar")).to_have_count(0)
    history = page.get_by_role("table", name="Your requests")
    await expect(history.get_by_role("row").filter(has_text="Copy of your data")).to_contain_text("Completed")
    await assert_badges_whole(page)
    await assert_accessible(page)
    async with page.expect_download() as download_info:
        await download_link.click()
    download = await download_info.value
    assert download.suggested_filename.endswith(".zip"), download.suggested_filename
    names = await asyncio.to_thread(read_zip, str(await download.path()))
    assert "manifest.json" in names, names

    await page.get_by_role("button", name="Erase my data").click()
    confirm = page.get_by_role("dialog", name="Erase your data?")
    await expect(confirm).to_be_visible()
    await assert_landmarks_clean(page)
    await confirm.get_by_role("button", name="Yes, erase my data").click()
    await expect(confirm).to_be_hidden()
    await expect(page.get_by_text(re.compile(r"^in 1[34] days$"))).to_be_visible()
    await expect(history.get_by_role("row").filter(has_text="Erasure")).to_contain_text("In progress")
    await assert_accessible(page)

    await page.get_by_role("button", name="Cancel erasure").click()
    await expect(page.get_by_text("Erasure cancelled. Your data stays as it is.")).to_be_visible()
    await expect(page.get_by_role("button", name="Erase my data")).to_be_visible()
    await expect(history.get_by_role("row").filter(has_text="Erasure")).to_contain_text("Cancelled")


def make_privacy_officer(live_server: LiveServer, email: str) -> tuple[str, int]:
    """A member promoted to privacy officer by an admin, who then turns on two-factor; returns the
    TOTP secret and the time step of the code used to enrol."""
    live_server.register(email, STAFF_PASSWORD, name="Olu Officer")
    live_server.verify(email)
    admin = live_server.staff_client("dsar-admin@example.com", "dsar admin passphrase 1")
    found = admin.get("/api/v1/admin/users", params={"q": email, "reason": "E2E: appoint an officer"})
    assert found.status_code == 200, found.text
    user_id = found.json()["items"][0]["id"]
    promoted = admin.patch(
        f"/api/v1/admin/users/{user_id}",
        json={"role": "privacy_officer", "reason": "E2E: appoint an officer"},
    )
    assert promoted.status_code == 200, promoted.text

    officer = httpx.Client(base_url=live_server.url)
    signed_in = officer.post("/api/v1/auth/login", json={"email": email, "password": STAFF_PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    officer.headers["X-CSRF-Token"] = signed_in.json()["csrf_token"]
    secret = officer.post("/api/v1/me/mfa/totp").json()["secret"]
    step = pyotp.TOTP(secret).timecode(datetime.now(UTC))
    confirmed = officer.post(
        "/api/v1/me/mfa/totp/confirm", json={"code": pyotp.TOTP(secret).generate_otp(step)}
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret, step


async def test_visitor_files_a_request_and_a_privacy_officer_handles_it(page: Page, live_server: LiveServer):
    visitor = "visitor@example.com"
    await page.goto("/sign-in")
    await page.get_by_role("link", name="Privacy request").click()
    await expect(page.get_by_role("heading", name="Privacy request", level=1)).to_be_visible()
    await assert_accessible(page)

    form = page.get_by_role("form", name="Privacy request")
    await form.get_by_role("textbox", name=re.compile(r"^Email")).fill(visitor)
    await form.get_by_role("radio", name=re.compile("A correction")).check()
    await form.get_by_role("checkbox", name="Phone number").check()
    await form.get_by_label(re.compile(r"^Details")).fill("Your newsletter uses my old phone number.")
    await form.get_by_role("combobox", name=re.compile(r"^Country")).select_option("DE")
    await form.get_by_role("button", name="Send request").click()
    await expect(page.get_by_role("heading", name="Check your inbox", level=1)).to_be_visible()
    await expect(page.get_by_role("status")).to_contain_text("If the address can receive mail")
    await assert_accessible(page)

    link = live_server.mail_link(visitor, "Confirm your privacy request", contains="/privacy-request/verify")
    await page.goto(link)
    confirm = page.get_by_role("button", name="Confirm this request")
    await expect(confirm).to_be_visible()
    await assert_accessible(page)
    await confirm.click()
    await expect(page.get_by_role("heading", name="Request confirmed", level=1)).to_be_visible()
    await assert_accessible(page)
    await page.reload()
    await page.get_by_role("button", name="Confirm this request").click()
    await expect(page.get_by_role("heading", name="Link already used or expired", level=1)).to_be_visible()
    await expect(page.get_by_text("Confirmation failed")).to_have_count(0)

    officer = "officer@example.com"
    secret, step = make_privacy_officer(live_server, officer)
    await sign_in(page, officer, STAFF_PASSWORD)
    code = pyotp.TOTP(secret).generate_otp(max(pyotp.TOTP(secret).timecode(datetime.now(UTC)), step + 1))
    await page.get_by_label("Authentication code").fill(code)
    await page.get_by_role("button", name="Verify").click()
    await expect(page).not_to_have_url(re.compile(r"/sign-in"))

    await page.get_by_role("link", name="Data requests").click()
    await expect(page.get_by_role("heading", name="Data requests", level=1)).to_be_visible()
    await page.get_by_role("combobox", name="Kind").select_option("correction")
    queue = page.get_by_role("table", name="Data requests")
    row = queue.get_by_role("row").filter(has_text="By email")
    await expect(row).to_contain_text("Verified")
    await assert_accessible(page)

    await page.get_by_role("textbox", name=re.compile(r"^Reason")).first.fill("E2E: ticket 4242")
    await row.get_by_role("button", name=re.compile("^Open correction request")).click()
    panel = page.get_by_role("region", name="Correction request")
    await expect(panel.get_by_text(visitor)).to_be_visible()
    await expect(panel.get_by_text("Your newsletter uses my old phone number.")).to_be_visible()
    await expect(panel.get_by_role("table", name="Audit trail")).to_be_visible()
    await assert_accessible(page)

    await panel.get_by_label(re.compile(r"^Resolution")).fill(
        "Phone number removed from the newsletter list."
    )
    await panel.get_by_role("button", name="Resolve correction").click()
    await expect(panel.get_by_text("This request is closed; nothing more can be done.")).to_be_visible()
    await expect(row).to_contain_text("Completed")
    await assert_badges_whole(page)
