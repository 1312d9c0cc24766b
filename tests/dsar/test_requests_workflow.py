"""The workflow's rules: moves out of a closed state are refused, only verified requests start,
a kind has one starter, and completion and failure tell the requester (through a job)."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.dsar import workflow
from opmaestro.dsar.models import CLOSED_STATES, DataRequest, Jurisdiction, RequestKind, RequestState

pytestmark = pytest.mark.usefixtures("no_starters")


async def make_request(session, **fields: Any) -> DataRequest:
    values: dict[str, Any] = {
        "kind": RequestKind.EXPORT,
        "state": RequestState.VERIFIED,
        "jurisdiction": Jurisdiction.OTHER,
        "due_at": utcnow() + timedelta(days=30),
        "email": "someone@example.com",
        "fields": [],
        "progress_percent": 0,
    } | fields
    request = DataRequest(**values)
    session.add(request)
    await session.commit()
    return request


@pytest.mark.parametrize("closed", sorted(CLOSED_STATES))
async def test_a_closed_request_never_moves_again(session, closed) -> None:
    request = await make_request(session, state=closed)
    with pytest.raises(workflow.InvalidTransition):
        await workflow.move(session, request, RequestState.IN_PROGRESS, actor=None)
    assert request.state == closed


@pytest.mark.parametrize("state", [RequestState.RECEIVED, RequestState.IN_PROGRESS])
async def test_only_a_verified_request_starts(session, state, no_starters) -> None:
    async def starter(db, request: DataRequest) -> None:
        raise AssertionError("must not start")

    no_starters[RequestKind.EXPORT] = starter
    request = await make_request(session, state=state)
    with pytest.raises(workflow.InvalidTransition):
        await workflow.start(session, request, actor=None)


def test_a_kind_has_one_starter(no_starters) -> None:
    async def starter(db, request: DataRequest) -> None:
        return None

    workflow.register_starter(RequestKind.EXPORT, starter)
    with pytest.raises(ValueError, match="already registered"):
        workflow.register_starter(RequestKind.EXPORT, starter)


async def test_completion_stamps_the_request_and_queues_the_notice(session) -> None:
    request = await make_request(session, state=RequestState.IN_PROGRESS, progress_percent=40)

    await workflow.complete(session, request, actor=None, outcome="Your file is ready.")

    assert request.state == RequestState.COMPLETED and request.closed_at is not None
    assert request.progress_percent == 100 and request.outcome == "Your file is ready."
    [job] = await session.scalars(select(jobs.Job).where(jobs.Job.name == workflow.NOTIFY_JOB))
    assert job.payload == {"request_id": str(request.id), "notice": "completed"}


async def test_denial_mails_the_reason_at_once(session, settings, outbox) -> None:
    request = await make_request(session)

    await workflow.deny(session, request, settings, actor=None, reason="We hold no data about this address.")

    assert request.state == RequestState.DENIED and request.outcome == "We hold no data about this address."
    [mail] = await outbox("data_request_denied", "someone@example.com")
    assert "We hold no data about this address." in mail.text_body and mail.category == "service"
