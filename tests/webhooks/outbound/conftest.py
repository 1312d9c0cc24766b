"""Fixtures of the outbound webhook tests: an app that may send to loopback, a real receiver that
checks every delivery with the `standardwebhooks` library, signed-in people and an OAuth client."""

import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from opmaestro.accounts.models import Role, User
from opmaestro.core import jobs
from opmaestro.core.config import Settings
from opmaestro.main import create_app
from opmaestro.webhooks.outbound.delivery import DELIVER_JOB
from tests.factories import create_user, sign_in

ME = "/api/v1/me/webhook-endpoints"
CLIENT_ENDPOINTS = "/api/v1/webhook-endpoints"
ALL_EVENTS = ["consent.changed", "data_request.completed", "account.closed", "account.deleted"]
# What a person's own endpoints can receive (not account.deleted: they are erased with the person).
PERSON_EVENTS = ["consent.changed", "data_request.completed", "account.closed"]
# What a client needs to receive every event type besides `webhooks:manage`.
EVENT_SCOPES = ["consents:read", "admin:users:read", "data_requests:read"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    """What a third party runs: records each POST and answers with the next scripted status."""

    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    extra_headers: dict[str, str] = field(default_factory=dict)

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every delivery's payload, each checked with the library a receiver would use."""
        return [Webhook(secret).verify(item.body, item.headers) for item in self.received]

    def verifies(self, secret: str, item: Received) -> bool:
        try:
            Webhook(secret).verify(item.body, item.headers)
        except WebhookVerificationError:
            return False
        return True


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on loopback (a thread), the receiving end of every delivery."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode()
            state.received.append(Received(self.path, dict(self.headers.items()), body))
            status = state.statuses.pop(0) if state.statuses else 204
            self.send_response(status)
            for name, value in state.extra_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/opmaestro?via=test"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    """Deliveries may go to loopback (the receiver), and a retry is due at once."""
    return settings.model_copy(
        update={
            "webhooks_allow_private_addresses": True,
            "webhook_retry_base_seconds": 0.0,
            "webhook_max_attempts": 5,
            "webhook_disable_after_failures": 50,
        }
    )


@pytest.fixture
def app(hook_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]):  # type: ignore[no-untyped-def]
    return create_app(hook_settings, sessionmaker=sessionmaker, job_backend=jobs.ExternalWorker())


SignedIn = tuple[httpx.AsyncClient, User]


@pytest.fixture
def signed_in(
    session: AsyncSession, make_client: Callable[[], httpx.AsyncClient]
) -> Callable[..., Awaitable[SignedIn]]:
    async def make(email: str, role: Role = Role.MEMBER) -> SignedIn:
        secret = pyotp.random_base32() if role != Role.MEMBER else None
        name = email.split("@")[0].title() + " Tester"
        user = await create_user(session, email, role=role, mfa_secret=secret, name=name)
        browser = make_client()
        await sign_in(browser, email, otp_secret=secret)
        return browser, user

    return make


@pytest.fixture
async def ann(signed_in: Callable[..., Awaitable[SignedIn]]) -> SignedIn:
    return await signed_in("ann@example.com")


@pytest.fixture
async def bob(signed_in: Callable[..., Awaitable[SignedIn]]) -> SignedIn:
    return await signed_in("bob@example.com")


@pytest.fixture
async def admin(signed_in: Callable[..., Awaitable[SignedIn]]) -> SignedIn:
    return await signed_in("admin@example.com", role=Role.ADMIN)


async def client_token(admin: httpx.AsyncClient, api: httpx.AsyncClient, scopes: list[str]) -> str:
    """Register an OAuth client as staff, then get its client-credentials token."""
    response = await admin.post("/api/v1/admin/oauth-clients", json={"name": "Acme CRM", "scopes": scopes})
    assert response.status_code == 201, response.text
    registered = response.json()
    token = await api.post(
        "/api/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": registered["client_id"],
            "client_secret": registered["client_secret"],
        },
    )
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])


@pytest.fixture
async def crm(admin: SignedIn, make_client: Callable[[], httpx.AsyncClient]) -> httpx.AsyncClient:
    """An OAuth client application holding `webhooks:manage` and the scopes of every event type."""
    api = make_client()
    token = await client_token(admin[0], api, ["webhooks:manage", *EVENT_SCOPES])
    api.headers["Authorization"] = f"Bearer {token}"
    return api


async def register(
    browser: httpx.AsyncClient, url: str, events: list[str] | None = None, path: str = ME
) -> dict[str, Any]:
    response = await browser.post(
        path, json={"url": url, "event_types": events or (PERSON_EVENTS if path == ME else ALL_EVENTS)}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


RunDeliveries = Callable[..., Awaitable[int]]


@pytest.fixture
def run_deliveries(hook_settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> RunDeliveries:
    """Run the due delivery jobs as a worker would, once each; returns how many ran."""

    async def run(settings: Settings | None = None, name: str = DELIVER_JOB) -> int:
        async with sessionmaker() as reader:
            queued = list(
                await reader.scalars(
                    select(jobs.Job.id)
                    .where(jobs.Job.name == name, jobs.Job.status == jobs.JobStatus.QUEUED)
                    .order_by(jobs.Job.created_at)
                )
            )
        runner = jobs.JobRunner(sessionmaker, settings or hook_settings)
        return sum([await runner.run_by_id(job_id) for job_id in queued])

    return run


def payload(item: Received) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(item.body)
    return document
