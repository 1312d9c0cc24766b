"""Data requests: the signed-in person's, requests by email, and the staff queue."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from opmaestro.accounts.deps import BrowserSession, PrivacyAdministrator
from opmaestro.accounts.exceptions import ReauthenticationRequired, TooManyAttempts
from opmaestro.accounts.routers.shared import MailThrottleDep
from opmaestro.core.access import Public
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import SettingsDep
from opmaestro.core.errors import problem
from opmaestro.core.http import SIGNED_IN_ERRORS, Cursor, Limit, ReasonQuery
from opmaestro.core.pagination import DEFAULT_LIMIT, InvalidCursor, Page
from opmaestro.core.schemas import UtcMoment
from opmaestro.dsar import requests as data_requests
from opmaestro.dsar.exceptions import (
    AlreadyExtended,
    CannotCancel,
    DataRequestNotFound,
    NotACorrection,
    NotAwaitingVerification,
    OpenRequestExists,
    RequestNotOpen,
    VerificationLinkInvalid,
)
from opmaestro.dsar.models import DataRequest, RequestKind, RequestState
from opmaestro.dsar.schemas import (
    AdminDataRequestDetail,
    AdminDataRequestRead,
    AuditEntry,
    DataRequestCreate,
    DataRequestRead,
    DataRequestVerification,
    PublicDataRequestCreate,
    PublicRequestAccepted,
    Resolution,
    StaffReason,
    StaffVerification,
)

me_router = APIRouter(prefix="/me/data-requests", tags=["dsar"], responses=SIGNED_IN_ERRORS)
public_router = APIRouter(prefix="/data-requests", tags=["dsar"])
admin_router = APIRouter(prefix="/admin/data-requests", tags=["admin"], responses=SIGNED_IN_ERRORS)
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem(DataRequestNotFound)}
PUBLIC_ACCEPTED = (
    "If the address can receive mail, a link to confirm the request is on its way. "
    "Nothing happens until it is opened; it works for 24 hours."
)


async def _one(session: SessionDep, request: DataRequest) -> DataRequestRead:
    return (await data_requests.describe(session, [request]))[0]


async def _one_for_staff(session: SessionDep, request: DataRequest) -> AdminDataRequestRead:
    # The caller just acted on this request (audited), so it sees what it wrote.
    return (await data_requests.describe_for_staff(session, [request], personal=True))[0]


@me_router.post(
    "",
    summary="Open a data request",
    status_code=201,
    response_model=DataRequestRead,
    responses={403: problem(ReauthenticationRequired), 409: problem(OpenRequestExists)},
)
async def create_data_request(
    body: DataRequestCreate, principal: BrowserSession, session: SessionDep, settings: SettingsDep
) -> DataRequestRead:
    """Ask for a copy, the erasure or a correction of your data (needs a recent re-authentication)."""
    request = await data_requests.open_request(session, principal, body, settings)
    return await _one(session, request)


@me_router.get(
    "",
    summary="List your data requests",
    response_model=Page[DataRequestRead],
    responses={400: problem(InvalidCursor)},
)
async def list_data_requests(
    principal: BrowserSession, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[DataRequestRead]:
    """Your requests, newest first, with their due dates and outcomes."""
    rows, next_cursor = await data_requests.list_mine(session, principal, cursor=cursor, limit=limit)
    return Page[DataRequestRead](items=await data_requests.describe(session, rows), next_cursor=next_cursor)


@me_router.get(
    "/{request_id}", summary="Read a data request", response_model=DataRequestRead, responses=NOT_FOUND
)
async def get_data_request(
    request_id: UUID, principal: BrowserSession, session: SessionDep
) -> DataRequestRead:
    """One of your requests: state, progress, due date, export file or deletion certificate."""
    return await _one(session, await data_requests.get_mine(session, principal, request_id))


@me_router.post(
    "/{request_id}/cancel",
    summary="Cancel a data request",
    response_model=DataRequestRead,
    responses={**NOT_FOUND, 409: problem(CannotCancel)},
)
async def cancel_data_request(
    request_id: UUID, principal: BrowserSession, session: SessionDep
) -> DataRequestRead:
    """Withdraw an open request (an erasure only before its grace period ends)."""
    return await _one(session, await data_requests.cancel_mine(session, principal, request_id))


@public_router.post(
    "",
    summary="Send a data request by email",
    status_code=202,
    response_model=PublicRequestAccepted,
    dependencies=[Public],
    responses={429: problem(TooManyAttempts)},
)
async def submit_data_request(
    body: PublicDataRequestCreate, session: SessionDep, settings: SettingsDep, throttle_mail: MailThrottleDep
) -> PublicRequestAccepted:
    """For people without an account (or locked out): a link mailed to the address confirms the
    request. The answer is the same whether or not the address has an account."""
    await throttle_mail(str(body.email), bucket="data-request")
    await data_requests.submit_public(session, body, settings)
    return PublicRequestAccepted(detail=PUBLIC_ACCEPTED)


@public_router.post(
    "/verify",
    summary="Confirm a data request sent by email",
    response_model=PublicRequestAccepted,
    dependencies=[Public],
    responses={403: problem(VerificationLinkInvalid)},
)
async def verify_data_request(
    body: DataRequestVerification, session: SessionDep, settings: SettingsDep
) -> PublicRequestAccepted:
    """Open the emailed link: the request is verified and its deadline runs; answers come by email."""
    request = await data_requests.verify_public(session, body.token, settings)
    if request.state == RequestState.DENIED:
        # Only the mailbox's owner has the link, and the mail they get says the same.
        return PublicRequestAccepted(
            detail=(
                "Your address already has a request of this kind being handled; "
                "we have emailed you its reference."
            )
        )
    return PublicRequestAccepted(
        detail="Your request is confirmed; we will answer by email before the due date."
    )


@admin_router.get(
    "",
    summary="List data requests",
    response_model=Page[AdminDataRequestRead],
    responses={400: problem(InvalidCursor)},
)
async def list_queue(
    principal: PrivacyAdministrator,
    session: SessionDep,
    state: RequestState | None = None,
    kind: RequestKind | None = None,
    due_before: UtcMoment | None = None,
    overdue: bool | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AdminDataRequestRead]:
    """The queue, soonest due first, with overdue and due-soon (7 days) badges; without personal
    data (outcomes, reasons and legal holds are shown when a request is opened with a reason).
    Requests filed by email and not yet confirmed by their link are listed only with
    `state=received` (`awaiting_confirmation`)."""
    rows, next_cursor = await data_requests.queue(
        session, state=state, kind=kind, due_before=due_before, overdue=overdue, cursor=cursor, limit=limit
    )
    items = await data_requests.describe_for_staff(session, rows, personal=False)
    return Page[AdminDataRequestRead](items=items, next_cursor=next_cursor)


@admin_router.get(
    "/{request_id}", summary="Open a data request", response_model=AdminDataRequestDetail, responses=NOT_FOUND
)
async def get_queued_request(
    request_id: UUID,
    principal: PrivacyAdministrator,
    session: SessionDep,
    reason: ReasonQuery,
) -> AdminDataRequestDetail:
    """One request with the requester's address and details (audited with the stated reason)."""
    return await data_requests.read_for_staff(session, principal, request_id, reason)


@admin_router.post(
    "/{request_id}/verify",
    summary="Verify a requester's identity",
    response_model=AdminDataRequestRead,
    responses={**NOT_FOUND, 409: problem(NotAwaitingVerification)},
)
async def verify_queued_request(
    request_id: UUID,
    principal: PrivacyAdministrator,
    session: SessionDep,
    settings: SettingsDep,
    body: StaffVerification | None = None,
) -> AdminDataRequestRead:
    """You checked who the requester is (say how in `note`; audited): the request is verified and
    belongs to the account with its address, if any; the requester is told and its work starts.
    If that account already has an open request of the kind, this one is denied, naming it."""
    note = body.note if body is not None else None
    request = await data_requests.verify_by_staff(session, principal, request_id, settings, note=note)
    return await _one_for_staff(session, request)


@admin_router.post(
    "/{request_id}/deny",
    summary="Deny a data request",
    response_model=AdminDataRequestRead,
    responses={**NOT_FOUND, 409: problem(RequestNotOpen)},
)
async def deny_queued_request(
    request_id: UUID,
    body: StaffReason,
    principal: PrivacyAdministrator,
    session: SessionDep,
    settings: SettingsDep,
) -> AdminDataRequestRead:
    """Refuse an open request; the reason is emailed to the requester."""
    request = await data_requests.deny(session, principal, request_id, body.reason, settings)
    return await _one_for_staff(session, request)


@admin_router.post(
    "/{request_id}/extend",
    summary="Extend a data request's deadline",
    response_model=AdminDataRequestRead,
    responses={**NOT_FOUND, 409: problem(AlreadyExtended, RequestNotOpen)},
)
async def extend_queued_request(
    request_id: UUID,
    body: StaffReason,
    principal: PrivacyAdministrator,
    session: SessionDep,
    settings: SettingsDep,
) -> AdminDataRequestRead:
    """Extend the deadline once, as far as the jurisdiction allows; the requester is told why."""
    request = await data_requests.extend(session, principal, request_id, body.reason, settings)
    return await _one_for_staff(session, request)


@admin_router.post(
    "/{request_id}/resolve",
    summary="Resolve a correction request",
    response_model=AdminDataRequestRead,
    responses={**NOT_FOUND, 409: problem(NotACorrection, RequestNotOpen)},
)
async def resolve_queued_request(
    request_id: UUID, body: Resolution, principal: PrivacyAdministrator, session: SessionDep
) -> AdminDataRequestRead:
    """Record how a correction request was handled; it is completed and the requester told."""
    request = await data_requests.resolve(session, principal, request_id, body.resolution)
    return await _one_for_staff(session, request)


@admin_router.get(
    "/{request_id}/audit",
    summary="A data request's audit trail",
    response_model=Page[AuditEntry],
    responses={**NOT_FOUND, 400: problem(InvalidCursor)},
)
async def get_request_audit(
    request_id: UUID,
    principal: PrivacyAdministrator,
    session: SessionDep,
    reason: ReasonQuery,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AuditEntry]:
    """Every recorded step of the request: who did what, when and why; newest first (audited with
    the stated reason)."""
    rows, next_cursor = await data_requests.audit_trail(
        session, principal, request_id, reason=reason, cursor=cursor, limit=limit
    )
    return Page[AuditEntry](items=[AuditEntry.model_validate(row) for row in rows], next_cursor=next_cursor)
