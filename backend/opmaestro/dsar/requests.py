"""Data requests: opened by account holders or by email, answered by staff or by the workflow."""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import reauthentication
from opmaestro.accounts import service as accounts
from opmaestro.accounts.deps import Principal
from opmaestro.accounts.models import User
from opmaestro.audit import service as audit
from opmaestro.audit.models import AuditRecord
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.links import public_url
from opmaestro.core.pagination import decode_cursor, encode_cursor, newest_first, page_of
from opmaestro.core.security import hash_token, new_token
from opmaestro.dsar import deadlines, workflow
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
from opmaestro.dsar.models import (
    OPEN_STATES,
    DataRequest,
    Jurisdiction,
    LegalHold,
    RequestKind,
    RequestState,
)
from opmaestro.dsar.schemas import (
    AdminDataRequestDetail,
    AdminDataRequestRead,
    DataRequestCreate,
    DataRequestRead,
    ExportFile,
    LegalHoldNotice,
    PublicDataRequestCreate,
)
from opmaestro.notifications import service as notifications

VERIFICATION_LINK_HOURS = 24
SUBJECT = "data_request"


# --- reading -----------------------------------------------------------------------------------


async def _holds_by_user(session: AsyncSession, user_ids: set[UUID]) -> dict[UUID, list[LegalHold]]:
    if not user_ids:
        return {}
    rows = await session.scalars(
        select(LegalHold)
        .where(LegalHold.user_id.in_(user_ids), LegalHold.released_at.is_(None))
        .order_by(LegalHold.created_at)
    )
    holds: dict[UUID, list[LegalHold]] = {}
    for hold in rows:
        holds.setdefault(hold.user_id, []).append(hold)
    return holds


def _export_of(request: DataRequest, now: datetime) -> ExportFile | None:
    if (
        request.export_file is None
        or request.export_sha256 is None
        or request.export_size is None
        or request.export_expires_at is None
        or request.export_expires_at <= now
    ):
        return None
    return ExportFile(
        size_bytes=request.export_size, sha256=request.export_sha256, expires_at=request.export_expires_at
    )


def _fields(request: DataRequest, holds: list[LegalHold], now: datetime) -> dict[str, object]:
    is_open = request.state in OPEN_STATES
    return {
        "id": request.id,
        "kind": request.kind,
        "state": request.state,
        "created_at": request.created_at,
        "due_at": request.due_at,
        "extended": request.extended_at is not None,
        "extension_reason": request.extension_reason,
        "closed_at": request.closed_at,
        "outcome": request.outcome,
        "progress_percent": request.progress_percent,
        # When the erasure will run: only while it can still happen (not once cancelled or closed).
        "erase_after": request.erase_after if is_open else None,
        "fields": list(request.fields or []),
        "export": _export_of(request, now),
        "certificate": request.certificate,
        "legal_holds": [
            LegalHoldNotice(category=hold.category, reason=hold.reason, since=hold.created_at)
            for hold in (holds if is_open else [])
        ],
    }


async def describe(session: AsyncSession, requests: list[DataRequest]) -> list[DataRequestRead]:
    """What the requester sees of each request, with the legal holds on their data."""
    holds = await _holds_by_user(session, {r.user_id for r in requests if r.user_id})
    now = utcnow()
    return [
        DataRequestRead.model_validate(_fields(r, holds.get(r.user_id, []) if r.user_id else [], now))
        for r in requests
    ]


def _staff_fields(request: DataRequest, holds: list[LegalHold], now: datetime) -> dict[str, object]:
    return _fields(request, holds, now) | {
        "user_id": request.user_id,
        "jurisdiction": request.jurisdiction,
        "verified_at": request.verified_at,
        "started_at": request.started_at,
        "extended_at": request.extended_at,
        "overdue": request.state in OPEN_STATES and deadlines.is_overdue(request.due_at, now),
        "due_soon": request.state in OPEN_STATES and deadlines.is_due_soon(request.due_at, now),
        "awaiting_confirmation": _awaiting_confirmation(request),
    }


def confirmed() -> ColumnElement[bool]:
    """Not a request by email whose link is still unopened (anyone can file those: until the
    requester confirms there is nothing to do, so they stay out of the queue and reminders)."""
    return or_(DataRequest.state != RequestState.RECEIVED, DataRequest.verification_hash.is_(None))


def _awaiting_confirmation(request: DataRequest) -> bool:
    return request.state == RequestState.RECEIVED and request.verification_hash is not None


async def describe_for_staff(
    session: AsyncSession, requests: list[DataRequest], *, personal: bool
) -> list[AdminDataRequestRead]:
    """Requests as staff see them; without `personal` (the queue, read without a reason) the
    outcome and legal-hold reasons, which can describe the person, are left out."""
    holds = await _holds_by_user(session, {r.user_id for r in requests if r.user_id}) if personal else {}
    now = utcnow()
    described = []
    for request in requests:
        fields = _staff_fields(request, holds.get(request.user_id, []) if request.user_id else [], now)
        if not personal:
            fields |= {"outcome": None, "extension_reason": None}
        described.append(AdminDataRequestRead.model_validate(fields))
    return described


# --- the signed-in requester ---------------------------------------------------------------------


async def _open_of_kind(
    session: AsyncSession, user_id: UUID, kind: RequestKind, *, besides: UUID | None = None
) -> DataRequest | None:
    statement = select(DataRequest).where(
        DataRequest.user_id == user_id, DataRequest.kind == kind, DataRequest.state.in_(OPEN_STATES)
    )
    if besides is not None:
        statement = statement.where(DataRequest.id != besides)
    return await session.scalar(statement.order_by(DataRequest.created_at).limit(1))


async def _lock_user(session: AsyncSession, user_id: UUID) -> None:
    # Serializes one person's requests being opened or verified, so that two cannot both pass
    # the one-open-request-per-kind check.
    await session.execute(select(User.id).where(User.id == user_id).with_for_update())


async def _received(
    session: AsyncSession,
    *,
    kind: RequestKind,
    jurisdiction: Jurisdiction,
    actor: Principal | None,
    user_id: UUID | None,
    email: str | None = None,
    details: str | None = None,
    fields: list[str] | None = None,
    verification_hash: str | None = None,
) -> DataRequest:
    now = utcnow()
    request = DataRequest(
        kind=kind,
        state=RequestState.RECEIVED,
        user_id=user_id,
        email=email,
        jurisdiction=jurisdiction,
        details=details,
        fields=fields or [],
        due_at=deadlines.due_at(jurisdiction, now),
        progress_percent=0,
        verification_hash=verification_hash,
        created_at=now,
    )
    session.add(request)
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        action="data_request.received",
        subject_type=SUBJECT,
        subject_id=request.id,
        fields=["kind", "state"] + (["details"] if details else []) + (["email"] if email else []),
    )
    return request


async def open_request(
    session: AsyncSession, principal: Principal, body: DataRequestCreate, settings: Settings
) -> DataRequest:
    """Record a request of the signed-in person (verified at once: they just re-authenticated),
    mail the receipt and hand it to its kind's worker, if any."""
    reauthentication.require_recent_reauthentication(principal, settings)
    user = principal.signed_in_user
    await _lock_user(session, user.id)
    if await _open_of_kind(session, user.id, body.kind) is not None:
        raise OpenRequestExists(f"You already have an open {body.kind} request; cancel it or wait for it.")
    request = await _received(
        session,
        kind=body.kind,
        jurisdiction=deadlines.jurisdiction_of(user.country, body.us_state),
        actor=principal,
        user_id=user.id,
        details=body.details,
        fields=[str(field) for field in body.fields],
    )
    await workflow.move(session, request, RequestState.VERIFIED, actor=principal, reason="re-authenticated")
    await workflow.start(session, settings, request, actor=principal)
    # After the start, so that an erasure's receipt says when it will run.
    await workflow.notify(session, settings, request, workflow.Notice.RECEIVED)
    await session.flush()
    return request


async def list_mine(
    session: AsyncSession, principal: Principal, *, cursor: str | None, limit: int
) -> tuple[list[DataRequest], str | None]:
    """The signed-in person's requests, newest first."""
    statement = select(DataRequest).where(DataRequest.user_id == principal.signed_in_user.id)
    rows = list(
        await session.scalars(newest_first(statement, DataRequest.created_at, DataRequest.id, cursor, limit))
    )
    return page_of(rows, limit)


async def get_mine(session: AsyncSession, principal: Principal, request_id: UUID) -> DataRequest:
    """One of the signed-in person's requests; anyone else's is not found."""
    request = await session.get(DataRequest, request_id)
    if request is None or request.user_id != principal.signed_in_user.id:
        raise DataRequestNotFound("No such data request.")
    return request


async def cancel_mine(session: AsyncSession, principal: Principal, request_id: UUID) -> DataRequest:
    """Withdraw an open request; an erasure only until its grace period ends."""
    request = await get_mine(session, principal, request_id)
    if request.state not in OPEN_STATES:
        raise CannotCancel(f"The request is already {request.state}.")
    if (
        request.kind == RequestKind.ERASURE
        and request.erase_after is not None
        and utcnow() >= request.erase_after
    ):
        raise CannotCancel("The erasure has begun; it can no longer be cancelled.")
    await workflow.move(session, request, RequestState.CANCELLED, actor=principal)
    return request


# --- requests by email -------------------------------------------------------------------------


async def submit_public(session: AsyncSession, body: PublicDataRequestCreate, settings: Settings) -> None:
    """Record a request from an address and mail it a verification link.

    The same insert and the same mail whether or not the address has an account: neither the
    answer nor the mailbox says which. Nothing starts until the link is opened."""
    token = new_token()
    address = accounts.normalize_email(str(body.email))
    request = await _received(
        session,
        kind=body.kind,
        jurisdiction=deadlines.jurisdiction_of(body.country, body.us_state),
        actor=None,
        user_id=None,
        email=address,
        details=body.details,
        fields=[str(field) for field in body.fields],
        verification_hash=hash_token(token),
    )
    await notifications.send_email(
        session,
        settings,
        address,
        "data_request_verify",
        {
            "kind": workflow.KIND_LABELS[body.kind],
            "reference": str(request.id),
            "url": public_url(settings, "/privacy-request/verify", token=token),
            "hours": VERIFICATION_LINK_HOURS,
        },
    )
    await session.flush()


async def verify_public(session: AsyncSession, token: str, settings: Settings) -> DataRequest:
    """Verify a request from its emailed link; it then belongs to the account with that address, if any."""
    request = await session.scalar(
        select(DataRequest).where(DataRequest.verification_hash == hash_token(token)).with_for_update()
    )
    if request is None or request.state != RequestState.RECEIVED:
        raise VerificationLinkInvalid("This link is not valid, or was already used.")
    if utcnow() - request.created_at > timedelta(hours=VERIFICATION_LINK_HOURS):
        raise VerificationLinkInvalid("This link has expired; send the request again.")
    await _verify(session, settings, request, actor=None, reason="email link opened")
    return request


async def _verify(
    session: AsyncSession, settings: Settings, request: DataRequest, *, actor: Principal | None, reason: str
) -> None:
    """The requester is who they say: a request filed by email now belongs to the account with that
    address, if any; it is verified, the receipt mailed and the work started. When that account
    already has an open request of the kind, this one is denied instead, naming the other."""
    request.verification_hash = None
    if request.user_id is None and request.email:
        user = await accounts.get_by_email(session, request.email)
        if user is not None:
            await _lock_user(session, user.id)
            request.user_id = user.id
    if request.user_id is not None:
        kind = RequestKind(request.kind)
        existing = await _open_of_kind(session, request.user_id, kind, besides=request.id)
        if existing is not None:
            await workflow.deny(
                session,
                request,
                settings,
                actor=actor,
                reason=f"This request is already being handled as request {existing.id}.",
            )
            await session.flush()
            return
    await workflow.move(session, request, RequestState.VERIFIED, actor=actor, reason=reason)
    await workflow.start(session, settings, request, actor=actor)
    # After the start, so that an erasure's receipt says when it will run.
    await workflow.notify(session, settings, request, workflow.Notice.RECEIVED)
    await session.flush()


# --- staff -------------------------------------------------------------------------------------


def _earliest_due_first(statement: Select[Any], cursor: str | None, limit: int) -> Select[Any]:
    if cursor:
        after_due, after_id = decode_cursor(cursor)
        statement = statement.where(
            or_(
                DataRequest.due_at > after_due,
                and_(DataRequest.due_at == after_due, DataRequest.id > after_id),
            )
        )
    return statement.order_by(DataRequest.due_at, DataRequest.id).limit(limit + 1)


async def queue(
    session: AsyncSession,
    *,
    state: RequestState | None,
    kind: RequestKind | None,
    due_before: datetime | None,
    overdue: bool | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[DataRequest], str | None]:
    """Requests for staff, soonest due first (no personal data in the list: no reason needed).

    Requests filed by email whose link was never opened are listed only when `state` is
    `received`: anyone can file them, and until confirmed there is nothing to do."""
    statement = select(DataRequest)
    if state is not None:
        statement = statement.where(DataRequest.state == state)
    else:
        statement = statement.where(confirmed())
    if kind is not None:
        statement = statement.where(DataRequest.kind == kind)
    if due_before is not None:
        statement = statement.where(DataRequest.due_at < due_before)
    now = utcnow()
    if overdue is True:
        statement = statement.where(DataRequest.state.in_(OPEN_STATES), DataRequest.due_at <= now)
    elif overdue is False:
        statement = statement.where(or_(DataRequest.state.not_in(OPEN_STATES), DataRequest.due_at > now))
    rows: list[DataRequest] = list(
        (await session.scalars(_earliest_due_first(statement, cursor, limit))).all()
    )
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(last.due_at, last.id)


async def _get(session: AsyncSession, request_id: UUID, *, lock: bool = False) -> DataRequest:
    statement = select(DataRequest).where(DataRequest.id == request_id)
    request = await session.scalar(statement.with_for_update() if lock else statement)
    if request is None:
        raise DataRequestNotFound("No such data request.")
    return request


async def read_for_staff(
    session: AsyncSession, principal: Principal, request_id: UUID, reason: str
) -> AdminDataRequestDetail:
    """One request with the requester's address and details; audited with the stated reason."""
    request = await _get(session, request_id)
    await audit.record(
        session,
        actor=principal,
        action="data_request.read",
        subject_type=SUBJECT,
        subject_id=request.id,
        fields=["email", "details"],
        reason=reason,
    )
    address, _name = await workflow.requester(session, request)
    holds = await _holds_by_user(session, {request.user_id} if request.user_id else set())
    fields = _staff_fields(request, holds.get(request.user_id, []) if request.user_id else [], utcnow())
    return AdminDataRequestDetail.model_validate(fields | {"email": address, "details": request.details})


async def verify_by_staff(
    session: AsyncSession, principal: Principal, request_id: UUID, settings: Settings, *, note: str | None
) -> DataRequest:
    """Staff checked the requester's identity (`note`: how; audited): verified as if the emailed
    link had been opened (linked to the account with the address, at most one open per kind)."""
    request = await _get(session, request_id, lock=True)
    if request.state != RequestState.RECEIVED:
        raise NotAwaitingVerification(f"The request is {request.state}, not awaiting verification.")
    reason = f"identity checked by staff: {note}" if note else "identity checked by staff"
    await _verify(session, settings, request, actor=principal, reason=reason)
    return request


async def deny(
    session: AsyncSession, principal: Principal, request_id: UUID, reason: str, settings: Settings
) -> DataRequest:
    """Refuse an open request; the requester is told the reason."""
    request = await _get(session, request_id, lock=True)
    if request.state not in OPEN_STATES:
        raise RequestNotOpen(f"The request is already {request.state}.")
    request.verification_hash = None
    await workflow.deny(session, request, settings, actor=principal, reason=reason)
    await session.flush()
    return request


async def extend(
    session: AsyncSession, principal: Principal, request_id: UUID, reason: str, settings: Settings
) -> DataRequest:
    """Move the deadline once, as far as the jurisdiction allows; the requester is told why."""
    request = await _get(session, request_id, lock=True)
    if request.state not in OPEN_STATES:
        raise RequestNotOpen(f"The request is already {request.state}.")
    if request.extended_at is not None:
        raise AlreadyExtended("The deadline of a request can be extended only once.")
    request.due_at = deadlines.extended_due_at(Jurisdiction(request.jurisdiction), request.due_at)
    request.extended_at = utcnow()
    request.extension_reason = reason
    request.reminded_at = None
    await audit.record(
        session,
        actor=principal,
        action="data_request.extended",
        subject_type=SUBJECT,
        subject_id=request.id,
        fields=["due_at", "extension_reason"],
        reason=reason,
    )
    await workflow.notify(session, settings, request, workflow.Notice.EXTENDED)
    await session.flush()
    return request


async def resolve(
    session: AsyncSession, principal: Principal, request_id: UUID, resolution: str
) -> DataRequest:
    """Staff made (or explained) the correction: the request is completed and the requester told."""
    request = await _get(session, request_id, lock=True)
    if request.kind != RequestKind.CORRECTION:
        raise NotACorrection("Export and erasure requests are completed by their jobs.")
    if request.state not in (RequestState.VERIFIED, RequestState.IN_PROGRESS):
        raise RequestNotOpen(f"The request is {request.state}; only a verified request can be resolved.")
    await workflow.complete(session, request, actor=principal, outcome=resolution)
    await session.flush()
    return request


async def audit_trail(
    session: AsyncSession,
    principal: Principal,
    request_id: UUID,
    *,
    reason: str,
    cursor: str | None,
    limit: int,
) -> tuple[list[AuditRecord], str | None]:
    """The audit records of one request, newest first (who did what to a person's request: read
    with a stated reason, itself audited)."""
    await _get(session, request_id)
    await audit.record(
        session,
        actor=principal,
        action="data_request.audit_read",
        subject_type=SUBJECT,
        subject_id=request_id,
        fields=["audit"],
        reason=reason,
    )
    statement = select(AuditRecord).where(
        AuditRecord.subject_type == SUBJECT, AuditRecord.subject_id == str(request_id)
    )
    rows = list(
        await session.scalars(newest_first(statement, AuditRecord.created_at, AuditRecord.id, cursor, limit))
    )
    return page_of(rows, limit)
