"""The workflow's rules: moves out of a closed state are refused, only verified requests start,
a kind has one starter, and completion and failure tell the requester (through a job)."""

import pytest
from sqlalchemy import select

from opmaestro.accounts.models import UserStatus
from opmaestro.core import jobs
from opmaestro.core.config import Settings
from opmaestro.dsar import workflow
from opmaestro.dsar.models import CLOSED_STATES, DataRequest, RequestKind, RequestState
from tests.factories import create_data_request, create_user

pytestmark = pytest.mark.usefixtures("no_starters")


@pytest.mark.parametrize("closed", sorted(CLOSED_STATES))
async def test_a_closed_request_never_moves_again(session, closed) -> None:
    request = await create_data_request(session, state=closed)
    with pytest.raises(workflow.InvalidTransition):
        await workflow.move(session, request, RequestState.IN_PROGRESS, actor=None)
    assert request.state == closed


@pytest.mark.parametrize("state", [RequestState.RECEIVED, RequestState.IN_PROGRESS])
async def test_only_a_verified_request_starts(session, state, no_starters) -> None:
    async def starter(db, _settings, request: DataRequest, _actor) -> None:
        raise AssertionError("must not start")

    no_starters[RequestKind.EXPORT] = starter
    request = await create_data_request(session, state=state)
    with pytest.raises(workflow.InvalidTransition):
        await workflow.start(session, Settings(), request, actor=None)


def test_a_kind_has_one_starter(no_starters) -> None:
    async def starter(db, _settings, request: DataRequest, _actor) -> None:
        return None

    workflow.register_starter(RequestKind.EXPORT, starter)
    with pytest.raises(ValueError, match="already registered"):
        workflow.register_starter(RequestKind.EXPORT, starter)


async def test_completion_stamps_the_request_and_queues_the_notice(session) -> None:
    request = await create_data_request(session, state=RequestState.IN_PROGRESS, progress_percent=40)

    await workflow.complete(session, request, actor=None, outcome="Your file is ready.")

    assert request.state == RequestState.COMPLETED and request.closed_at is not None
    assert request.progress_percent == 100 and request.outcome == "Your file is ready."
    [job] = await session.scalars(select(jobs.Job).where(jobs.Job.name == workflow.NOTIFY_JOB))
    assert job.payload == {"request_id": str(request.id), "notice": "completed"}


async def test_denial_mails_the_reason_at_once(session, settings, outbox) -> None:
    request = await create_data_request(session)

    await workflow.deny(session, request, settings, actor=None, reason="We hold no data about this address.")

    assert request.state == RequestState.DENIED and request.outcome == "We hold no data about this address."
    [mail] = await outbox("data_request_denied", "someone@example.com")
    assert "We hold no data about this address." in mail.text_body and mail.category == "service"


async def test_an_erased_account_gets_no_notice_at_its_anonymized_address(session, settings, outbox) -> None:
    user = await create_user(session, email="gone@example.com")
    request = await create_data_request(session, kind=RequestKind.ERASURE, user_id=user.id, email=None)
    user.email, user.status = "erased-0123@erased.invalid", UserStatus.ERASED
    await session.commit()

    assert await workflow.requester(session, request) == (None, None)
    await workflow.notify(session, settings, request, workflow.Notice.COMPLETED)
    assert await outbox("data_request_completed", "erased-0123@erased.invalid") == []
