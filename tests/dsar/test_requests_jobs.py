"""The data requests' jobs: requester notices, daily staff reminders, and the 24-month record keeping."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from opmaestro.accounts.models import Role, UserStatus
from opmaestro.audit.models import AuditRecord
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.dsar import tasks, workflow
from opmaestro.dsar.models import DataRequest, RequestState
from tests.factories import create_data_request, create_user

pytestmark = pytest.mark.usefixtures("no_starters")


async def fresh(session, request: DataRequest) -> DataRequest:
    stored = await session.get(DataRequest, request.id, populate_existing=True)
    assert stored is not None
    return stored


def test_both_jobs_run_daily() -> None:
    periodic = jobs.periodic_jobs()
    assert periodic[tasks.REMINDERS_JOB] == periodic[tasks.ANONYMIZE_JOB] == timedelta(days=1)


class TestNotices:
    async def test_a_failure_is_mailed_by_the_notify_job(
        self, session, sessionmaker, settings, outbox
    ) -> None:
        user = await create_user(session, "ann@example.com")
        request = await create_data_request(
            session, user_id=user.id, email=None, state=RequestState.IN_PROGRESS
        )
        await workflow.fail(session, request, actor=None, reason="Traces remained in the support table.")
        await session.commit()
        [job_id] = await session.scalars(select(jobs.Job.id).where(jobs.Job.name == workflow.NOTIFY_JOB))

        assert await jobs.JobRunner(sessionmaker, settings).run_by_id(job_id)

        [mail] = await outbox("data_request_failed", "ann@example.com")
        assert str(request.id) in mail.text_body
        # What went wrong is for staff; the requester is told it will be finished by hand.
        assert "support table" not in mail.text_body

    async def test_an_anonymized_request_sends_nothing(self, session, settings, outbox) -> None:
        request = await create_data_request(session, email=None)
        await workflow.notify(session, settings, request, workflow.Notice.COMPLETED)
        assert await outbox() == []


class TestReminders:
    async def test_officers_get_one_mail_listing_what_is_due_soon_or_overdue(
        self, session, settings, outbox
    ) -> None:
        now = utcnow()
        officer = await create_user(session, "officer@example.com", role=Role.PRIVACY_OFFICER)
        await create_user(session, "admin@example.com", role=Role.ADMIN)
        await create_user(session, "gone@example.com", role=Role.PRIVACY_OFFICER, status=UserStatus.DISABLED)
        overdue = await create_data_request(session, due_at=now - timedelta(days=1))
        soon = await create_data_request(session, due_at=now + timedelta(days=6))
        later = await create_data_request(session, due_at=now + timedelta(days=8))
        closed = await create_data_request(session, due_at=now, state=RequestState.COMPLETED, closed_at=now)

        assert await tasks.send_reminders(session, settings) == 2

        [mail] = await outbox("data_request_reminder")
        assert mail.to_address == officer.email and mail.user_id == officer.id
        assert str(overdue.id) in mail.text_body and str(soon.id) in mail.text_body
        assert str(later.id) not in mail.text_body and str(closed.id) not in mail.text_body
        assert "(1 overdue)" in mail.subject
        assert (await fresh(session, overdue)).reminded_at is not None
        assert (await fresh(session, later)).reminded_at is None

    async def test_requests_awaiting_their_link_are_left_out(self, session, settings, outbox) -> None:
        await create_user(session, "officer@example.com", role=Role.PRIVACY_OFFICER)
        unconfirmed = await create_data_request(
            session, state=RequestState.RECEIVED, due_at=utcnow() - timedelta(days=1), verification_hash="d"
        )
        confirmed = await create_data_request(session, due_at=utcnow() + timedelta(days=2))

        assert await tasks.send_reminders(session, settings) == 1

        [mail] = await outbox("data_request_reminder")
        assert str(confirmed.id) in mail.text_body and str(unconfirmed.id) not in mail.text_body

    async def test_once_per_request_per_day(self, session, settings, outbox, clock) -> None:
        await create_user(session, "officer@example.com", role=Role.PRIVACY_OFFICER)
        await create_data_request(session, due_at=utcnow() + timedelta(days=2))

        assert await tasks.send_reminders(session, settings) == 1
        clock.advance(hours=23)
        assert await tasks.send_reminders(session, settings) == 0
        clock.advance(hours=1)
        assert await tasks.send_reminders(session, settings) == 1
        assert len(await outbox("data_request_reminder")) == 2

    async def test_runs_as_the_periodic_job(self, session, sessionmaker, settings, outbox) -> None:
        await create_user(session, "officer@example.com", role=Role.PRIVACY_OFFICER)
        await create_data_request(session, due_at=utcnow() + timedelta(days=1))
        job = await jobs.enqueue(session, tasks.REMINDERS_JOB, {}, max_attempts=1)
        await session.commit()

        assert await jobs.JobRunner(sessionmaker, settings).run_by_id(job.id)
        assert len(await outbox("data_request_reminder")) == 1


class TestRecordKeeping:
    async def test_closed_records_lose_their_personal_data_after_24_months(self, session) -> None:
        now = utcnow()
        old = await create_data_request(
            session,
            state=RequestState.DENIED,
            closed_at=now - timedelta(days=731),
            details="My details",
            outcome="Manifestly unfounded.",
        )
        recent = await create_data_request(
            session, state=RequestState.COMPLETED, closed_at=now - timedelta(days=700)
        )
        open_old = await create_data_request(session, due_at=now - timedelta(days=800))

        assert await tasks.anonymize_old_requests(session) == (0, 1)

        stored = await fresh(session, old)
        assert (stored.email, stored.details, stored.outcome) == (None, None, None)
        assert stored.anonymized_at is not None and stored.kind == "export" and stored.state == "denied"
        assert (await fresh(session, recent)).email == "someone@example.com"
        assert (await fresh(session, open_old)).email == "someone@example.com"
        actions = await session.scalars(
            select(AuditRecord.action).where(AuditRecord.subject_id == str(old.id))
        )
        assert list(actions) == ["data_request.anonymized"]

    async def test_anonymizing_is_done_once(self, session) -> None:
        await create_data_request(
            session, state=RequestState.DENIED, closed_at=utcnow() - timedelta(days=800)
        )
        assert await tasks.anonymize_old_requests(session) == (0, 1)
        assert await tasks.anonymize_old_requests(session) == (0, 0)

    async def test_requests_by_email_never_verified_are_cancelled_after_a_week(self, session, clock) -> None:
        stale = await create_data_request(session, state=RequestState.RECEIVED, verification_hash="a" * 64)
        clock.advance(days=7, seconds=1)
        fresh_one = await create_data_request(
            session, state=RequestState.RECEIVED, verification_hash="b" * 64
        )
        by_staff = await create_data_request(
            session, state=RequestState.RECEIVED, created_at=utcnow() - timedelta(days=9)
        )

        assert await tasks.anonymize_old_requests(session) == (1, 0)

        cancelled = await fresh(session, stale)
        assert cancelled.state == RequestState.CANCELLED and cancelled.verification_hash is None
        assert (await fresh(session, fresh_one)).state == RequestState.RECEIVED
        # A request without a link (staff verify it by hand) is left for staff.
        assert (await fresh(session, by_staff)).state == RequestState.RECEIVED
