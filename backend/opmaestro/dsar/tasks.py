"""Job handlers of the data requests: requester notices, staff reminders, and record keeping."""

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.models import Role, User, UserStatus
from opmaestro.audit import service as audit
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.links import public_url
from opmaestro.dsar import deadlines, workflow
from opmaestro.dsar import requests as data_requests
from opmaestro.dsar.models import OPEN_STATES, DataRequest, RequestState
from opmaestro.notifications import service as notifications

REMINDERS_JOB = "dsar.reminders"
ANONYMIZE_JOB = "dsar.anonymize_old_requests"
KEEP_CLOSED = timedelta(days=730)
UNVERIFIED_FOR = timedelta(days=7)
REMIND_EVERY = timedelta(days=1)


@jobs.handler(workflow.NOTIFY_JOB)
async def notify_requester(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    request = await context.session.get(DataRequest, UUID(payload["request_id"]))
    if request is not None:
        await workflow.notify(context.session, context.settings, request, workflow.Notice(payload["notice"]))


async def send_reminders(session: AsyncSession, settings: Settings) -> int:
    """Email every privacy officer the open requests due within a week or overdue, each at most
    once a day; returns how many requests were included."""
    now = utcnow()
    due = list(
        (
            await session.scalars(
                select(DataRequest)
                .where(
                    DataRequest.state.in_(OPEN_STATES),
                    data_requests.confirmed(),
                    DataRequest.due_at <= now + deadlines.SOON,
                    or_(DataRequest.reminded_at.is_(None), DataRequest.reminded_at <= now - REMIND_EVERY),
                )
                .order_by(DataRequest.due_at, DataRequest.id)
                .with_for_update(skip_locked=True)
            )
        ).all()
    )
    if not due:
        return 0
    officers = list(
        (
            await session.scalars(
                select(User).where(User.role == Role.PRIVACY_OFFICER, User.status == UserStatus.ACTIVE)
            )
        ).all()
    )
    items = [
        {
            "reference": str(request.id),
            "kind": request.kind,
            "state": request.state,
            "due_date": request.due_at.date().isoformat(),
            "overdue": deadlines.is_overdue(request.due_at, now),
        }
        for request in due
    ]
    for officer in officers:
        await notifications.send_email(
            session,
            settings,
            officer.email,
            "data_request_reminder",
            {
                "name": officer.name,
                "requests": items,
                "overdue": sum(1 for item in items if item["overdue"]),
                "url": public_url(settings, "/admin/data-requests"),
            },
            user_id=officer.id,
        )
    for request in due:
        request.reminded_at = now
    await session.flush()
    return len(due)


async def anonymize_old_requests(session: AsyncSession) -> tuple[int, int]:
    """Cancel requests by email never verified within a week, and strip the personal data from
    records closed more than 24 months ago (kept: kind, dates, jurisdiction, states). Returns
    (cancelled, anonymized)."""
    now = utcnow()
    unverified = list(
        (
            await session.scalars(
                select(DataRequest).where(
                    DataRequest.state == RequestState.RECEIVED,
                    DataRequest.verification_hash.is_not(None),
                    DataRequest.created_at <= now - UNVERIFIED_FOR,
                )
            )
        ).all()
    )
    for request in unverified:
        request.verification_hash = None
        await workflow.move(session, request, RequestState.CANCELLED, actor=None, reason="never verified")
    old = list(
        (
            await session.scalars(
                select(DataRequest).where(
                    DataRequest.closed_at <= now - KEEP_CLOSED, DataRequest.anonymized_at.is_(None)
                )
            )
        ).all()
    )
    for request in old:
        request.email = None
        request.details = None
        request.outcome = None
        request.extension_reason = None
        request.verification_hash = None
        request.anonymized_at = now
    if old:
        await session.execute(
            insert(audit.TABLE),
            [
                audit.entry(
                    actor=None,
                    action="data_request.anonymized",
                    subject_type="data_request",
                    subject_id=request.id,
                    fields=["details", "email", "outcome"],
                    reason="kept 24 months after closing",
                )
                for request in old
            ],
        )
    await session.flush()
    return len(unverified), len(old)


@jobs.handler(REMINDERS_JOB)
async def reminders(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    await send_reminders(context.session, context.settings)


@jobs.handler(ANONYMIZE_JOB)
async def anonymize(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    await anonymize_old_requests(context.session)


jobs.periodic(REMINDERS_JOB, every=timedelta(days=1))
jobs.periodic(ANONYMIZE_JOB, every=timedelta(days=1))
