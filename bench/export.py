"""Export benchmark: one person with 1,000,000 consent events, exported by `opmaestro worker`.

Migrates a fresh database (or the one given), inserts the events with Core executemany (the
export does not verify the ledger's hash chain, so the hashes are only unique placeholders),
starts an embedded worker, queues the export and prints rows/s, the archive's size and the
worker's peak RSS. Targets: >= 100,000 rows/s and a peak RSS under 200 MB.
"""

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
BATCH = 50_000
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


async def seed(database_url: str, events: int) -> UUID:
    """A user and their consent events; returns the user's id."""
    from sqlalchemy import insert

    import opmaestro.models  # noqa: F401
    from opmaestro.accounts.models import User
    from opmaestro.consent.models import ConsentEvent
    from opmaestro.core.clock import utcnow
    from opmaestro.core.config import Settings
    from opmaestro.core.db import create_engine, create_sessionmaker, table_of

    engine = create_engine(Settings(database_url=database_url))
    now = utcnow()
    async with create_sessionmaker(engine)() as session:
        user = User(
            email="export-bench@example.com",
            name="Export Bench",
            country="US",
            age_attested_at=now,
            password_hash="!bench",
            password_changed_at=now,
            email_verified_at=now,
        )
        session.add(user)
        await session.flush()
        table, subject = table_of(ConsentEvent), f"user:{user.id}"
        for start in range(0, events, BATCH):
            await session.execute(
                insert(table),
                [
                    {
                        "id": uuid4(),
                        "subject": subject,
                        "seq": n + 1,
                        "subject_user_id": user.id,
                        "device_id": None,
                        "purpose_key": "marketing_email",
                        "purpose_version": 1,
                        "action": "granted" if n % 2 else "withdrawn",
                        "method": "settings",
                        "policy_version": "2026-01",
                        "jurisdiction": "US",
                        "ip_address": f"203.0.113.{n % 256}",
                        "user_agent": USER_AGENT,
                        "actor_kind": "subject",
                        "created_at": now + timedelta(microseconds=n),
                        "prev_hash": f"{n:064x}",
                        "hash": f"{n + 1:064x}",
                    }
                    for n in range(start, min(start + BATCH, events))
                ],
            )
        await session.commit()
        user_id = user.id
    await engine.dispose()
    return user_id


async def queue_export(database_url: str, user_id: UUID) -> UUID:
    import opmaestro.tasks  # noqa: F401 - registers the export starter
    from opmaestro.core.clock import utcnow
    from opmaestro.core.config import Settings
    from opmaestro.core.db import create_engine, create_sessionmaker
    from opmaestro.dsar import workflow
    from opmaestro.dsar.models import DataRequest, RequestState

    engine = create_engine(Settings(database_url=database_url))
    async with create_sessionmaker(engine)() as session:
        request = DataRequest(
            kind="export",
            user_id=user_id,
            jurisdiction="other",
            due_at=utcnow() + timedelta(days=30),
            state=RequestState.VERIFIED,
        )
        session.add(request)
        await session.flush()
        await workflow.start(session, Settings(database_url=database_url), request, actor=None)
        await session.commit()
        request_id = request.id
    await engine.dispose()
    return request_id


async def finished(database_url: str, request_id: UUID) -> tuple[str, int | None]:
    from opmaestro.core.config import Settings
    from opmaestro.core.db import create_engine, create_sessionmaker
    from opmaestro.dsar.models import DataRequest

    engine = create_engine(Settings(database_url=database_url))
    async with create_sessionmaker(engine)() as session:
        request = await session.get(DataRequest, request_id)
        state, size = (request.state, request.export_size) if request else ("missing", None)
    await engine.dispose()
    return state, size


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="bench against this database (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opmaestro-export-bench-") as tmp:
        tmp_dir = Path(tmp)
        database_url = args.database_url or f"sqlite+aiosqlite:///{tmp_dir / 'bench.db'}"
        env = os.environ | {
            "OPMAESTRO_DATABASE_URL": database_url,
            "OPMAESTRO_EXPORT_DIR": str(tmp_dir / "exports"),
            "OPMAESTRO_LOG_LEVEL": "WARNING",
            "OPMAESTRO_JOB_POLL_SECONDS": "0.05",
            "OPMAESTRO_JOB_BACKEND": "embedded",
        }
        subprocess.run([BIN / "opmaestro", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        started = time.perf_counter()
        user_id = asyncio.run(seed(database_url, args.events))
        print(f"seeded {args.events:,} consent events in {time.perf_counter() - started:.1f} s", flush=True)
        log = (tmp_dir / "worker.log").open("wb")
        worker = subprocess.Popen(
            [BIN / "opmaestro", "worker", "--concurrency", "1"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            time.sleep(3)  # let the worker import and start; not part of the measured time
            if worker.poll() is not None:
                sys.exit(f"the worker exited; see {tmp_dir / 'worker.log'}")
            started, cpu_before = time.perf_counter(), cpu_seconds(worker.pid)
            request_id = asyncio.run(queue_export(database_url, user_id))
            while (state := asyncio.run(finished(database_url, request_id)))[0] == "in_progress":
                if worker.poll() is not None:
                    sys.exit("the worker exited during the export")
                time.sleep(0.1)
            seconds = time.perf_counter() - started
            cpu = cpu_seconds(worker.pid) - cpu_before
            peak = peak_rss_mib(worker.pid)
        finally:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=30)
    rows = args.events + 1
    print(f"export of {args.events:,} consent events: {state[0]} in {seconds:.1f} s")
    print(f"  {rows / seconds:,.0f} rows/s (target >= 100,000)")
    # On a shared machine the wall clock also measures the neighbours; CPU time much less.
    load = os.getloadavg()[0]
    print(f"  worker CPU {cpu:.1f} s: {rows / cpu:,.0f} rows per CPU-second; load average {load:.1f}")
    print(f"  archive {(state[1] or 0) / 2**20:.1f} MiB; worker peak RSS {peak:.0f} MiB (target < 200)")


if __name__ == "__main__":
    main()
