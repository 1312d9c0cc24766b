"""Outbound webhook benchmark: how fast queued deliveries reach a local receiver.

Builds a fresh SQLite database (or uses --database-url), registers one endpoint pointing at a
receiver in its own process (a threaded HTTP server on loopback that checks every signature
with the `standardwebhooks` library and answers 204), queues N `consent.changed` deliveries
through the real event path, then drains them with C concurrent job runners, as C embedded or
Celery workers would. Prints deliveries/s, p50/p99 of the job time per delivery (claim, sign,
address check, POST, record) and of the HTTP round trip alone, how many the receiver verified,
and this process's peak RSS. Bounded counts; absolute figures move with the machine.
"""

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

import opmaestro.tasks  # noqa: F401 - registers every job handler
from opmaestro.accounts.models import User
from opmaestro.core import jobs, migrations
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.db import create_engine, create_sessionmaker
from opmaestro.webhooks.outbound import events, signing
from opmaestro.webhooks.outbound.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEndpoint

ROOT = Path(__file__).resolve().parents[1]
RECEIVER = ROOT / "bench" / "webhook_receiver.py"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


async def seed(sessionmaker: Any, settings: Settings, url: str, secret: str, deliveries: int) -> None:
    now = utcnow()
    async with sessionmaker() as session:
        user = User(
            email="hooked@example.com",
            name="Bench Person",
            country="US",
            age_attested_at=now,
            password_hash="!bench",
            password_changed_at=now,
        )
        session.add(user)
        await session.flush()
        session.add(
            WebhookEndpoint(
                user_id=user.id,
                url=url,
                description="bench receiver",
                event_types=[EventType.CONSENT_CHANGED.value],
                enabled=True,
                secret_encrypted=signing.encrypt(settings, secret),
                consecutive_failures=0,
            )
        )
        await session.flush()
        for start in range(0, deliveries, 500):
            batch = [
                {"purpose": "marketing_email", "action": "granted", "method": "api", "n": index}
                for index in range(start, min(deliveries, start + 500))
            ]
            await events.emit(session, EventType.CONSENT_CHANGED, user.id, batch)
        await session.commit()


async def drain(runner: jobs.JobRunner, timings: list[float]) -> None:
    while True:
        started = time.perf_counter()
        if not await runner.run_next(jobs.WEBHOOKS_LANE):
            return
        timings.append(time.perf_counter() - started)


async def bench(
    database_url: str, url: str, secret: str, *, deliveries: int, concurrency: int
) -> dict[str, Any]:
    await asyncio.to_thread(migrations.upgrade, database_url)
    settings = Settings(
        database_url=database_url,
        webhooks_allow_private_addresses=True,
        webhook_retry_base_seconds=0.0,
        job_lease_seconds=3600,
    )
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    started = time.perf_counter()
    await seed(sessionmaker, settings, url, secret, deliveries)
    queued_seconds = time.perf_counter() - started
    timings: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(drain(jobs.JobRunner(sessionmaker, settings), timings) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    async with sessionmaker() as session:
        succeeded = await session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.status == DeliveryStatus.SUCCEEDED)
        )
        http_ms = [
            float(value)
            for value in await session.scalars(
                select(WebhookDelivery.last_duration_ms).where(WebhookDelivery.last_duration_ms.is_not(None))
            )
        ]
    await engine.dispose()
    return {
        "deliveries": deliveries,
        "concurrency": concurrency,
        "queue_seconds": round(queued_seconds, 3),
        "drain_seconds": round(elapsed, 3),
        "deliveries_per_s": round(deliveries / elapsed, 1),
        "job_p50_ms": round(percentile(timings, 0.5) * 1000, 2),
        "job_p99_ms": round(percentile(timings, 0.99) * 1000, 2),
        "http_p50_ms": percentile(http_ms, 0.5),
        "http_p99_ms": percentile(http_ms, 0.99),
        "http_mean_ms": round(statistics.fmean(http_ms), 2) if http_ms else None,
        "succeeded": succeeded,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--database-url", help="bench against this database (default: a fresh SQLite file)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opmaestro-bench-hooks-") as directory:
        database_url = arguments.database_url or f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        os.environ["OPMAESTRO_DATABASE_URL"] = database_url
        secret = signing.new_secret()
        receiver = subprocess.Popen(
            [sys.executable, str(RECEIVER), secret], stdout=subprocess.PIPE, text=True
        )
        try:
            port = int(receiver.stdout.readline()) if receiver.stdout else 0
            result = asyncio.run(
                bench(
                    database_url,
                    f"http://127.0.0.1:{port}/hooks",
                    secret,
                    deliveries=arguments.deliveries,
                    concurrency=arguments.concurrency,
                )
            )
            verified, refused = httpx.get(f"http://127.0.0.1:{port}/").text.split()
            result |= {"receiver_verified": int(verified), "receiver_refused": int(refused)}
        finally:
            receiver.terminate()
            receiver.wait(timeout=10)
    if arguments.json:
        print(json.dumps(result, indent=2))
        return
    print(f"outbound webhooks: {result['deliveries']} deliveries, {result['concurrency']} runners")
    for key, value in result.items():
        print(f"  {key:18} {value}")


if __name__ == "__main__":
    main()
