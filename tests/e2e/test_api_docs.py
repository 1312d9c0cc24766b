"""The interactive API docs work with nothing loaded from another origin and nothing refused by the CSP."""

from urllib.parse import urlsplit

from playwright.async_api import ConsoleMessage, Page, Request, expect

from tests.e2e.conftest import LiveServer


async def test_docs_render_the_api_from_this_origin_alone(page: Page, live_server: LiveServer):
    requested: list[str] = []
    problems: list[str] = []

    def on_request(request: Request) -> None:
        requested.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("request", on_request)
    page.on("console", on_console)
    await page.goto("/docs")

    await expect(page.get_by_role("heading", name="OpMaestro API")).to_be_visible()
    health = page.locator(".opblock", has_text="/api/v1/health").first
    await expect(health).to_be_visible()
    await health.locator(".opblock-summary").click()
    await expect(health.get_by_role("button", name="Try it out")).to_be_visible()

    own = urlsplit(live_server.url).netloc
    assert requested and {urlsplit(url).netloc for url in requested} == {own}, requested
    assert not problems, problems
