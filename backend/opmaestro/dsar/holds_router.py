"""Staff routes placing, listing and releasing legal holds (privacy officers and admins)."""

from uuid import UUID

from fastapi import APIRouter

from opmaestro.accounts.deps import PrivacyAdministrator
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import SettingsDep
from opmaestro.core.errors import problem
from opmaestro.core.http import SIGNED_IN_ERRORS, Cursor, Limit, ReasonQuery
from opmaestro.core.pagination import DEFAULT_LIMIT, InvalidCursor, Page
from opmaestro.dsar import erasure, holds
from opmaestro.dsar.holds_schemas import LegalHoldCreate, LegalHoldRead, LegalHoldRelease

router = APIRouter(prefix="/admin", tags=["admin"], responses=SIGNED_IN_ERRORS)


@router.post(
    "/users/{user_id}/legal-holds",
    summary="Place a legal hold",
    status_code=201,
    response_model=LegalHoldRead,
    responses={404: problem(holds.HoldUserNotFound), 409: problem(holds.HoldAlreadyPlaced)},
)
async def place_legal_hold(
    user_id: UUID, body: LegalHoldCreate, principal: PrivacyAdministrator, session: SessionDep
) -> LegalHoldRead:
    """Keep one category of a user's data through erasure, for a stated legal reason (audited)."""
    hold = await holds.place(session, principal, user_id, body.category, body.reason)
    return LegalHoldRead.model_validate(hold)


@router.get(
    "/users/{user_id}/legal-holds",
    summary="List a user's legal holds",
    response_model=Page[LegalHoldRead],
    responses={400: problem(InvalidCursor), 404: problem(holds.HoldUserNotFound)},
)
async def list_legal_holds(
    user_id: UUID,
    principal: PrivacyAdministrator,
    session: SessionDep,
    reason: ReasonQuery,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[LegalHoldRead]:
    """A user's legal holds, current and released, newest first (audited with the stated reason)."""
    rows, next_cursor = await holds.list_for_user(
        session, principal, user_id, reason=reason, cursor=cursor, limit=limit
    )
    return Page[LegalHoldRead](
        items=[LegalHoldRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.post(
    "/legal-holds/{hold_id}/release",
    summary="Release a legal hold",
    response_model=LegalHoldRead,
    responses={404: problem(holds.HoldNotFound), 409: problem(holds.HoldAlreadyReleased)},
)
async def release_legal_hold(
    hold_id: UUID,
    body: LegalHoldRelease,
    principal: PrivacyAdministrator,
    session: SessionDep,
    settings: SettingsDep,
) -> LegalHoldRead:
    """End a legal hold (audited); the category is erased by the user's next erasure, or at once
    when the user was already erased."""
    hold = await erasure.release_hold(session, settings, principal, hold_id, body.reason)
    return LegalHoldRead.model_validate(hold)
