"""Settings > Integrations: connect Google through the (fake) provider's consent redirect, see the
import arrive, then disconnect with a confirmation."""

import re

from playwright.async_api import Page, expect

from tests.e2e.conftest import LiveServer, assert_accessible

PASSWORD = "integrating passphrase 1"


async def test_connect_see_the_import_and_disconnect(page: Page, live_server: LiveServer):
    email = "connector@example.com"
    live_server.register(email, PASSWORD)
    await page.goto("/sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label(re.compile(r"^Password\b")).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/profile$"))

    await page.get_by_role("link", name="Integrations").click()
    await expect(page.get_by_role("heading", name="Integrations", level=1)).to_be_visible()
    google = page.get_by_role("region", name="Google")
    await expect(google.get_by_text("Not connected")).to_be_visible()
    await assert_accessible(page)

    # The browser goes to the provider, which redirects back through our callback.
    await google.get_by_role("button", name="Connect Google").click()
    await expect(page).to_have_url(re.compile(r"/settings/integrations\?provider=google&connected=1$"))
    await expect(page.get_by_text("Google is connected")).to_be_visible()
    await expect(google.get_by_text("Connected", exact=True)).to_be_visible()
    await expect(google.get_by_text(re.compile(r"Imported · last import .* · 4 items"))).to_be_visible()
    await expect(google.get_by_text(re.compile(r"ann\.lee@gmail\.example"))).to_be_visible()
    await assert_accessible(page)

    await google.get_by_role("button", name="Disconnect Google").click()
    dialog = page.get_by_role("dialog", name="Disconnect Google?")
    await dialog.get_by_role("button", name="Disconnect Google").click()
    await expect(page.get_by_text("Google is disconnected and its data deleted.")).to_be_visible()
    await expect(google.get_by_role("button", name="Connect Google")).to_be_visible()
    assert live_server.providers.state.revoked_tokens
