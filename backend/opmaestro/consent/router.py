"""The consent API: purposes, your consents and receipts, unsubscribe links, campaigns, statistics."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Path, Query, Request

from opmaestro.accounts.deps import Authorize, ConsentReader, ConsentWriter, Principal, PrivacyAdministrator
from opmaestro.accounts.models import Role
from opmaestro.consent import campaigns, ledger, purposes, stats, unsubscribe
from opmaestro.consent.exceptions import (
    ConsentEventNotFound,
    PurposeExists,
    PurposeNotFound,
    PurposeNotOptional,
)
from opmaestro.consent.schemas import (
    CampaignCreate,
    CampaignCreated,
    CampaignRead,
    ChainVerification,
    ConsentEventRead,
    ConsentRead,
    ConsentStatsRead,
    ConsentUpdate,
    JsonWebKeySet,
    PurposeAdminRead,
    PurposeCreate,
    PurposeRead,
    PurposeUpdate,
    Receipt,
    UnsubscribeLinkRead,
    UnsubscribeResult,
)
from opmaestro.core import jwt
from opmaestro.core.access import Public
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import SettingsDep
from opmaestro.core.errors import problem
from opmaestro.core.http import SIGNED_IN_ERRORS, ClientDep, Cursor, Limit, request_client
from opmaestro.core.pagination import DEFAULT_LIMIT, InvalidCursor, Page

purposes_router = APIRouter(prefix="/consent", tags=["consent"])
me_router = APIRouter(prefix="/me/consents", tags=["consent"], responses=SIGNED_IN_ERRORS)
admin_router = APIRouter(prefix="/admin", tags=["admin"], responses=SIGNED_IN_ERRORS)
wellknown_router = APIRouter(prefix="/.well-known", tags=["consent"])


def _consent_read(found: ledger.PurposeConsent) -> ConsentRead:
    purpose, state = found.purpose, found.state
    return ConsentRead(
        key=purpose.key,
        name=purpose.name,
        description=purpose.description,
        legal_basis=purpose.legal_basis,
        optional=purpose.optional,
        version=purpose.version,
        granted=state.granted if state else None,
        since=state.since if state else None,
        method=state.method if state else None,
        renewal_needed=found.renewal_needed,
    )


@purposes_router.get(
    "/purposes", summary="List consent purposes", response_model=list[PurposeRead], dependencies=[Public]
)
async def list_purposes(session: SessionDep) -> list[PurposeRead]:
    """What we ask consent for, with each purpose's legal basis and current version."""
    return [PurposeRead.model_validate(purpose) for purpose in await purposes.list_purposes(session)]


@me_router.get("", summary="List your consents", response_model=list[ConsentRead])
async def list_my_consents(principal: ConsentReader, session: SessionDep) -> list[ConsentRead]:
    """Every purpose with the signed-in user's current answer (tokens need `consent:read`)."""
    found = await ledger.current_consents(session, principal.signed_in_user.id)
    return [_consent_read(entry) for entry in found]


@me_router.put(
    "/{purpose}",
    summary="Give or withdraw consent",
    response_model=ConsentRead,
    responses={404: problem(PurposeNotFound), 409: problem(PurposeNotOptional)},
)
async def set_my_consent(
    purpose: str, body: ConsentUpdate, principal: ConsentWriter, request: Request, session: SessionDep
) -> ConsentRead:
    """Grant, or deny or withdraw, consent to one purpose (tokens need `consent:write`)."""
    found = await ledger.set_preference(session, principal, purpose, body.granted, request_client(request))
    return _consent_read(found)


@me_router.get(
    "/events",
    summary="List your consent history",
    response_model=Page[ConsentEventRead],
    responses={400: problem(InvalidCursor)},
)
async def list_my_consent_events(
    principal: ConsentReader, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[ConsentEventRead]:
    """The signed-in user's consent history, newest first."""
    rows, next_cursor = await ledger.list_events(
        session, principal.signed_in_user.id, cursor=cursor, limit=limit
    )
    return Page[ConsentEventRead](
        items=[ConsentEventRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@me_router.get(
    "/events/{event_id}/receipt",
    summary="Get a consent receipt",
    response_model=Receipt,
    responses={404: problem(ConsentEventNotFound)},
)
async def get_consent_receipt(
    event_id: UUID, principal: ConsentReader, session: SessionDep, settings: SettingsDep
) -> Receipt:
    """A signed consent receipt (Kantara CR 1.1 / ISO/IEC TS 27560) for one of the user's events."""
    token, claims = await ledger.receipt_for(session, principal, event_id, settings)
    return Receipt(receipt=token, claims=claims)


@admin_router.get("/purposes", summary="List purposes with versions", response_model=list[PurposeAdminRead])
async def list_admin_purposes(principal: PrivacyAdministrator, session: SessionDep) -> list[PurposeAdminRead]:
    """Every purpose with its versions (admins and privacy officers)."""
    return [PurposeAdminRead.model_validate(purpose) for purpose in await purposes.list_purposes(session)]


@admin_router.post(
    "/purposes",
    summary="Add a purpose",
    status_code=201,
    response_model=PurposeAdminRead,
    responses={409: problem(PurposeExists)},
)
async def create_purpose(
    body: PurposeCreate, principal: PrivacyAdministrator, session: SessionDep
) -> PurposeAdminRead:
    """Add a purpose (admins and privacy officers; audited)."""
    return PurposeAdminRead.model_validate(await purposes.create_purpose(session, principal, body))


@admin_router.patch(
    "/purposes/{key}",
    summary="Change a purpose",
    response_model=PurposeAdminRead,
    responses={404: problem(PurposeNotFound)},
)
async def update_purpose(
    key: str, body: PurposeUpdate, principal: PrivacyAdministrator, session: SessionDep
) -> PurposeAdminRead:
    """Change a purpose: new wording is a new version; `material` asks everyone who consented again."""
    return PurposeAdminRead.model_validate(await purposes.update_purpose(session, principal, key, body))


@admin_router.get("/consent/verify", summary="Verify a consent ledger", response_model=ChainVerification)
async def verify_consent_chain(
    principal: PrivacyAdministrator,
    session: SessionDep,
    subject: Annotated[UUID, Query(description="The user whose consent ledger to check.")],
) -> ChainVerification:
    """Recompute a user's consent hash chain and report where it breaks, if it does (audited)."""
    report = await ledger.verify_user_chain(session, principal, subject)
    return ChainVerification.model_validate(report)


@wellknown_router.get(
    "/jwks.json", summary="Public signing keys (JWKS)", response_model=JsonWebKeySet, dependencies=[Public]
)
async def get_jwks(session: SessionDep) -> JsonWebKeySet:
    """The public keys that verify consent receipts and access tokens, old ones included."""
    return JsonWebKeySet(keys=await jwt.public_keys(session))


# Marketing email: the public one-click unsubscribe and staff campaigns.
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
    responses=SIGNED_IN_ERRORS,
)


@unsubscribe_router.get(
    "/{token}",
    summary="Describe an unsubscribe link",
    response_model=UnsubscribeLinkRead,
    dependencies=[Public],
)
async def get_unsubscribe_link(
    token: Token, session: SessionDep, settings: SettingsDep
) -> UnsubscribeLinkRead:
    """Which (masked) address and purpose an unsubscribe link is for; changes nothing."""
    target, subscribed = await unsubscribe.describe(session, settings, token)
    return UnsubscribeLinkRead(
        purpose=target.purpose, address=unsubscribe.mask_email(target.user.email), subscribed=subscribed
    )


@unsubscribe_router.post(
    "/{token}", summary="Unsubscribe in one click", response_model=UnsubscribeResult, dependencies=[Public]
)
async def unsubscribe_one_click(
    token: Token,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    one_click: Annotated[str | None, Form(alias="List-Unsubscribe", max_length=20)] = None,
) -> UnsubscribeResult:
    """Withdraw the consent the link is for (RFC 8058 one-click; no sign-in); repeating it is harmless."""
    target = await unsubscribe.unsubscribe(
        session,
        settings,
        token,
        ip=client.ip,
        user_agent=client.user_agent,
    )
    return UnsubscribeResult(purpose=target.purpose)


@campaigns_router.post(
    "", summary="Send a marketing campaign", status_code=201, response_model=CampaignCreated
)
async def create_campaign(
    body: CampaignCreate, principal: CampaignSender, session: SessionDep, settings: SettingsDep
) -> CampaignCreated:
    """Send marketing email to every user who consents to it now (admins and privacy officers; audited)."""
    campaign = await campaigns.create_campaign(session, principal, settings, body)
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


# Staff consent statistics: opt-in rates per purpose and day.
Days = Annotated[int, Query(ge=1, le=stats.MAX_DAYS, description="How many UTC days, ending today.")]

stats_router = APIRouter(prefix="/admin/consent", tags=["admin"], responses=SIGNED_IN_ERRORS)


@stats_router.get("/stats", summary="Consent statistics", response_model=ConsentStatsRead)
async def get_consent_stats(
    principal: PrivacyAdministrator, session: SessionDep, days: Days = stats.DEFAULT_DAYS
) -> ConsentStatsRead:
    """Granted, denied and withdrawn events and the opt-in rate per purpose and UTC day (staff)."""
    return await stats.consent_stats(session, days)
