"""Marketing email: the public one-click unsubscribe and staff campaigns."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request

from opmaestro.accounts.deps import Authorize, Principal
from opmaestro.accounts.models import Role
from opmaestro.consent import campaigns, unsubscribe
from opmaestro.consent.marketing_schemas import (
    CampaignCreate,
    CampaignCreated,
    CampaignRead,
    UnsubscribeLinkRead,
    UnsubscribeResult,
)
from opmaestro.core.access import Public
from opmaestro.core.db import SessionDep
from opmaestro.core.errors import Forbidden, NotAuthenticated, problem
from opmaestro.core.http import Cursor, Limit, app_settings
from opmaestro.core.pagination import DEFAULT_LIMIT, InvalidCursor, Page

Token = Annotated[str, Path(min_length=10, max_length=unsubscribe.TOKEN_MAX_LENGTH)]
CampaignSender = Annotated[
    Principal, Depends(Authorize(roles=(Role.ADMIN, Role.PRIVACY_OFFICER), session_only=True))
]
LINK_ERRORS: dict[int | str, dict[str, Any]] = {
    404: problem(unsubscribe.InvalidUnsubscribeLink, unsubscribe.UnsubscribeLinkNotFound),
}

unsubscribe_router = APIRouter(prefix="/unsubscribe", tags=["consent"], responses=LINK_ERRORS)
campaigns_router = APIRouter(
    prefix="/admin/campaigns",
    tags=["admin"],
    responses={401: problem(NotAuthenticated), 403: problem(Forbidden)},
)


@unsubscribe_router.get(
    "/{token}",
    summary="Describe an unsubscribe link",
    response_model=UnsubscribeLinkRead,
    dependencies=[Public],
)
async def get_unsubscribe_link(token: Token, request: Request, session: SessionDep) -> UnsubscribeLinkRead:
    """Which (masked) address and purpose an unsubscribe link is for; changes nothing."""
    target, subscribed = await unsubscribe.describe(session, app_settings(request), token)
    return UnsubscribeLinkRead(
        purpose=target.purpose, address=unsubscribe.mask_email(target.user.email), subscribed=subscribed
    )


@unsubscribe_router.post(
    "/{token}", summary="Unsubscribe in one click", response_model=UnsubscribeResult, dependencies=[Public]
)
async def unsubscribe_one_click(
    token: Token,
    request: Request,
    session: SessionDep,
    one_click: Annotated[str | None, Form(alias="List-Unsubscribe", max_length=20)] = None,
) -> UnsubscribeResult:
    """Withdraw the consent the link is for (RFC 8058 one-click; no sign-in); repeating it is harmless."""
    target = await unsubscribe.unsubscribe(
        session,
        app_settings(request),
        token,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )
    return UnsubscribeResult(purpose=target.purpose)


@campaigns_router.post(
    "", summary="Send a marketing campaign", status_code=201, response_model=CampaignCreated
)
async def create_campaign(
    body: CampaignCreate, principal: CampaignSender, request: Request, session: SessionDep
) -> CampaignCreated:
    """Send marketing email to every user who consents to it now (admins and privacy officers; audited)."""
    campaign = await campaigns.create_campaign(session, principal, app_settings(request), body)
    return CampaignCreated(campaign_id=campaign.id, recipients=campaign.recipients)


@campaigns_router.get(
    "",
    summary="List marketing campaigns",
    response_model=Page[CampaignRead],
    responses={400: problem(InvalidCursor)},
)
async def list_campaigns(
    principal: CampaignSender, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[CampaignRead]:
    """Past marketing campaigns, newest first."""
    rows, next_cursor = await campaigns.list_campaigns(session, cursor=cursor, limit=limit)
    return Page[CampaignRead](items=[CampaignRead.model_validate(r) for r in rows], next_cursor=next_cursor)
