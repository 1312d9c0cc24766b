"""The export survives its worker being killed: `opmaestro worker` is killed with SIGKILL while it
writes a large export, and a new worker completes the export once the claim goes stale."""

import asyncio
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from uuid import uuid4

from sqlalchemy import delete, insert

from opmaestro.consent.models import ConsentEvent
from opmaestro.core.clock import utcnow
from opmaestro.core.config import PROJECT_ROOT
from opmaestro.core.db import table_of, unit_of_work
from opmaestro.dsar.models import DataRequest, RequestState
from tests.dsar.export_helpers import start_export
from tests.factories import create_personal_data, create_user

# Enough rows that the export is still running when its first progress is seen.
EVENTS = 200_000
OPMAESTRO = Path(sys.executable).parent / "opmaestro"


async def add_events(sessionmaker, user_id, count: int) -> None:
    table = table_of(ConsentEvent)
    now = utcnow()
    subject = f"user:{user_id}"
    async with sessionmaker() as session:
        for start in range(0, count, 20_000):
            rows = [
                {
                    "id": uuid4(),
                    "subject": subject,
                    "seq": 1000 + n,
                    "subject_user_id": user_id,
                    "device_id": None,
                    "purpose_key": "marketing_email",
                    "purpose_version": 1,
                    "action": "granted" if n % 2 else "withdrawn",
                    "method": "settings",
                    "ip_address": "203.0.113.0",
                    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/140.0",
                    "actor_kind": "subject",
                    "created_at": now,
                    "prev_hash": "0" * 64,
                    "hash": f"{user_id.hex}{n:032x}",
                }
                for n in range(start, min(start + 20_000, count))
            ]
            await session.execute(insert(table), rows)
        await session.commit()


def start_worker(database_url: str, export_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "OPMAESTRO_DATABASE_URL": database_url,
        "OPMAESTRO_EXPORT_DIR": str(export_dir),
        "OPMAESTRO_JOB_LEASE_SECONDS": "5",
        "OPMAESTRO_JOB_POLL_SECONDS": "0.1",
        "OPMAESTRO_SCHEDULER_TICK_SECONDS": "0.5",
        "OPMAESTRO_LOG_LEVEL": "WARNING",
    }
    env.pop("OPMAESTRO_JOB_BACKEND", None)
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(OPMAESTRO), "worker", "--concurrency", "1"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=output,
        )


async def wait_for(sessionmaker, request_id, worker, done, what: str, seconds: float = 300) -> DataRequest:
    deadline = time.monotonic() + seconds
    while True:
        async with sessionmaker() as session:
            request = await session.get(DataRequest, request_id)
        if done(request):
            return request
        assert worker.poll() is None, f"the worker exited while waiting until {what}"
        assert time.monotonic() < deadline, f"gave up waiting until {what}"
        await asyncio.sleep(0.02)


def stop(worker: subprocess.Popen[bytes], sig: int) -> None:
    if worker.poll() is None:
        worker.send_signal(sig)
    worker.wait(timeout=30)


async def test_killed_worker_mid_export_and_the_export_completes_after_restart(
    committed_sessionmaker, database_url, tmp_dir
):
    export_dir = tmp_dir / "exports"
    log = tmp_dir / "worker.log"
    async with unit_of_work(committed_sessionmaker, None) as session:
        user = await create_user(session, "kill@example.com", name="Kim Killed")
        await create_personal_data(session, user, rows=1)
    await add_events(committed_sessionmaker, user.id, EVENTS)
    try:
        async with committed_sessionmaker() as session:
            request = await start_export(session, user)

        first = start_worker(database_url, export_dir, log)
        try:
            running = await wait_for(
                committed_sessionmaker, request.id, first, lambda r: r.progress_percent > 0, "progress shows"
            )
        finally:
            stop(first, signal.SIGKILL)
        assert running.state == RequestState.IN_PROGRESS and running.export_file is None
        assert [p.name.endswith(".zip.partial") for p in export_dir.iterdir()] == [True], log.read_text()

        second = start_worker(database_url, export_dir, log)
        try:
            done = await wait_for(
                committed_sessionmaker,
                request.id,
                second,
                lambda r: r.state != RequestState.IN_PROGRESS,
                "done",
            )
        finally:
            stop(second, signal.SIGTERM)
        assert done.state == RequestState.COMPLETED, log.read_text()
        assert [p.name for p in export_dir.iterdir()] == [done.export_file]
        with (
            zipfile.ZipFile(export_dir / done.export_file) as archive,
            archive.open("consent_event.csv") as events,
        ):
            assert sum(1 for _ in events) == 1 + EVENTS + 1
    finally:
        async with committed_sessionmaker() as session:
            await session.execute(
                delete(table_of(ConsentEvent)).where(ConsentEvent.subject_user_id == user.id)
            )
            await session.commit()
