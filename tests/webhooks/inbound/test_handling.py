"""The job that runs handlers: once per event, retried on failure, ignored when nobody handles
the type; the ordering guard; linking an event to its person; pruning."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.webhooks.inbound import store
from opmaestro.webhooks.inbound.models import EventState, InboundEvent, ObjectVersion
from opmaestro.webhooks.inbound.registry import (
    Provider,
    ProviderEvent,
    handled_types,
    handlers_for,
    handles,
    is_newer,
    link_subject,
)
from tests.factories import create_user
from tests.webhooks.inbound.conftest import stored
from tests.webhooks.inbound.signing import stripe_event, stripe_signature

URL = "/api/v1/webhooks/stripe"
seen: list[tuple[str, str, dict[str, Any]]] = []
failures: dict[str, int] = {}


@handles(Provider.STRIPE, "test.recorded")
async def record(context: jobs.JobContext, event: ProviderEvent) -> None:
    seen.append((event.event_id, event.event_type, event.payload))


@handles(Provider.STRIPE, "test.flaky")
async def flaky(context: jobs.JobContext, event: ProviderEvent) -> None:
    failures[event.event_id] = failures.get(event.event_id, 0) + 1
    if failures[event.event_id] < 3:
        raise RuntimeError(f"provider API down (try {failures[event.event_id]})")
    seen.append((event.event_id, event.event_type, {}))


@handles(Provider.STRIPE, "test.broken")
async def broken(context: jobs.JobContext, event: ProviderEvent) -> None:
    raise RuntimeError("always fails")


@handles(Provider.STRIPE, "test.ordered")
async def ordered(context: jobs.JobContext, event: ProviderEvent) -> None:
    if await is_newer(context.session, event.provider, event.object_id, event.object_version):
        seen.append((event.event_id, "applied", {}))


@pytest.fixture(autouse=True)
def clean() -> None:
    seen.clear()
    failures.clear()


async def deliver(client, event_id: str, event_type: str, **fields: Any) -> None:
    body = stripe_event(event_id, event_type, **fields)
    response = await client.post(URL, content=body, headers={"stripe-signature": stripe_signature(body)})
    assert response.status_code == 200, response.text


async def run_all(runner: jobs.JobRunner) -> int:
    ran = 0
    while await runner.run_next():
        ran += 1
    return ran


async def make_due(session) -> None:
    """Retries wait for their backoff: bring them forward instead of sleeping."""
    await session.execute(
        update(jobs.Job).where(jobs.Job.status == jobs.JobStatus.QUEUED).values(run_at=utcnow())
    )
    await session.commit()


class TestRegistry:
    def test_handlers_are_found_by_provider_and_type(self):
        assert handlers_for(Provider.STRIPE, "test.recorded") == (record,)
        assert handlers_for(Provider.GUSTO, "test.recorded") == ()
        assert "test.recorded" in handled_types()[Provider.STRIPE]

    def test_registering_twice_keeps_one(self):
        handles(Provider.STRIPE, "test.recorded")(record)
        assert handlers_for(Provider.STRIPE, "test.recorded") == (record,)

    def test_a_type_is_required(self):
        with pytest.raises(ValueError, match="at least one event type"):
            handles(Provider.STRIPE)


class TestJob:
    async def test_the_handler_runs_once_with_the_parsed_event(self, client, session, runner):
        await deliver(client, "evt_once", "test.recorded")
        await deliver(client, "evt_once", "test.recorded")
        assert await run_all(runner) == 1
        [(event_id, event_type, payload)] = seen
        assert (event_id, event_type) == ("evt_once", "test.recorded")
        assert payload["data"]["object"]["id"] == "cus_123"
        [event] = await stored(session, event_id="evt_once")
        assert event.state == EventState.HANDLED and event.attempts == 1 and event.handled_at is not None

    async def test_an_event_nobody_handles_is_kept_and_marked_ignored(self, client, session, runner):
        await deliver(client, "evt_nobody", "invoice.created")
        assert await run_all(runner) == 0
        [event] = await stored(session, event_id="evt_nobody")
        assert event.state == EventState.IGNORED and seen == []

    async def test_an_event_whose_handler_went_away_is_marked_ignored_by_the_job(self, session, runner):
        row = await store.receive(
            session,
            runner.settings,
            provider=Provider.STRIPE,
            event_id="evt_gone",
            event_type="test.recorded",
            body="{}",
        )
        assert row
        [event] = await stored(session, event_id="evt_gone")
        event.event_type = "test.no-longer-handled"
        await session.commit()
        assert await run_all(runner) == 1
        [event] = await stored(session, event_id="evt_gone")
        assert event.state == EventState.IGNORED and seen == []

    async def test_a_failing_handler_is_retried_until_it_succeeds(self, client, session, runner):
        await deliver(client, "evt_flaky", "test.flaky")
        assert await runner.run_next()
        [event] = await stored(session, event_id="evt_flaky")
        assert event.state == EventState.RECEIVED and event.attempts == 1
        assert "provider API down (try 1)" in (event.last_error or "")
        job = await session.scalar(select(jobs.Job).where(jobs.Job.name == store.HANDLE_JOB))
        assert job is not None and job.status == jobs.JobStatus.QUEUED and job.attempts == 1
        await make_due(session)
        assert await runner.run_next()
        await make_due(session)
        assert await runner.run_next()
        assert seen == [("evt_flaky", "test.flaky", {})]
        [event] = await stored(session, event_id="evt_flaky")
        assert event.state == EventState.HANDLED and event.attempts == 3 and event.last_error is None

    async def test_when_retries_run_out_the_event_is_marked_failed(
        self, client, session, runner, hook_settings
    ):
        await deliver(client, "evt_broken", "test.broken")
        for _ in range(hook_settings.job_max_attempts):
            await make_due(session)
            assert await runner.run_next()
        assert not await runner.run_next()
        [event] = await stored(session, event_id="evt_broken")
        assert event.state == EventState.FAILED and "always fails" in (event.last_error or "")
        job = await session.scalar(select(jobs.Job).where(jobs.Job.name == store.HANDLE_JOB))
        assert job is not None and job.status == jobs.JobStatus.DEAD

    async def test_reordered_deliveries_never_roll_state_back(self, client, session, runner):
        now = int(utcnow().timestamp())
        await deliver(client, "evt_newer", "test.ordered", created=now)
        await deliver(client, "evt_older", "test.ordered", created=now - 60)
        await run_all(runner)
        # Whatever order the jobs ran in, the older event was not applied after the newer one.
        applied = [event_id for event_id, _, _ in seen]
        assert applied[-1] == "evt_newer" and applied in (["evt_newer"], ["evt_older", "evt_newer"])


class TestIsNewer:
    async def test_only_a_greater_version_is_newer(self, session):
        assert await is_newer(session, Provider.STRIPE, "sub_1", 10)
        assert not await is_newer(session, Provider.STRIPE, "sub_1", 10)
        assert not await is_newer(session, Provider.STRIPE, "sub_1", 9)
        assert await is_newer(session, Provider.STRIPE, "sub_1", 11)
        assert not await is_newer(session, Provider.STRIPE, "sub_1", 10)

    async def test_objects_and_providers_are_apart(self, session):
        assert await is_newer(session, Provider.STRIPE, "obj", 5)
        assert await is_newer(session, Provider.GUSTO, "obj", 1)
        assert await is_newer(session, Provider.STRIPE, "other", 1)

    async def test_without_an_object_or_version_everything_is_newer(self, session):
        assert await is_newer(session, Provider.STRIPE, None, 1)
        assert await is_newer(session, Provider.STRIPE, "obj", None)

    async def test_the_object_id_itself_is_not_stored(self, session):
        await is_newer(session, Provider.STRIPE, "cus_personal", 1)
        keys = (await session.scalars(select(ObjectVersion.object_key))).all()
        assert keys and "cus_personal" not in keys


class TestSubjectsAndPruning:
    async def test_link_subject_makes_the_event_the_persons(self, client, session, runner):
        user_id = (await create_user(session)).id
        await deliver(client, "evt_mine", "invoice.created")
        [row] = await stored(session, event_id="evt_mine")
        await link_subject(session, store.event_of(row), user_id)
        await session.commit()
        [row] = await stored(session, event_id="evt_mine")
        assert row.user_id == user_id

    async def test_handled_events_are_pruned_after_the_kept_days(self, client, session, runner, clock):
        await deliver(client, "evt_prune", "test.recorded")
        await run_all(runner)
        assert await store.prune(session, 30) == 0
        clock.advance(days=31)
        assert await store.prune(session, 30) == 1
        assert await stored(session, event_id="evt_prune") == []

    async def test_failed_events_are_kept_twice_as_long(self, session, clock):
        session.add(
            InboundEvent(
                provider="stripe",
                event_id="evt_failed_old",
                event_type="x",
                body="{}",
                state=EventState.FAILED,
                handled_at=utcnow() - timedelta(days=45),
            )
        )
        await session.commit()
        assert await store.prune(session, 30) == 0
        clock.advance(days=16)
        assert await store.prune(session, 30) == 1

    async def test_pruning_runs_every_day(self):
        assert jobs.periodic_jobs()["webhooks.inbound.prune"] == timedelta(days=1)
