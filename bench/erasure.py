"""Erasure benchmark: how long the `dsar.erasure` job takes for one person with many rows.

Builds a fresh SQLite database (or uses --database-url), gives one person N outbox messages and
M sessions (rows the erasure deletes) plus a bystander with the same, then runs the real job
once through the job runner, in one transaction, scan included. Prints seconds, rows/s and the
process's peak RSS. Consent events are retained by erasure (proof of consent), so they are
not what it spends its time on; --consent-events adds some to show they cost little.
"""

import argparse
import asyncio
import os
import resource
import secrets
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

import opmaestro.tasks  # noqa: F401 - registers every job handler
from opmaestro.accounts.models import User, UserSession
from opmaestro.consent.models import ConsentEvent
from opmaestro.core import jobs, migrations
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.db import create_engine, create_sessionmaker, new_id, table_of
from opmaestro.dsar import erasure
from opmaestro.dsar.models import DataRequest, Jurisdiction, RequestKind, RequestState
from opmaestro.notifications.models import OutboxMessage

ROOT = Path(__file__).resolve().parents[1]
BATCH = 5000


def _rows(count: int, make: Any) -> Any:
    for start in range(0, count, BATCH):
        yield [make(index) for index in range(start, min(count, start + BATCH))]


async def seed(
    sessionmaker: Any, email: str, phone: str, *, messages: int, sessions: int, consent_events: int
) -> Any:
    now = utcnow()
    name = f"Bench Person {email.split('@')[0]}"
    async with sessionmaker() as session:
        user = User(
            email=email,
            name=name,
            phone=phone,
            country="US",
            age_attested_at=now,
            password_hash="!bench",
            password_changed_at=now,
        )
        session.add(user)
        await session.flush()
        outbox, user_sessions, events = table_of(OutboxMessage), table_of(UserSession), table_of(ConsentEvent)
        for batch in _rows(
            messages,
            lambda index: {
                "id": new_id(),
                "to_address": email,
                "category": "service",
                "user_id": user.id,
                "template": "verify_email",
                "subject": f"Hello {name}",
                "text_body": f"Hello {name}, message {index}. " + "Lorem ipsum dolor sit amet. " * 6,
                "html_body": f"<p>Hello {name}, message {index}.</p>"
                + "<p>Lorem ipsum dolor sit amet.</p>" * 6,
                "headers": {"Message-ID": f"<{index}.{secrets.token_hex(8)}@bench.test>"},
                "status": "sent",
                "created_at": now,
                "updated_at": now,
            },
        ):
            await session.execute(insert(outbox), batch)
        for batch in _rows(
            sessions,
            lambda index: {
                "id": new_id(),
                "user_id": user.id,
                "token_hash": secrets.token_hex(32),
                "last_seen_at": now,
                "expires_at": now + timedelta(hours=12),
                "ip_address": "203.0.113.7",
                "user_agent": f"bench agent {index}",
                "mfa_verified": False,
                "created_at": now,
                "updated_at": now,
            },
        ):
            await session.execute(insert(user_sessions), batch)
        for batch in _rows(
            consent_events,
            lambda index: {
                "id": new_id(),
                "subject": f"user:{user.id}",
                "seq": index + 1,
                "subject_user_id": user.id,
                "purpose_key": "product_updates",
                "purpose_version": 1,
                "action": "granted",
                "method": "api",
                "actor_kind": "subject",
                "created_at": now,
                "prev_hash": "0" * 64,
                "hash": secrets.token_hex(32),
            },
        ):
            await session.execute(insert(events), batch)
        await session.commit()
        return user.id


async def bench(database_url: str, *, messages: int, sessions: int, consent_events: int) -> dict[str, Any]:
    await asyncio.to_thread(migrations.upgrade, database_url)
    settings = Settings(database_url=database_url, erasure_grace_days=0, job_lease_seconds=3600)
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    counts = {"messages": messages, "sessions": sessions, "consent_events": consent_events}
    started = time.perf_counter()
    person = await seed(sessionmaker, "erase.me@example.com", "+14155550100", **counts)
    await seed(sessionmaker, "keep.me@example.com", "+14155550199", **counts)
    seeded = time.perf_counter() - started
    async with sessionmaker() as session:
        request = DataRequest(
            kind=RequestKind.ERASURE,
            state=RequestState.VERIFIED,
            user_id=person,
            jurisdiction=Jurisdiction.OTHER,
            due_at=utcnow(),
            verified_at=utcnow(),
        )
        session.add(request)
        await session.flush()
        await erasure.schedule(session, settings, request)
        await session.commit()
        job_id = await session.scalar(select(jobs.Job.id).where(jobs.Job.name == erasure.ERASURE_JOB))
    runner = jobs.JobRunner(sessionmaker, settings)
    started = time.perf_counter()
    ran = await runner.run_by_id(job_id)
    elapsed = time.perf_counter() - started
    async with sessionmaker() as session:
        done = await session.get(DataRequest, request.id)
        left = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.user_id == person)
        )
    await engine.dispose()
    if not ran or done is None or done.state != RequestState.COMPLETED or left:
        sys.exit(f"the erasure did not complete: state {done and done.state}, {left} messages left")
    tables = (done.certificate or {}).get("tables", {})
    touched = sum(table["deleted"] + table["cleared"] + table["anonymized"] for table in tables.values())
    return counts | {"seed_seconds": seeded, "erasure_seconds": elapsed, "rows_erased": touched}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="outbox messages of the person")
    parser.add_argument("--sessions", type=int, default=10_000, help="sessions of the person")
    parser.add_argument("--consent-events", type=int, default=0, help="consent events (retained)")
    parser.add_argument("--database-url", help="an empty database (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opmaestro-bench-erasure-") as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        result = asyncio.run(
            bench(url, messages=args.messages, sessions=args.sessions, consent_events=args.consent_events)
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"erasure of one person ({result['messages']:,} outbox messages, {result['sessions']:,} sessions, "
        f"{result['consent_events']:,} consent events; a bystander with as many): "
        f"{result['erasure_seconds']:.2f} s, {result['rows_erased'] / result['erasure_seconds']:,.0f} rows/s "
        f"({result['rows_erased']:,} rows erased, scan included); peak RSS {peak:.0f} MiB; "
        f"database: {'given URL' if args.database_url else 'fresh SQLite'}; {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
