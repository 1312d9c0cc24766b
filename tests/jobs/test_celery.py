"""Celery mode through a real Redis broker and a real Celery worker process."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
import redis
from sqlalchemy import delete, select

from opmaestro.core import jobs
from opmaestro.core.celery_app import CeleryDispatcher
from opmaestro.core.config import PROJECT_ROOT
from opmaestro.core.db import unit_of_work
from opmaestro.notifications import service as notifications
from opmaestro.notifications.models import OutboxMessage, OutboxStatus

BROKER_URL = os.environ.get("OPMAESTRO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def broker_url() -> str:
    try:
        client = redis.Redis.from_url(BROKER_URL, socket_connect_timeout=2)
        client.ping()
    except redis.RedisError as error:
        reason = f"Redis is not reachable at {BROKER_URL} ({error}); Celery tests need it"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(reason)
        print(f"\nSKIPPED: {reason}")
        pytest.skip(reason)
    client.flushdb()
    return BROKER_URL


@pytest.fixture
def celery_worker(broker_url, database_url, smtp_server, tmp_dir):
    _inbox, smtp_port = smtp_server
    env = os.environ | {
        "OPMAESTRO_JOB_BACKEND": "celery",
        "OPMAESTRO_REDIS_URL": broker_url,
        "OPMAESTRO_DATABASE_URL": database_url,
        "OPMAESTRO_SMTP_HOST": "127.0.0.1",
        "OPMAESTRO_SMTP_PORT": str(smtp_port),
        "OPMAESTRO_SCHEDULER_TICK_SECONDS": "1",
        "OPMAESTRO_SMTP_SECURITY": "none",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "opmaestro.cli",
            "worker",
            "--pool",
            "solo",
            "--beat",
            "--schedule",
            str(tmp_dir / "beat-schedule"),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    yield worker
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


async def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.2)
    return False


async def test_celery_worker_delivers_a_committed_job(
    committed_sessionmaker, settings, smtp_server, celery_worker, broker_url
):
    inbox, _port = smtp_server
    dispatcher = CeleryDispatcher(
        settings.model_copy(update={"job_backend": "celery", "redis_url": broker_url})
    )
    assert await dispatcher.is_ready()
    async with unit_of_work(committed_sessionmaker, dispatcher) as session:
        message = await notifications.send_email(session, settings, "celery@example.com", "smtp_test", {})
        job_id = session.info[jobs.PENDING_JOBS_KEY][0].id

    async def delivered() -> bool:
        assert celery_worker.poll() is None, celery_worker.stderr.read().decode()[-3000:]
        async with committed_sessionmaker() as session:
            job = await session.get(jobs.Job, job_id)
            return job.status == jobs.JobStatus.DONE

    assert await wait_for(delivered), "the Celery worker did not run the job"
    async with committed_sessionmaker() as session:
        job = await session.get(jobs.Job, job_id)
        sent = await session.get(OutboxMessage, message.id)
    assert job.claimed_by and job.attempts == 1
    assert sent.status == OutboxStatus.SENT
    assert [m["To"] for m in inbox.messages] == ["celery@example.com"]


async def test_unreachable_broker_leaves_the_job_queued(committed_sessionmaker, settings):
    dead_broker = settings.model_copy(update={"job_backend": "celery", "redis_url": "redis://127.0.0.1:1/0"})
    dispatcher = CeleryDispatcher(dead_broker)
    dispatcher.celery.conf.broker_connection_max_retries = 0
    dispatcher.celery.conf.broker_transport_options = {"max_retries": 0}
    assert not await dispatcher.is_ready()
    async with unit_of_work(committed_sessionmaker, dispatcher) as session:
        job = await jobs.enqueue(session, "jobs.prune", {}, max_attempts=settings.job_max_attempts)
    async with committed_sessionmaker() as session:
        assert (await session.get(jobs.Job, job.id)).status == jobs.JobStatus.QUEUED


@pytest.fixture
async def prune_due(committed_sessionmaker):
    """No earlier run of jobs.prune is on record, so its first interval is due now."""
    async with committed_sessionmaker() as session:
        await session.execute(delete(jobs.PeriodicSchedule).where(jobs.PeriodicSchedule.name == "jobs.prune"))
        await session.commit()


async def test_beat_enqueues_periodic_jobs_that_the_worker_runs(
    committed_sessionmaker, prune_due, celery_worker
):
    async def pruned() -> bool:
        assert celery_worker.poll() is None, celery_worker.stderr.read().decode()[-3000:]
        async with committed_sessionmaker() as session:
            runs = (await session.scalars(select(jobs.Job).where(jobs.Job.name == "jobs.prune"))).all()
            return any(run.status == jobs.JobStatus.DONE for run in runs)

    assert await wait_for(pruned), "beat never got jobs.prune run"


class SentTasks:
    def __init__(self):
        self.sent = []

    def send_task(self, name, *, args, queue, countdown=None):
        self.sent.append((args[0], queue))


async def test_each_lane_is_sent_to_its_own_queue(committed_sessionmaker, settings):
    from opmaestro.webhooks.outbound.delivery import DELIVER_JOB

    dispatcher = CeleryDispatcher(settings.model_copy(update={"job_backend": "celery"}))
    dispatcher.celery = SentTasks()
    async with unit_of_work(committed_sessionmaker, dispatcher) as session:
        mail = await jobs.enqueue(session, "jobs.prune", {}, max_attempts=settings.job_max_attempts)
        hook = await jobs.enqueue(session, DELIVER_JOB, {"delivery_id": "x"}, max_attempts=1)
    assert dispatcher.celery.sent == [(str(mail.id), "celery"), (str(hook.id), "opmaestro.webhooks")]
