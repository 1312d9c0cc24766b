"""A receiver that takes its time: an attempt ends at its deadline and counts as failed, and
deliveries stuck on such receivers never hold the workers that every other job needs."""

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from opmaestro.core import jobs
from opmaestro.core.db import unit_of_work
from opmaestro.webhooks.outbound import events, signing
from opmaestro.webhooks.outbound.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint
from tests.factories import DEFAULT_MAX_ATTEMPTS, create_user
from tests.jobs import handlers  # noqa: F401 - registers tests.flaky, a default-lane job
from tests.webhooks.outbound.conftest import ME, register

# About 250 bytes, one every half second: the answer would take two minutes to arrive in full,
# and no single read ever waits long enough for httpx's own timeout to fire.
DRIP_ANSWER = b"HTTP/1.1 204 No Content\r\nX-Padding: " + b"x" * 200 + b"\r\nContent-Length: 0\r\n\r\n"
DRIP_INTERVAL = 0.5


@dataclass
class Drip:
    url: str
    started: int = 0
    finished: int = 0
    stop: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def drip() -> Iterator[Drip]:
    """A receiver that reads the POST, then sends its answer one byte at a time."""
    state = Drip(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.started += 1
            for byte in DRIP_ANSWER:
                if state.stop.wait(DRIP_INTERVAL):
                    return
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    return
            state.finished += 1

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    state.stop.set()
    server.shutdown()
    server.server_close()


async def test_an_attempt_ends_at_the_deadline_and_is_recorded_failed(
    ann, drip, run_deliveries, hook_settings, session
):
    browser, _ = ann
    created = await register(browser, drip.url, ["consent.changed"])
    await browser.put("/api/v1/me/consents/marketing_email", json={"granted": True})
    assert await run_deliveries(hook_settings.model_copy(update={"webhook_timeout_seconds": 2.0})) == 1
    assert drip.started == 1 and drip.finished == 0, "the attempt must end while the answer still drips"
    [entry] = (await browser.get(f"{ME}/{created['id']}/deliveries")).json()["items"]
    assert entry["status"] == "pending" and entry["attempts"] == 1
    assert entry["last_status_code"] is None
    assert entry["last_error"] == "timed out: no complete answer within 2 s"
    retry = await session.scalar(
        select(jobs.Job).where(jobs.Job.name == "webhooks.deliver", jobs.Job.status == jobs.JobStatus.QUEUED)
    )
    assert retry is not None, "an attempt over time is retried like any other failure"


async def wait_until(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + 60
    while not await predicate():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_stuck_deliveries_leave_other_jobs_their_workers(committed_sessionmaker, hook_settings, drip):
    settings = hook_settings.model_copy(update={"webhook_timeout_seconds": 60.0, "job_poll_seconds": 0.05})
    async with committed_sessionmaker() as session:
        user = await create_user(session, "slow@example.com")
        endpoint_ids = []
        for _ in range(2):
            endpoint = WebhookEndpoint(
                user_id=user.id,
                url=drip.url,
                event_types=["consent.changed"],
                enabled=True,
                secret_encrypted=signing.encrypt(settings, signing.new_secret()),
                consecutive_failures=0,
            )
            session.add(endpoint)
            await session.flush()
            endpoint_ids.append(endpoint.id)
        await session.commit()
    # As many webhook workers as the default lane has: without lanes, both would be taken.
    worker = jobs.EmbeddedWorker(
        jobs.JobRunner(committed_sessionmaker, settings),
        concurrency=2,
        lanes={jobs.WEBHOOKS_LANE: 2},
        run_scheduler=False,
    )
    await worker.start()
    try:
        async with unit_of_work(committed_sessionmaker, worker) as session:
            await events.emit(session, EventType.CONSENT_CHANGED, user.id, [{"purpose": "marketing_email"}])

        async def both_stuck() -> bool:
            return drip.started == 2

        await wait_until(both_stuck, "the two deliveries never reached the receiver")
        async with unit_of_work(committed_sessionmaker, worker) as session:
            job = await jobs.enqueue(
                session, "tests.flaky", {"failures": 0}, max_attempts=DEFAULT_MAX_ATTEMPTS
            )

        async def other_job_done() -> bool:
            async with committed_sessionmaker() as session:
                found = await session.get(jobs.Job, job.id)
                return found is not None and found.status == jobs.JobStatus.DONE

        await wait_until(other_job_done, "a default-lane job waited for the stuck deliveries")
        async with committed_sessionmaker() as session:
            in_flight = list(
                await session.scalars(
                    select(WebhookDelivery).where(WebhookDelivery.endpoint_id.in_(endpoint_ids))
                )
            )
        assert [(item.status, item.attempts) for item in in_flight] == [(DeliveryStatus.PENDING, 0)] * 2
        assert drip.finished == 0
    finally:
        drip.stop.set()
        await worker.stop()
