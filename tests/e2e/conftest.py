"""Browser tests: Debian's Chromium, driven by Playwright, against the real server and the built SPA.

They skip with a reason when Chromium or the SPA build is missing; REQUIRE_E2E=1 (set by .ci/run)
turns that skip into a failure. No browser is ever downloaded.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pyotp
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from pydantic import SecretStr

from tests.billing.fake_stripe import SECRET_KEY as STRIPE_SECRET_KEY
from tests.billing.fake_stripe import FakeStripe
from tests.conftest import free_port
from tests.integrations.fakes import FakeProviders
from tests.webhooks.inbound.signing import STRIPE_SECRET as STRIPE_WEBHOOK_SECRET

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("OPMAESTRO_E2E_CHROMIUM", "/usr/bin/chromium"))
SPA_DIR = ROOT / "frontend" / "dist"
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
BIN = Path(sys.executable).parent
# How long one step (an action, or an expect() that waits for the page) may take. It guards
# against a hang, not a slow machine: a step returns as soon as it can, and a loaded two-core
# machine (Argon2 hashing, a cold server) must not fail a test that would pass given the time.
STEP_TIMEOUT_MS = 30_000
SERVER_START_SECONDS = 90

expect.set_options(timeout=STEP_TIMEOUT_MS)


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"Chromium is not at {CHROMIUM} (apt-get install chromium)"
    if not (SPA_DIR / "index.html").exists():
        return "the SPA is not built (make spa)"
    if not AXE.exists():
        return "axe-core is not installed (cd frontend && npm ci)"
    return None


@pytest.fixture(scope="session", autouse=True)
def _require_browser() -> None:
    if reason := _missing():
        if os.environ.get("REQUIRE_E2E") == "1":
            pytest.fail(f"REQUIRE_E2E=1 but {reason}", pytrace=False)
        print(f"\nskipping browser tests: {reason}")
        pytest.skip(reason)


# Chosen before the live server starts: its CORS list names the marketing site's origin.
MARKETING_PORT = free_port()
MARKETING_ORIGIN = f"http://127.0.0.1:{MARKETING_PORT}"


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    # Fake Google, Gusto and Stripe the server connects to (tests/integrations/fakes.py).
    providers: FakeProviders
    # The Stripe API the server talks to: the in-process fake (tests/billing/fake_stripe.py).
    stripe: FakeStripe

    def cli(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [BIN / "opmaestro", *args], env=self.env, input=stdin, capture_output=True, text=True, check=True
        )
        return result.stdout

    def outbox(self, to: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(self.cli("outbox", "list", "--to", to, "--json"))
        return rows

    def register(self, email: str, password: str, name: str = "Pat Member") -> None:
        """A member registered through the API (not yet verified)."""
        versions = {
            kind: httpx.get(f"{self.url}/api/v1/policies/{kind}").json()["version"]
            for kind in ("terms", "privacy", "us_transfer_notice")
        }
        response = httpx.post(
            f"{self.url}/api/v1/auth/register",
            json={
                "name": name,
                "email": email,
                "password": password,
                "country": "US",
                "confirms_age_18_or_over": True,
                "accepted_terms_version": versions["terms"],
                "accepted_privacy_version": versions["privacy"],
                "acknowledged_us_transfer_notice_version": versions["us_transfer_notice"],
            },
        )
        assert response.status_code == 202, response.text

    def create_admin(self, email: str, password: str) -> None:
        self.env["OPMAESTRO_ADMIN_PASSWORD"] = password
        try:
            self.cli("create-admin", "--email", email, "--name", "Ada Admin")
        finally:
            del self.env["OPMAESTRO_ADMIN_PASSWORD"]

    def verify(self, email: str) -> None:
        """Follow the verification mail's token through the API."""
        token = self.mail_link(email, "confirm your email").split("token=", 1)[1]
        response = httpx.post(f"{self.url}/api/v1/auth/verify-email", json={"token": token})
        assert response.status_code == 200, response.text

    def staff_client(self, email: str, password: str) -> httpx.Client:
        """An HTTP client signed in as a new administrator who has just turned on two-factor."""
        self.create_admin(email, password)
        client = httpx.Client(base_url=self.url)
        signed_in = client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert signed_in.status_code == 200, signed_in.text
        client.headers["X-CSRF-Token"] = signed_in.json()["csrf_token"]
        secret = client.post("/api/v1/me/mfa/totp").json()["secret"]
        confirmed = client.post("/api/v1/me/mfa/totp/confirm", json={"code": pyotp.TOTP(secret).now()})
        assert confirmed.status_code == 200, confirmed.text
        return client

    def mail_link(self, to: str, subject_part: str, contains: str = "") -> str:
        """The first link (containing `contains`) in the newest mail to `to` whose subject contains
        `subject_part`."""
        for row in self.outbox(to):
            if subject_part.lower() in row["subject"].lower():
                message = json.loads(self.cli("outbox", "show", row["id"], "--json"))
                found = [link for link in re.findall(r"https?://\S+", message["text"]) if contains in link]
                assert found, message["text"]
                return found[0]
        raise AssertionError(f"no mail to {to} about {subject_part!r}: {self.outbox(to)}")


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    """`opmaestro serve` on a free port with a fresh SQLite database and the built SPA."""
    providers = FakeProviders()
    providers.start(free_port())
    stripe = FakeStripe().start()
    provider_env = {
        f"OPMAESTRO_{name.upper()}": value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        for name, value in providers.settings_overrides().items()
    }
    with tempfile.TemporaryDirectory(prefix="opmaestro-e2e-") as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = (
            provider_env
            | {
                key: value
                for key, value in os.environ.items()
                if not key.startswith("OPMAESTRO_") or key == "OPMAESTRO_E2E_CHROMIUM"
            }
            | {
                "OPMAESTRO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/e2e.db",
                "OPMAESTRO_PUBLIC_BASE_URL": url,
                "OPMAESTRO_SPA_DIR": str(SPA_DIR),
                "OPMAESTRO_LOG_LEVEL": "WARNING",
                # A marketing page on another origin of the same site embeds banner.js.
                "OPMAESTRO_BANNER_ORIGINS": MARKETING_ORIGIN,
                # Every browser context is a new device choosing from 127.0.0.1.
                "OPMAESTRO_COOKIE_CONSENTS_PER_IP": "100000",
                # An inventory change reaches the next page load (by default, within a second).
                "OPMAESTRO_COOKIE_BANNER_RECHECK_SECONDS": "0",
                # Billing talks to the fake Stripe API; its events are signed with the test secret.
                "OPMAESTRO_STRIPE_SECRET_KEY": STRIPE_SECRET_KEY,
                "OPMAESTRO_STRIPE_API_BASE": stripe.base_url,
                "OPMAESTRO_STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
            }
        )
        subprocess.run([BIN / "opmaestro", "migrate"], env=env, check=True, capture_output=True)
        log = Path(tmp) / "server.log"
        with log.open("wb") as sink:
            server = subprocess.Popen(
                [BIN / "opmaestro", "serve", "--port", str(port)], env=env, stdout=sink, stderr=sink
            )
            try:
                deadline = time.monotonic() + SERVER_START_SECONDS
                while True:
                    try:
                        if httpx.get(f"{url}/api/v1/health/ready", timeout=1).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"the server did not start:\n{log.read_text()}")
                    time.sleep(0.2)
                yield LiveServer(url, env, providers, stripe)
            finally:
                stripe.stop()
                server.terminate()
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
                providers.stop()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
        )
        yield launched
        await launched.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def banner_choice_cookie(
    live_server: LiveServer, categories: tuple[str, ...] = ("necessary",)
) -> dict[str, Any]:
    """The banner library's own cookie for a choice already made at the current revision.

    Most browser tests are about something else: a visitor who chose before keeps the banner
    out of their way. The tests of the banner itself open contexts without it.
    """
    revision = httpx.get(f"{live_server.url}/api/v1/cookie-banner").json()["revision"]
    now = datetime.now(UTC)
    state = {
        "categories": list(categories),
        "revision": revision,
        "data": None,
        "consentTimestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "consentId": str(uuid.uuid4()),
        "services": {category: [] for category in categories},
        "languageCode": "en",
        "lastConsentTimestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "expirationTime": int((now + timedelta(days=30)).timestamp() * 1000),
    }
    return {
        "name": "cc_cookie",
        "value": quote(json.dumps(state, separators=(",", ":"))),
        "url": live_server.url,
        "sameSite": "Lax",
    }


ContextFactory = Callable[..., Awaitable[BrowserContext]]


@pytest.fixture
async def new_context(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> AsyncIterator[ContextFactory]:
    """Opens browser contexts (options as for Browser.new_context); a failed test leaves a
    screenshot of each context's pages in test-artifacts/, and every context is closed after."""
    opened: list[BrowserContext] = []

    async def open_context(*, banner_choice: bool = True, **options: Any) -> BrowserContext:
        context = await browser.new_context(
            **{"base_url": live_server.url, "viewport": {"width": 1280, "height": 900}} | options
        )
        context.set_default_timeout(STEP_TIMEOUT_MS)
        if banner_choice:
            await context.add_cookies([banner_choice_cookie(live_server)])  # type: ignore[list-item]
        opened.append(context)
        return context

    yield open_context
    report = getattr(request.node, "report_call", None)
    failed = report is not None and report.failed
    for number, context in enumerate(opened):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
            for index, each in enumerate(context.pages):
                path = ARTIFACTS / f"{name}-{number}-{index}.png"
                await each.screenshot(path=str(path), full_page=True)
                print(f"screenshot: {path}")
        await context.close()


@pytest.fixture
async def page(new_context: ContextFactory) -> Page:
    """A fresh browser context per test, for a visitor who has already answered the cookie banner."""
    context = await new_context()
    return await context.new_page()


SERIOUS = {"serious", "critical"}
SETTLED = """() => document.getAnimations().every(
    (a) => a.playState !== "running" || a.effect.getTiming().iterations === Infinity)"""


async def assert_accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the current page."""
    # Colours measured mid-transition (a notification fading in) are not what users read.
    # (A polling evaluate(), since wait_for_function() needs eval, which the CSP rightly forbids.)
    for _ in range(50):
        if await page.evaluate(SETTLED):
            break
        await page.wait_for_timeout(100)
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        # evaluate() runs outside the page's CSP, which (rightly) forbids injected inline scripts.
        await page.evaluate(AXE.read_text())
    results = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(
            f"{node['target'][0]} {node['html'][:200]} {[check.get('data') for check in node['any']][:1]}"
            for node in violation["nodes"][:3]
        )
        for violation in results["violations"]
        if violation["impact"] in SERIOUS
    ]
    assert not serious, f"accessibility violations on {page.url}:\n" + "\n".join(serious)


MARKETING_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>OpMaestro: the CRM for operations teams</title>
<script src="{app}/banner.js" data-api="{app}/api/v1" defer></script>
</head>
<body>
<header><a href="#" data-opm-cookie-settings>Cookie settings</a></header>
<main><h1>Run operations from one place</h1><p>Accounts, contacts and deals, for teams of any size.</p></main>
<script type="text/plain" data-category="analytics" src="/analytics.js?visit={visit}"></script>
</body>
</html>
"""


@dataclass
class MarketingSite:
    """A plain HTML page on another origin that embeds the standalone banner."""

    url: str
    # The visits whose analytics-tagged script the browser ran.
    analytics_ran: list[str]

    def page_url(self, visit: str) -> str:
        return f"{self.url}/?visit={visit}"


@pytest.fixture(scope="session")
def marketing_site(live_server: LiveServer) -> Iterator[MarketingSite]:
    site = MarketingSite(MARKETING_ORIGIN, [])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            visit = parse_qs(url.query).get("visit", [""])[0]
            if url.path == "/":
                body, kind = MARKETING_PAGE.format(app=live_server.url, visit=visit).encode(), "text/html"
            elif url.path == "/analytics.js":
                site.analytics_ran.append(visit)
                body, kind = b"window.analyticsRan = true;", "text/javascript"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", MARKETING_PORT), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
