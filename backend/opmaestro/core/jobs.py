"""Background jobs: rows in the caller's transaction, run after commit by a worker.

The embedded worker runs inside the API process; in Celery mode the job id is sent to a
Celery worker that claims and runs the same row with the same handler. Job state lives
in the database, so a lost broker message or a killed worker loses nothing.

Each job kind belongs to a lane, and each lane has workers of its own: jobs that wait on
third parties (webhook deliveries) can never take the slots of mail, exports and erasures.
"""

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import Index, String, Text, delete, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.datamap import not_personal
from opmaestro.core.db import (
    PENDING_JOBS_KEY,
    Base,
    IdMixin,
    PendingJob,
    TimestampMixin,
    new_id,
    table_of,
)
from opmaestro.core.logging import redact

logger = logging.getLogger(__name__)
DEFAULT_LANE = "default"
# Deliveries to outside receivers: they wait on strangers' servers, so they get workers of their own.
WEBHOOKS_LANE = "webhooks"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class Job(IdMixin, TimestampMixin, Base):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_status_run_at", "status", "run_at"),)

    name: Mapped[str] = mapped_column(String(100), info=not_personal())
    payload: Mapped[dict[str, Any]] = mapped_column(info=not_personal("ids only, never personal values"))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED, info=not_personal())
    attempts: Mapped[int] = mapped_column(default=0, info=not_personal())
    max_attempts: Mapped[int] = mapped_column(info=not_personal())
    run_at: Mapped[datetime] = mapped_column(info=not_personal())
    claimed_by: Mapped[str | None] = mapped_column(String(200), info=not_personal("worker id"))
    heartbeat_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    dispatched_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    finished_at: Mapped[datetime | None] = mapped_column(info=not_personal())
    last_error: Mapped[str | None] = mapped_column(Text, info=not_personal("redacted error text"))


class PeriodicSchedule(Base):
    __tablename__ = "periodic_schedule"

    name: Mapped[str] = mapped_column(String(100), primary_key=True, info=not_personal())
    next_run_at: Mapped[datetime] = mapped_column(info=not_personal())


@dataclass(frozen=True)
class JobContext:
    session: AsyncSession
    job_id: UUID
    attempt: int
    max_attempts: int
    settings: Settings
    # For short transactions of their own while the job runs (progress a reader can see).
    sessionmaker: async_sessionmaker[AsyncSession]


Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]
DeadHandler = Callable[[AsyncSession, dict[str, Any], str], Awaitable[None]]


@dataclass(frozen=True)
class Registration:
    run: Handler
    on_dead: DeadHandler | None
    lane: str


_handlers: dict[str, Registration] = {}
_periodic: dict[str, timedelta] = {}


def handler(
    name: str, *, on_dead: DeadHandler | None = None, lane: str = DEFAULT_LANE
) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs called `name`; `on_dead` runs when retries run out.
    Jobs of a `lane` other than the default run only on that lane's own workers."""

    def register(function: Handler) -> Handler:
        _handlers[name] = Registration(function, on_dead, lane)
        return function

    return register


def lane_of(name: str) -> str:
    """The lane of job `name` (unknown names run on the default lane, which settles them)."""
    registration = _handlers.get(name)
    return registration.lane if registration else DEFAULT_LANE


def lanes() -> set[str]:
    return {DEFAULT_LANE} | {registration.lane for registration in _handlers.values()}


def lane_workers(settings: Settings) -> dict[str, int]:
    """How many workers each lane other than the default one gets."""
    return {WEBHOOKS_LANE: settings.webhook_workers}


def _in_lane(lane: str) -> Any:
    """Which job rows the workers of `lane` may claim."""
    if lane == DEFAULT_LANE:
        elsewhere = [name for name, registration in _handlers.items() if registration.lane != DEFAULT_LANE]
        return Job.name.not_in(elsewhere) if elsewhere else true()
    return Job.name.in_([name for name, registration in _handlers.items() if registration.lane == lane])


def periodic(name: str, *, every: timedelta) -> None:
    """Enqueue job `name` every interval (embedded scheduler or Celery beat)."""
    _periodic[name] = every


def periodic_jobs() -> dict[str, timedelta]:
    return dict(_periodic)


async def enqueue(
    session: AsyncSession,
    name: str,
    payload: dict[str, Any],
    *,
    max_attempts: int,
    run_at: datetime | None = None,
) -> Job:
    """Add a job to the caller's transaction; it runs only once that transaction commits."""
    if name not in _handlers:
        raise LookupError(f"no job handler is registered for {name!r}")
    job = Job(
        name=name,
        payload=payload,
        status=JobStatus.QUEUED,
        attempts=0,
        max_attempts=max_attempts,
        run_at=run_at or utcnow(),
    )
    session.add(job)
    await session.flush()
    session.info.setdefault(PENDING_JOBS_KEY, []).append(PendingJob(job.id, lane_of(name)))
    return job


async def enqueue_many(
    session: AsyncSession, name: str, payloads: Sequence[dict[str, Any]], *, max_attempts: int
) -> list[UUID]:
    """Add jobs of one kind in one INSERT (a batch of work written together); like `enqueue`,
    they run only once the caller's transaction commits."""
    if name not in _handlers:
        raise LookupError(f"no job handler is registered for {name!r}")
    if not payloads:
        return []
    now = utcnow()
    ids = [new_id() for _ in payloads]
    rows = [
        {
            "id": job_id,
            "name": name,
            "payload": payload,
            "status": JobStatus.QUEUED,
            "attempts": 0,
            "max_attempts": max_attempts,
            "run_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for job_id, payload in zip(ids, payloads, strict=True)
    ]
    await session.execute(insert(table_of(Job)), rows)
    lane = lane_of(name)
    session.info.setdefault(PENDING_JOBS_KEY, []).extend(PendingJob(job_id, lane) for job_id in ids)
    return ids


def _rowcount(result: Any) -> int:
    """Rows touched by an UPDATE/DELETE (not typed on the generic Result)."""
    return int(getattr(result, "rowcount", 0))


def backoff_delay(settings: Settings, attempts: int) -> float:
    """Exponential backoff with a little jitter, capped."""
    base = settings.job_backoff_seconds * 2.0 ** max(attempts - 1, 0)
    jitter: float = random.uniform(1.0, 1.25)  # noqa: S311 - not for security
    return min(base, settings.job_backoff_max_seconds) * jitter


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobRunner:
    """Claims, runs and settles jobs; shared by the embedded worker and Celery tasks."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, worker_id: str | None = None
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.worker_id = worker_id or new_worker_id()

    async def claim_next(self, lane: str = DEFAULT_LANE) -> Job | None:
        """Claim the oldest due job of `lane`, or None when nothing is due."""
        now = utcnow()
        candidate = (
            select(Job.id)
            .where(Job.status == JobStatus.QUEUED, Job.run_at <= now, _in_lane(lane))
            .order_by(Job.run_at)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        return await self._claim(Job.id == candidate, now)

    async def claim(self, job_id: UUID) -> Job | None:
        """Claim one job by id if it is still queued and due (Celery delivers ids)."""
        now = utcnow()
        return await self._claim((Job.id == job_id) & (Job.run_at <= now), now)

    async def _claim(self, condition: Any, now: datetime) -> Job | None:
        statement = (
            update(Job)
            .where(condition, Job.status == JobStatus.QUEUED)
            .values(
                status=JobStatus.RUNNING,
                attempts=Job.attempts + 1,
                claimed_by=self.worker_id,
                heartbeat_at=now,
                updated_at=now,
            )
            .returning(Job)
            .execution_options(synchronize_session=False)
        )
        async with self.sessionmaker() as session:
            job = (await session.execute(statement)).scalar_one_or_none()
            await session.commit()
        return job

    async def run_next(self, lane: str = DEFAULT_LANE) -> bool:
        """Claim and run one due job of `lane`; False when there was none."""
        job = await self.claim_next(lane)
        if job is None:
            return False
        await self.execute(job)
        return True

    async def run_by_id(self, job_id: UUID) -> bool:
        job = await self.claim(job_id)
        if job is None:
            return False
        await self.execute(job)
        return True

    async def execute(self, job: Job) -> JobStatus:
        """Run a claimed job's handler; its work and the `done` mark commit together."""
        registration = _handlers.get(job.name)
        heartbeat = asyncio.create_task(self._heartbeat(job.id))
        try:
            if registration is None:
                raise LookupError(f"no job handler is registered for {job.name!r}")
            async with self.sessionmaker() as session:
                context = JobContext(
                    session, job.id, job.attempts, job.max_attempts, self.settings, self.sessionmaker
                )
                await registration.run(context, job.payload)
                if await self._mark_done(session, job.id):
                    await session.commit()
                else:
                    await session.rollback()
                    logger.warning("job %s lost its claim while running; its work was rolled back", job.id)
            return JobStatus.DONE
        except Exception as error:
            return await self._settle_failure(job, registration, error)
        finally:
            heartbeat.cancel()

    async def _mark_done(self, session: AsyncSession, job_id: UUID) -> bool:
        now = utcnow()
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.claimed_by == self.worker_id, Job.status == JobStatus.RUNNING)
            .values(status=JobStatus.DONE, finished_at=now, updated_at=now, last_error=None)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result) > 0

    async def _settle_failure(
        self, job: Job, registration: Registration | None, error: Exception
    ) -> JobStatus:
        message = redact(f"{type(error).__name__}: {error}")[:2000]
        now = utcnow()
        dead = job.attempts >= job.max_attempts
        delay = 0.0 if dead else backoff_delay(self.settings, job.attempts)
        values: dict[str, Any] = {"last_error": message, "claimed_by": None, "updated_at": now}
        if dead:
            values.update(status=JobStatus.DEAD, finished_at=now)
        else:
            values.update(status=JobStatus.QUEUED, run_at=now + timedelta(seconds=delay), dispatched_at=None)
        async with self.sessionmaker() as session:
            result = await session.execute(
                update(Job)
                .where(Job.id == job.id, Job.claimed_by == self.worker_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if dead and registration and registration.on_dead and _rowcount(result):
                await registration.on_dead(session, job.payload, message)
            await session.commit()
        log = logger.error if dead else logger.warning
        log(
            "job %s (%s) failed on attempt %d/%d: %s",
            job.id,
            job.name,
            job.attempts,
            job.max_attempts,
            message,
            exc_info=dead,
        )
        return JobStatus.DEAD if dead else JobStatus.QUEUED

    async def _heartbeat(self, job_id: UUID) -> None:
        interval = max(self.settings.job_lease_seconds / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                async with self.sessionmaker() as session:
                    await session.execute(
                        update(Job)
                        .where(Job.id == job_id, Job.claimed_by == self.worker_id)
                        .values(heartbeat_at=utcnow())
                        .execution_options(synchronize_session=False)
                    )
                    await session.commit()
            except Exception:
                logger.warning("heartbeat for job %s failed", job_id, exc_info=True)

    async def recover_stale(self) -> int:
        """Requeue running jobs whose worker stopped sending heartbeats (it crashed or was killed)."""
        now = utcnow()
        stale_before = now - timedelta(seconds=self.settings.job_lease_seconds)
        stale = (Job.status == JobStatus.RUNNING) & (Job.heartbeat_at < stale_before)
        async with self.sessionmaker() as session:
            dead = await session.execute(
                update(Job)
                .where(stale, Job.attempts >= Job.max_attempts)
                .values(
                    status=JobStatus.DEAD,
                    finished_at=now,
                    claimed_by=None,
                    updated_at=now,
                    last_error="worker stopped responding on the last attempt",
                )
                .execution_options(synchronize_session=False)
            )
            requeued = await session.execute(
                update(Job)
                .where(stale)
                .values(
                    status=JobStatus.QUEUED,
                    claimed_by=None,
                    run_at=now,
                    dispatched_at=None,
                    updated_at=now,
                    last_error="worker stopped responding; requeued",
                )
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        count = _rowcount(requeued) + _rowcount(dead)
        if count:
            logger.warning("recovered %d job(s) abandoned by a stopped worker", count)
        return int(count)

    async def enqueue_due_periodic(self, names: Sequence[str] | None = None) -> list[Job]:
        """Enqueue each periodic job whose time has come; safe to call from many processes."""
        enqueued = []
        now = utcnow()
        for name in names or sorted(_periodic):
            every = _periodic[name]
            async with self.sessionmaker() as session:
                if await session.get(PeriodicSchedule, name) is None:
                    session.add(PeriodicSchedule(name=name, next_run_at=now))
                    try:
                        await session.commit()
                    except Exception:
                        await session.rollback()
                won = await session.execute(
                    update(PeriodicSchedule)
                    .where(PeriodicSchedule.name == name, PeriodicSchedule.next_run_at <= now)
                    .values(next_run_at=now + every)
                    .execution_options(synchronize_session=False)
                )
                if _rowcount(won):
                    enqueued.append(
                        await enqueue(session, name, {}, max_attempts=self.settings.job_max_attempts)
                    )
                await session.commit()
        return enqueued

    async def due_undispatched(self, grace: timedelta) -> list[PendingJob]:
        """Queued, due jobs not sent to a broker within `grace` (lost messages, retries)."""
        now = utcnow()
        async with self.sessionmaker() as session:
            rows = list(
                (
                    await session.execute(
                        select(Job.id, Job.name)
                        .where(
                            Job.status == JobStatus.QUEUED,
                            Job.run_at <= now - grace,
                            (Job.dispatched_at.is_(None)) | (Job.dispatched_at <= now - grace),
                        )
                        .order_by(Job.run_at)
                        .limit(500)
                    )
                ).all()
            )
            ids = [job_id for job_id, _name in rows]
            if ids:
                await session.execute(
                    update(Job)
                    .where(Job.id.in_(ids))
                    .values(dispatched_at=now)
                    .execution_options(synchronize_session=False)
                )
            await session.commit()
        return [PendingJob(job_id, lane_of(name)) for job_id, name in rows]


class JobBackend(Protocol):
    """What the API process needs from a job backend."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def committed(self, pending: Sequence[PendingJob]) -> None: ...
    async def is_ready(self) -> bool: ...


class RunNow:
    """Runs jobs right after the commit, in the caller's process (CLI commands)."""

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner

    async def committed(self, pending: Sequence[PendingJob]) -> None:
        for job in pending:
            await self.runner.run_by_id(job.id)


class ExternalWorker:
    """The API runs no worker: a separate `opmaestro worker` process polls the job table."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def committed(self, pending: Sequence[PendingJob]) -> None:
        return None

    async def is_ready(self) -> bool:
        return True


class EmbeddedWorker:
    """Runs jobs and periodic schedules inside the API process (the embedded default).

    `concurrency` workers serve the default lane; `lanes` gives the workers of each other lane
    (a lane left out gets one, so that no registered job waits forever)."""

    def __init__(
        self,
        runner: JobRunner,
        *,
        concurrency: int = 2,
        lanes: dict[str, int] | None = None,
        run_scheduler: bool = True,
    ) -> None:
        self.runner = runner
        self.concurrency = concurrency
        self.lane_workers = dict(lanes or {})
        self.run_scheduler = run_scheduler
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> None:
        self._stopping = False
        workers = {**{lane: 1 for lane in lanes()}, **self.lane_workers, DEFAULT_LANE: self.concurrency}
        self._tasks = [
            asyncio.create_task(self._work(lane), name=f"job-worker-{lane}-{n}")
            for lane, count in sorted(workers.items())
            for n in range(count)
        ]
        self._tasks.append(asyncio.create_task(self._maintain(), name="job-maintenance"))

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def committed(self, pending: Sequence[PendingJob]) -> None:
        self._wake.set()

    async def is_ready(self) -> bool:
        return bool(self._tasks) and not any(task.done() for task in self._tasks)

    async def _work(self, lane: str) -> None:
        while not self._stopping:
            try:
                if await self.runner.run_next(lane):
                    continue
            except Exception:
                logger.exception("job worker loop error")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.runner.settings.job_poll_seconds)

    async def _maintain(self) -> None:
        interval = self.runner.settings.scheduler_tick_seconds
        while not self._stopping:
            try:
                recovered = await self.runner.recover_stale()
                if self.run_scheduler:
                    recovered += len(await self.runner.enqueue_due_periodic())
                if recovered:
                    self._wake.set()
            except Exception:
                logger.exception("job maintenance error")
            await asyncio.sleep(interval)


async def prune_finished(session: AsyncSession, keep_days: int) -> int:
    """Delete done jobs after `keep_days`, dead ones after twice that (kept longer to inspect)."""
    now = utcnow()
    result = await session.execute(
        delete(Job)
        .where(
            ((Job.status == JobStatus.DONE) & (Job.finished_at < now - timedelta(days=keep_days)))
            | ((Job.status == JobStatus.DEAD) & (Job.finished_at < now - timedelta(days=2 * keep_days)))
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


@handler("jobs.prune")
async def _prune(context: JobContext, _payload: dict[str, Any]) -> None:
    removed = await prune_finished(context.session, context.settings.job_keep_finished_days)
    logger.info("pruned %d finished job(s)", removed)


periodic("jobs.prune", every=timedelta(hours=6))
