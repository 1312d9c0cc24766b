"""The cookie banner in Chromium: in the app and as banner.js on a marketing page of another origin.

Each test opens contexts with no earlier choice (`banner_choice=False`): a first visit.
"""

import re
from typing import Any

from playwright.async_api import Locator, Page, Response, expect

from tests.e2e.conftest import STEP_TIMEOUT_MS, ContextFactory, LiveServer, MarketingSite, assert_accessible

PASSWORD = "cookie choosing passphrase 1"
BANNER_TITLE = "Cookies on OpMaestro"
PREFERENCES_TITLE = "Manage choices"
GPC_NOTICE = "Your browser sent a Global Privacy Control signal"
# navigator.globalPrivacyControl, as a browser with the setting on exposes it.
GPC_SCRIPT = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"


def banner(page: Page) -> Locator:
    return page.get_by_role("dialog", name=BANNER_TITLE)


def is_choice_post(response: Response) -> bool:
    return response.url.endswith("/api/v1/cookie-consents") and response.request.method == "POST"


async def choose(page: Page, button: str) -> dict[str, Any]:
    """Click a banner button and return the recorded choice the API answered with."""
    async with page.expect_response(is_choice_post) as posted:
        await banner(page).get_by_role("button", name=button).click()
    response = await posted.value
    assert response.status == 201, await response.text()
    await expect(banner(page)).to_be_hidden()
    recorded: dict[str, Any] = await response.json()
    return recorded


async def reload_and_wait_for_the_banner_check(page: Page) -> None:
    """Reload, and return once the banner has read its configuration and the recorded choice."""
    async with page.expect_response(lambda r: "/api/v1/cookie-consents/current" in r.url):
        await page.reload()


async def until_true(page: Page, expression: str) -> None:
    """Wait for a page expression to hold (polled: the app's CSP rightly forbids wait_for_function)."""
    for _ in range(STEP_TIMEOUT_MS // 100):
        if await page.evaluate(expression):
            return
        await page.wait_for_timeout(100)
    raise AssertionError(f"never true on {page.url}: {expression}")


async def current_choice(page: Page) -> dict[str, Any]:
    """What the API holds for this browser (or its signed-in account)."""
    response = await page.request.get("/api/v1/cookie-consents/current")
    assert response.status == 200, await response.text()
    found: dict[str, Any] = await response.json()
    return found


async def test_a_first_visit_shows_an_accessible_banner_and_preferences(
    new_context: ContextFactory,
):
    page = await (await new_context(banner_choice=False)).new_page()
    await page.goto("/sign-in")
    await expect(banner(page)).to_be_visible()
    await expect(banner(page).get_by_role("button", name="Accept all")).to_be_visible()
    await expect(banner(page).get_by_role("button", name="Reject all")).to_be_visible()
    await assert_accessible(page)

    await banner(page).get_by_role("button", name=PREFERENCES_TITLE).click()
    preferences = page.get_by_role("dialog", name=PREFERENCES_TITLE)
    await expect(preferences).to_be_visible()
    await expect(preferences.get_by_text("opm_session").first).to_be_attached()
    await assert_accessible(page)


async def test_reject_all_on_a_marketing_page_never_runs_its_analytics(
    new_context: ContextFactory, marketing_site: MarketingSite
):
    page = await (await new_context(banner_choice=False)).new_page()
    await page.goto(marketing_site.page_url("rejected"))
    await expect(banner(page)).to_be_visible()
    # banner.js brought its stylesheet from the app's origin.
    assert await page.evaluate(
        "[...document.styleSheets].some((sheet) => (sheet.href || '').endsWith('/banner.css'))"
    )
    await assert_accessible(page)

    recorded = await choose(page, "Reject all")
    assert recorded["categories"] == {
        "necessary": True,
        "preferences": False,
        "analytics": False,
        "marketing": False,
    }
    assert recorded["method"] == "banner"

    await reload_and_wait_for_the_banner_check(page)
    await expect(banner(page)).to_be_hidden()
    assert await page.evaluate("window.analyticsRan === undefined")
    assert "rejected" not in marketing_site.analytics_ran
    # The choice was recorded against this browser's device, across origins.
    assert (await current_choice(page))["categories"]["analytics"] is False


async def test_accept_all_on_a_marketing_page_runs_its_analytics(
    new_context: ContextFactory, marketing_site: MarketingSite
):
    page = await (await new_context(banner_choice=False)).new_page()
    await page.goto(marketing_site.page_url("accepted"))
    await expect(banner(page)).to_be_visible()
    assert await page.evaluate("window.analyticsRan === undefined")

    recorded = await choose(page, "Accept all")
    assert recorded["categories"]["analytics"] is True
    await until_true(page, "window.analyticsRan === true")
    assert marketing_site.analytics_ran.count("accepted") == 1

    # "Cookie settings" on the marketing page reopens the preferences.
    await page.get_by_role("link", name="Cookie settings").click()
    await expect(page.get_by_role("dialog", name=PREFERENCES_TITLE)).to_be_visible()


async def test_global_privacy_control_keeps_marketing_off_and_says_so(new_context: ContextFactory):
    context = await new_context(banner_choice=False, extra_http_headers={"Sec-GPC": "1"})
    await context.add_init_script(GPC_SCRIPT)
    page = await context.new_page()
    await page.goto("/sign-in")
    await expect(banner(page)).to_be_visible()
    await expect(banner(page).get_by_text(GPC_NOTICE)).to_be_visible()
    await assert_accessible(page)

    recorded = await choose(page, "Accept all")
    assert recorded["categories"]["marketing"] is False
    assert recorded["categories"]["analytics"] is True
    assert recorded["gpc_honored"] is True
    marketing = [event for event in recorded["events"] if event["purpose_key"] == "marketing_cookies"]
    assert [(event["action"], event["method"]) for event in marketing] == [("denied", "gpc")]


async def test_a_new_revision_of_the_inventory_asks_again(
    new_context: ContextFactory, live_server: LiveServer
):
    page = await (await new_context(banner_choice=False)).new_page()
    await page.goto("/sign-in")
    await choose(page, "Reject all")
    await reload_and_wait_for_the_banner_check(page)
    await expect(banner(page)).to_be_hidden()

    staff = live_server.staff_client("cookie-officer@example.com", "cookie officer passphrase 1")
    try:
        added = staff.post(
            "/api/v1/admin/cookies",
            json={
                "category": "analytics",
                "name": "opm_trial_metric",
                "pattern": False,
                "provider": "OpMaestro",
                "description": "Counts which trial features are opened.",
                "duration": "30 days",
                "party": "first",
            },
        )
        assert added.status_code == 201, added.text
    finally:
        staff.close()

    await reload_and_wait_for_the_banner_check(page)
    await expect(banner(page)).to_be_visible()
    await expect(banner(page).get_by_text(re.compile("changed since you last chose"))).to_be_visible()


async def sign_in(page: Page, email: str) -> None:
    await page.get_by_label("Email").fill(email)
    await page.get_by_label(re.compile(r"^Password\b")).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/profile$"))


async def test_signing_in_joins_the_device_choice_to_the_account_and_other_devices_follow(
    new_context: ContextFactory, live_server: LiveServer
):
    email = "cookie-joiner@example.com"
    live_server.register(email, PASSWORD)
    live_server.verify(email)

    laptop = await (await new_context(banner_choice=False)).new_page()
    await laptop.goto("/sign-in")
    await choose(laptop, "Accept all")
    await sign_in(laptop, email)
    consents = await (await laptop.request.get("/api/v1/me/consents")).json()
    analytics = next(entry for entry in consents if entry["key"] == "analytics")
    assert (analytics["granted"], analytics["method"]) == (True, "device_link")

    # Another browser that never answered the banner: signing in brings the account's choice.
    phone = await (await new_context(banner_choice=False)).new_page()
    await phone.goto("/sign-in")
    await expect(banner(phone)).to_be_visible()
    await sign_in(phone, email)
    await expect(banner(phone)).to_be_hidden()
    assert (await current_choice(phone))["categories"]["analytics"] is True
    await until_true(phone, "document.cookie.includes('cc_cookie') && document.cookie.includes('analytics')")
