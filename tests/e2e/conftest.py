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
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import free_port

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


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]

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
    with tempfile.TemporaryDirectory(prefix="opmaestro-e2e-") as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("OPMAESTRO_") or key == "OPMAESTRO_E2E_CHROMIUM"
        } | {
            "OPMAESTRO_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/e2e.db",
            "OPMAESTRO_PUBLIC_BASE_URL": url,
            "OPMAESTRO_SPA_DIR": str(SPA_DIR),
            "OPMAESTRO_LOG_LEVEL": "WARNING",
        }
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
                yield LiveServer(url, env)
            finally:
                server.terminate()
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()


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


@pytest.fixture
async def page(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    """A fresh browser context per test; a screenshot lands in test-artifacts/ when the test fails."""
    context = await browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    opened = await context.new_page()
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        await opened.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        print(f"screenshot: {ARTIFACTS / f'{name}.png'}")
    await context.close()


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
