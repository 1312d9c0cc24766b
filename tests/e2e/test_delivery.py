"""What a first visit costs on the wire: the sign-in page, fresh browser, bytes counted by Chromium.

A size, not a timing: the figure is the sum of `encodedDataLength` (headers and body as they
crossed the network, so compressed bodies count compressed) of every response the page loaded.
"""

from typing import Any

from playwright.async_api import expect

from tests.e2e.conftest import ContextFactory

FIRST_LOAD_BUDGET = 200 * 1024


async def test_the_sign_in_page_first_load_stays_within_budget(new_context: ContextFactory):
    # A first visit: no earlier cookie choice, so the banner is part of what loads.
    page = await (await new_context(banner_choice=False)).new_page()
    cdp = await page.context.new_cdp_session(page)
    urls: dict[str, str] = {}
    encodings: dict[str, str] = {}
    transferred: dict[str, int] = {}
    failed: list[str] = []

    def on_response(event: dict[str, Any]) -> None:
        urls[event["requestId"]] = event["response"]["url"]
        headers = {name.lower(): value for name, value in event["response"]["headers"].items()}
        encodings[event["requestId"]] = headers.get("content-encoding", "identity")

    def on_finished(event: dict[str, Any]) -> None:
        transferred[event["requestId"]] = int(event["encodedDataLength"])

    def on_failed(event: dict[str, Any]) -> None:
        failed.append(f"{event['requestId']}: {event.get('errorText')}")

    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.loadingFinished", on_finished)
    cdp.on("Network.loadingFailed", on_failed)
    # No disk or memory cache: a first visit, every byte fetched.
    await cdp.send("Network.enable")
    await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})

    # The page asks who is signed in; its answer is part of the first load.
    async with page.expect_response(lambda response: response.url.endswith("/api/v1/me")) as me:
        await page.goto("/sign-in", wait_until="networkidle")
    await (await me.value).finished()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await page.wait_for_load_state("networkidle")
    for _ in range(50):  # the CDP events trail Playwright's own by a moment
        if set(urls) <= set(transferred) and any(url.endswith("/api/v1/me") for url in urls.values()):
            break
        await page.wait_for_timeout(100)

    total = sum(transferred.values())
    rows = sorted(transferred.items(), key=lambda item: -item[1])
    print(f"\nsign-in first load: {total} bytes ({total / 1024:.1f} KB) in {len(rows)} responses")
    for request_id, size in rows:
        coding, url = encodings.get(request_id, "?"), urls.get(request_id, request_id)
        print(f"  {size / 1024:8.1f} KB  {coding:<8} {url}")
    assert not failed, failed
    assert set(transferred) == set(urls), "every response finished loading"
    scripts = [rid for rid, url in urls.items() if url.endswith(".js")]
    assert scripts, urls
    # The build keeps a compressed copy only where it is smaller: a few hundred bytes may go as is.
    large = [rid for rid in scripts if transferred[rid] > 1024]
    assert all(encodings[rid] in ("br", "gzip") for rid in large), {urls[r]: encodings[r] for r in large}
    assert total <= FIRST_LOAD_BUDGET, f"{total} bytes over the {FIRST_LOAD_BUDGET} byte budget"
