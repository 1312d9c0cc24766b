import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from opmaestro.core import clock, jobs
from opmaestro.core.config import PROJECT_ROOT
from opmaestro.core.db import unit_of_work
from tests.factories import DEFAULT_MAX_ATTEMPTS as MAX_ATTEMPTS
from tests.jobs import handlers

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def job_settings(settings):
    return settings.model_copy(
        update={"job_backoff_seconds": 0.0, "job_lease_seconds": 1.0, "job_poll_seconds": 0.05}
    )


@pytest.fixture
def runner(committed_sessionmaker, job_settings):
    return jobs.JobRunner(committed_sessionmaker, job_settings)


async def load(sessionmaker, job_id) -> jobs.Job:
    async with sessionmaker() as session:
        job = await session.get(jobs.Job, job_id)
        assert job is not None
        return job


class Recorder:
    def __init__(self):
        self.ids = []

    async def committed(self, pending):
        self.ids.extend(job.id for job in pending)


class TestEnqueue:
    async def test_job_in_rolled_back_transaction_never_runs(self, committed_sessionmaker, runner):
        recorder = Recorder()
        with pytest.raises(RuntimeError, match="caller failed"):
            async with unit_of_work(committed_sessionmaker, recorder) as session:
                await jobs.enqueue(session, "tests.flaky", {"failures": 0}, max_attempts=MAX_ATTEMPTS)
                raise RuntimeError("caller failed")
        assert recorder.ids == []
        assert await runner.run_next() is False
        async with committed_sessionmaker() as session:
            assert await session.scalar(select(func.count()).select_from(jobs.Job)) == 0

    async def test_job_is_released_only_after_commit(self, committed_sessionmaker, runner):
        recorder = Recorder()
        async with unit_of_work(committed_sessionmaker, recorder) as session:
            job = await jobs.enqueue(session, "tests.flaky", {"failures": 0}, max_attempts=MAX_ATTEMPTS)
            assert recorder.ids == []
        assert recorder.ids == [job.id]
        assert await runner.run_next() is True
        assert (await load(committed_sessionmaker, job.id)).status == jobs.JobStatus.DONE

    async def test_unknown_job_name_is_refused(self, session):
        with pytest.raises(LookupError, match="no job handler"):
            await jobs.enqueue(session, "tests.nonexistent", {}, max_attempts=MAX_ATTEMPTS)


class TestRetries:
    async def test_failing_twice_then_succeeding_ends_done_after_three_attempts(
        self, committed_sessionmaker, runner
    ):
        async with unit_of_work(committed_sessionmaker, None) as session:
            job = await jobs.enqueue(session, "tests.flaky", {"failures": 2}, max_attempts=MAX_ATTEMPTS)
        outcomes = []
        for _ in range(3):
            claimed = await runner.claim_next()
            assert claimed is not None and claimed.id == job.id
            outcomes.append(await runner.execute(claimed))
        assert outcomes == [jobs.JobStatus.QUEUED, jobs.JobStatus.QUEUED, jobs.JobStatus.DONE]
        done = await load(committed_sessionmaker, job.id)
        assert (done.status, done.attempts, done.last_error) == (jobs.JobStatus.DONE, 3, None)

    async def test_failure_is_recorded_redacted_and_backed_off(self, committed_sessionmaker, settings):
        runner = jobs.JobRunner(
            committed_sessionmaker, settings.model_copy(update={"job_backoff_seconds": 30})
        )
        async with unit_of_work(committed_sessionmaker, None) as session:
            job = await jobs.enqueue(session, "tests.flaky", {"failures": 5}, max_attempts=MAX_ATTEMPTS)
        before = clock.utcnow()
        await runner.run_next()
        failed = await load(committed_sessionmaker, job.id)
        assert failed.status == jobs.JobStatus.QUEUED and failed.claimed_by is None
        assert "ann@example.com" not in failed.last_error and "ConnectionError" in failed.last_error
        assert failed.run_at - before >= timedelta(seconds=30)
        assert await runner.run_next() is False

    async def test_job_is_dead_after_max_attempts_and_on_dead_runs(self, committed_sessionmaker, runner):
        async with unit_of_work(committed_sessionmaker, None) as session:
            job = await jobs.enqueue(session, "tests.always_fails", {"n": 1}, max_attempts=2)
        assert await runner.run_next() and await runner.run_next()
        assert await runner.run_next() is False
        dead = await load(committed_sessionmaker, job.id)
        assert (dead.status, dead.attempts) == (jobs.JobStatus.DEAD, 2)
        assert dead.finished_at is not None
        assert ({"n": 1}, dead.last_error) in handlers.dead_letters

    def test_backoff_grows_exponentially_and_is_capped(self, settings):
        tuned = settings.model_copy(update={"job_backoff_seconds": 2, "job_backoff_max_seconds": 60})
        delays = [jobs.backoff_delay(tuned, attempt) for attempt in (1, 2, 3, 10)]
        assert 2 <= delays[0] <= 2.5 and 4 <= delays[1] <= 5 and 8 <= delays[2] <= 10
        assert 60 <= delays[3] <= 75


class TestCrashRecovery:
    async def test_claim_of_a_killed_worker_is_picked_up_again(
        self, committed_sessionmaker, runner, tmp_dir, database_url
    ):
        flag = tmp_dir / "started"
        async with unit_of_work(committed_sessionmaker, None) as session:
            job = await jobs.enqueue(
                session, "tests.block_first_attempt", {"started_flag": str(flag)}, max_attempts=MAX_ATTEMPTS
            )
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.jobs.handlers", "doomed-worker"],
            cwd=PROJECT_ROOT,
            env=os.environ | {"OPMAESTRO_DATABASE_URL": database_url, "OPMAESTRO_JOB_LEASE_SECONDS": "600"},
        )
        try:
            deadline = time.monotonic() + 30
            while not flag.exists():
                assert worker.poll() is None, "the worker exited before running the job"
                assert time.monotonic() < deadline, "the worker never started the job"
                await asyncio.sleep(0.05)
            claimed = await load(committed_sessionmaker, job.id)
            assert (claimed.status, claimed.claimed_by) == (jobs.JobStatus.RUNNING, "doomed-worker")
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)

        # The clock, not the wall, decides whether the claim is fresh or abandoned.
        lease = timedelta(seconds=runner.settings.job_lease_seconds)
        clock.set_clock(lambda: claimed.heartbeat_at + lease / 2)
        try:
            assert await runner.recover_stale() == 0, "a fresh claim must not be taken over"
            clock.set_clock(lambda: claimed.heartbeat_at + lease + timedelta(seconds=1))
            assert await runner.recover_stale() == 1
            assert await runner.run_next() is True
        finally:
            clock.set_clock(None)
        recovered = await load(committed_sessionmaker, job.id)
        assert (recovered.status, recovered.attempts) == (jobs.JobStatus.DONE, 2)

    async def test_heartbeat_keeps_a_long_job_claimed(self, committed_sessionmaker, job_settings):
        busy = jobs.JobRunner(committed_sessionmaker, job_settings)
        async with unit_of_work(committed_sessionmaker, None) as session:
            job = await jobs.enqueue(session, "tests.flaky", {"failures": 0}, max_attempts=MAX_ATTEMPTS)
        claimed = await busy.claim_next()
        heartbeat = asyncio.create_task(busy._heartbeat(claimed.id))
        try:
            deadline = time.monotonic() + 30
            while (beat := (await load(committed_sessionmaker, job.id)).heartbeat_at) == claimed.heartbeat_at:
                assert time.monotonic() < deadline, "no heartbeat was recorded"
                await asyncio.sleep(0.05)
        finally:
            heartbeat.cancel()
        # A moment when the claim itself is past its lease but the heartbeat is not.
        lease = timedelta(seconds=job_settings.job_lease_seconds)
        moment = beat + lease - timedelta(milliseconds=1)
        assert moment > claimed.heartbeat_at + lease
        clock.set_clock(lambda: moment)
        try:
            assert await jobs.JobRunner(committed_sessionmaker, job_settings).recover_stale() == 0
        finally:
            clock.set_clock(None)
        assert (await load(committed_sessionmaker, job.id)).status == jobs.JobStatus.RUNNING


class TestLostBrokerMessages:
    async def test_due_jobs_never_claimed_are_dispatched_again_once(self, committed_sessionmaker, runner):
        async with unit_of_work(committed_sessionmaker, None) as session:
            stuck = await jobs.enqueue(
                session,
                "tests.flaky",
                {"failures": 0},
                max_attempts=MAX_ATTEMPTS,
                run_at=clock.utcnow() - timedelta(minutes=5),
            )
            await jobs.enqueue(session, "tests.flaky", {"failures": 0}, max_attempts=MAX_ATTEMPTS)
        grace = timedelta(seconds=60)
        assert [job.id for job in await runner.due_undispatched(grace)] == [stuck.id]
        assert await runner.due_undispatched(grace) == [], "just dispatched: wait for the grace period"


class TestEmbeddedWorker:
    async def test_runs_committed_jobs_promptly(self, committed_sessionmaker, runner):
        worker = jobs.EmbeddedWorker(runner, concurrency=2, run_scheduler=False)
        await worker.start()
        try:
            assert await worker.is_ready()
            async with unit_of_work(committed_sessionmaker, worker) as session:
                ids = [
                    (
                        await jobs.enqueue(session, "tests.flaky", {"failures": 1}, max_attempts=MAX_ATTEMPTS)
                    ).id
                    for _ in range(4)
                ]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                statuses = {(await load(committed_sessionmaker, job_id)).status for job_id in ids}
                if statuses == {jobs.JobStatus.DONE}:
                    break
                await asyncio.sleep(0.05)
            assert statuses == {jobs.JobStatus.DONE}
        finally:
            await worker.stop()
        assert not await worker.is_ready()


class TestPeriodicSchedule:
    async def test_each_interval_enqueues_once_however_many_schedulers(self, committed_sessionmaker, runner):
        async with committed_sessionmaker() as session:
            await session.execute(
                delete(jobs.PeriodicSchedule).where(jobs.PeriodicSchedule.name == "jobs.prune")
            )
            await session.commit()
        other = jobs.JobRunner(committed_sessionmaker, runner.settings)
        assert [job.name for job in await runner.enqueue_due_periodic(["jobs.prune"])] == ["jobs.prune"]
        assert await other.enqueue_due_periodic(["jobs.prune"]) == []
        later = clock.utcnow() + jobs.periodic_jobs()["jobs.prune"] + timedelta(seconds=1)
        clock.set_clock(lambda: later)
        try:
            assert [job.name for job in await other.enqueue_due_periodic(["jobs.prune"])] == ["jobs.prune"]
        finally:
            clock.set_clock(None)
        async with committed_sessionmaker() as session:
            count = await session.scalar(select(func.count()).where(jobs.Job.name == "jobs.prune"))
        assert count == 2

    async def test_prune_removes_old_finished_jobs_only(self, committed_sessionmaker, runner):
        async with unit_of_work(committed_sessionmaker, None) as session:
            old = await jobs.enqueue(session, "tests.flaky", {"failures": 0}, max_attempts=MAX_ATTEMPTS)
            fresh = await jobs.enqueue(session, "tests.flaky", {"failures": 0}, max_attempts=MAX_ATTEMPTS)
        await runner.run_next()
        await runner.run_next()
        async with unit_of_work(committed_sessionmaker, None) as session:
            (await session.get(jobs.Job, old.id)).finished_at = clock.utcnow() - timedelta(days=30)
            await session.flush()
            removed = await jobs.prune_finished(session, keep_days=14)
        assert removed == 1
        async with committed_sessionmaker() as session:
            assert await session.get(jobs.Job, old.id) is None
            assert await session.get(jobs.Job, fresh.id) is not None
