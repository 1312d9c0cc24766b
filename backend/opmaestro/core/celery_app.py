"""Celery mode: workers claim and run job rows by id; beat drives the periodic schedule.

Each job lane has its own queue (`queue_for`), so a worker started for one lane
(`opmaestro worker --lane webhooks`) never takes the jobs of another."""

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown
from redis.asyncio import Redis

from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings, get_settings
from opmaestro.core.db import PendingJob, create_engine, create_sessionmaker
from opmaestro.core.logging import configure_logging

logger = logging.getLogger(__name__)
RUN_JOB = "opmaestro.run_job"
LOST_MESSAGE_GRACE = timedelta(seconds=60)
DEFAULT_QUEUE = "celery"


def queue_for(lane: str) -> str:
    """The broker queue of a lane; the default lane keeps Celery's default queue."""
    return DEFAULT_QUEUE if lane == jobs.DEFAULT_LANE else f"opmaestro.{lane}"


def send(celery: Celery, job: PendingJob, countdown: float | None = None) -> None:
    celery.send_task(RUN_JOB, args=[str(job.id)], queue=queue_for(job.lane), countdown=countdown)


def create_celery(settings: Settings) -> Celery:
    import opmaestro.tasks  # noqa: F401 - registers every domain's job handlers

    celery = Celery("opmaestro", broker=settings.redis_url)
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        task_default_queue=DEFAULT_QUEUE,
        beat_schedule={
            "opmaestro.tick": {"task": "opmaestro.tick", "schedule": settings.scheduler_tick_seconds},
        },
    )
    celery.task(name=RUN_JOB)(_run_job)
    celery.task(name="opmaestro.tick")(_tick)
    return celery


class _ProcessState:
    """One event loop and one engine per worker process (Celery tasks are synchronous)."""

    loop: asyncio.AbstractEventLoop | None = None
    runner: jobs.JobRunner | None = None

    @classmethod
    def get(cls) -> tuple[asyncio.AbstractEventLoop, jobs.JobRunner]:
        if cls.loop is None or cls.runner is None:
            settings = get_settings()
            cls.loop = asyncio.new_event_loop()
            cls.runner = jobs.JobRunner(create_sessionmaker(create_engine(settings)), settings)
        return cls.loop, cls.runner

    @classmethod
    def forget(cls, **_: Any) -> None:
        """A forked child must not touch its parent's loop or connections."""
        cls.loop = cls.runner = None

    @classmethod
    def reset(cls, **_: Any) -> None:
        if cls.loop is not None and cls.runner is not None:
            engine = cls.runner.sessionmaker.kw["bind"]
            cls.loop.run_until_complete(engine.dispose())
            cls.loop.close()
        cls.loop = cls.runner = None


worker_process_init.connect(_ProcessState.forget, weak=False)
worker_process_shutdown.connect(_ProcessState.reset, weak=False)


def _run_job(job_id: str) -> bool:
    loop, runner = _ProcessState.get()
    ran = loop.run_until_complete(runner.run_by_id(UUID(job_id)))
    if ran:
        loop.run_until_complete(_dispatch_retry(runner, UUID(job_id)))
    return ran


async def _dispatch_retry(runner: jobs.JobRunner, job_id: UUID) -> None:
    async with runner.sessionmaker() as session:
        job = await session.get(jobs.Job, job_id)
        if job is None or job.status != jobs.JobStatus.QUEUED:
            return
        countdown = max((job.run_at - utcnow()).total_seconds(), 0)
        pending = PendingJob(job.id, jobs.lane_of(job.name))
    send(celery_app(), pending, countdown)


def _tick() -> int:
    """Beat's heartbeat: requeue abandoned claims, enqueue due periodic jobs, resend lost ones."""
    loop, runner = _ProcessState.get()
    return loop.run_until_complete(_tick_async(runner))


async def _tick_async(runner: jobs.JobRunner) -> int:
    await runner.recover_stale()
    periodic = await runner.enqueue_due_periodic()
    for job in periodic:
        send(celery_app(), PendingJob(job.id, jobs.lane_of(job.name)))
    return len(periodic) + await _send_due(runner, LOST_MESSAGE_GRACE)


async def _send_due(runner: jobs.JobRunner, grace: timedelta) -> int:
    due = await runner.due_undispatched(grace)
    for job in due:
        send(celery_app(), job)
    return len(due)


_celery: Celery | None = None


def celery_app() -> Celery:
    global _celery
    if _celery is None:
        configure_logging(get_settings().log_level)
        _celery = create_celery(get_settings())
    return _celery


class CeleryDispatcher:
    """The API side of Celery mode: after commit, hand the new job ids to the broker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.celery = create_celery(settings)

    async def stop(self) -> None:
        return None

    async def committed(self, pending: Sequence[PendingJob]) -> None:
        try:
            await asyncio.to_thread(self._send, list(pending))
        except Exception:
            # The rows are committed; the beat's maintenance task sends them once the broker is back.
            logger.warning(
                "could not reach the job broker; %d job(s) wait for the next sweep",
                len(pending),
                exc_info=True,
            )

    async def start(self) -> None:
        return None

    def _send(self, pending: list[PendingJob]) -> None:
        for job in pending:
            send(self.celery, job)

    async def is_ready(self) -> bool:
        client = Redis.from_url(self.settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
        try:
            return bool(await client.ping())
        except Exception:
            return False
        finally:
            await client.aclose()
