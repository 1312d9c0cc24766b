"""The cookie API: the banner configuration, visitors' choices and receipts, GPC, the staff inventory."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Response

from opmaestro.accounts.deps import PrivacyAdministrator
from opmaestro.consent.exceptions import ConsentEventNotFound
from opmaestro.consent.schemas import Receipt
from opmaestro.cookies import choices, devices, inventory
from opmaestro.cookies.deps import CurrentBannerDep, DeviceIdDep, SignalsDep, SignedInDep, ThrottleDep
from opmaestro.cookies.exceptions import (
    CookieExists,
    CookieNotFound,
    InvalidDevice,
    NoCookieChoice,
    StaleBannerRevision,
    TooManyCookieChoices,
)
from opmaestro.cookies.models import CookieDefinition
from opmaestro.cookies.schemas import (
    AdminCookieCategoryRead,
    AdminCookieRead,
    CookieBanner,
    CookieConsent,
    CookieConsentCreate,
    CookieCreate,
    CookieInventory,
    CookieUpdate,
    GpcSupport,
)
from opmaestro.core.access import Public
from opmaestro.core.compression import Compressible, etag_matches
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import SettingsDep
from opmaestro.core.errors import problem
from opmaestro.core.http import SIGNED_IN_ERRORS, ClientDep

# GPC support was published on this day (the specification's `lastUpdate`).
GPC_LAST_UPDATE = "2026-11-30"
BANNER_PATH = "/cookie-banner"
CONSENTS_PATH = "/cookie-consents"
CURRENT_PATH = "/cookie-consents/current"
# The routes a banner on another site calls (CORS for OPMAESTRO_BANNER_ORIGINS), under /api/v1.
CROSS_ORIGIN_PATHS = (BANNER_PATH, CONSENTS_PATH, CURRENT_PATH)

public_router = APIRouter(tags=["cookies"])
admin_router = APIRouter(prefix="/admin/cookies", tags=["admin"], responses=SIGNED_IN_ERRORS)
wellknown_router = APIRouter(prefix="/.well-known", tags=["cookies"])
IfNoneMatch = Annotated[str | None, Header(max_length=1024, description="An ETag from an earlier answer.")]
DEVICE_ERRORS: dict[int | str, dict[str, Any]] = {400: problem(InvalidDevice)}


@public_router.get(
    BANNER_PATH,
    summary="Get the cookie banner",
    response_model=CookieBanner,
    dependencies=[Public, Compressible],
    responses={304: {"description": "Not modified: the ETag sent in If-None-Match is current."}},
)
async def get_cookie_banner(found: CurrentBannerDep, if_none_match: IfNoneMatch = None) -> Response:
    """The banner's categories, cookies, texts and links; the same for everyone, so it caches (ETag)."""
    headers = {"ETag": found.etag, "Cache-Control": found.cache_control}
    if etag_matches(if_none_match, found.etag):
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type="application/json", headers=headers)


@public_router.post(
    CONSENTS_PATH,
    summary="Record a cookie choice",
    status_code=201,
    response_model=CookieConsent,
    dependencies=[Public, ThrottleDep],
    responses={**DEVICE_ERRORS, 409: problem(StaleBannerRevision), 429: problem(TooManyCookieChoices)},
)
async def create_cookie_consent(
    body: CookieConsentCreate,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    device_id: DeviceIdDep,
    principal: SignedInDep,
    signals: SignalsDep,
) -> CookieConsent:
    """Record this browser's whole choice (JSON only); sets the device cookie on a first choice.

    `Sec-GPC: 1`, or `gpc: true`, keeps marketing off (method `gpc`). Signed in (with the CSRF
    header), the choice is recorded on the account too."""
    signals = choices.Signals(signals.gpc_header, body.gpc, signals.do_not_track)
    recorded = await choices.record_choice(
        session, settings, body, device_id=device_id, principal=principal, client=client, signals=signals
    )
    if recorded.new_device:
        response.set_cookie(
            devices.device_cookie_name(settings),
            devices.cookie_value(settings, recorded.device_id),
            max_age=settings.cookie_device_days * 86400,
            httponly=True,
            secure=devices.is_https(settings),
            samesite="lax",
            path="/",
        )
    return recorded.consent


@public_router.get(
    CURRENT_PATH,
    summary="Get the current cookie choice",
    response_model=CookieConsent,
    dependencies=[Public],
    responses={**DEVICE_ERRORS, 404: problem(NoCookieChoice)},
)
async def get_current_cookie_consent(
    session: SessionDep, device_id: DeviceIdDep, principal: SignedInDep
) -> CookieConsent:
    """This browser's cookie choice, or the signed-in account's; 404 before any choice."""
    return await choices.current_choice(session, device_id=device_id, principal=principal)


@public_router.get(
    "/cookie-consents/receipts/{event_id}",
    summary="Get a cookie consent receipt",
    response_model=Receipt,
    dependencies=[Public],
    responses={**DEVICE_ERRORS, 404: problem(ConsentEventNotFound)},
)
async def get_cookie_consent_receipt(
    event_id: UUID, session: SessionDep, settings: SettingsDep, device_id: DeviceIdDep
) -> Receipt:
    """The signed receipt of one of this browser's own cookie consent events."""
    if device_id is None:
        raise ConsentEventNotFound("This browser has no cookie consent events.")
    token, claims = await choices.device_receipt(session, settings, device_id, event_id)
    return Receipt(receipt=token, claims=claims)


@wellknown_router.get(
    "/gpc.json", summary="Global Privacy Control support", response_model=GpcSupport, dependencies=[Public]
)
async def get_gpc_support(response: Response) -> GpcSupport:
    """We honor Global Privacy Control (the GPC specification's well-known resource)."""
    response.headers["Cache-Control"] = "public, max-age=86400"
    return GpcSupport(gpc=True, lastUpdate=GPC_LAST_UPDATE)


def _admin_cookie(cookie: CookieDefinition) -> AdminCookieRead:
    return AdminCookieRead.model_validate(cookie)


@admin_router.get("", summary="List the cookie inventory", response_model=CookieInventory)
async def list_cookies(principal: PrivacyAdministrator, session: SessionDep) -> CookieInventory:
    """Every category with its cookies, and the banner revision (admins and privacy officers)."""
    revision, updated_at, found = await inventory.inventory(session)
    return CookieInventory(
        revision=revision,
        updated_at=updated_at,
        categories=[
            AdminCookieCategoryRead(
                key=category.key,
                name=category.name,
                description=category.description,
                purpose_key=category.purpose_key,
                required=category.required,
                cookies=[_admin_cookie(cookie) for cookie in cookies],
            )
            for category, cookies in found
        ],
    )


@admin_router.post(
    "",
    summary="Add a cookie",
    status_code=201,
    response_model=AdminCookieRead,
    responses={409: problem(CookieExists)},
)
async def create_cookie(
    body: CookieCreate, principal: PrivacyAdministrator, session: SessionDep
) -> AdminCookieRead:
    """Add a cookie to the inventory; visitors are asked again (a new revision; audited)."""
    return _admin_cookie(await inventory.create_cookie(session, principal, body))


@admin_router.patch(
    "/{cookie_id}",
    summary="Change a cookie",
    response_model=AdminCookieRead,
    responses={404: problem(CookieNotFound), 409: problem(CookieExists)},
)
async def update_cookie(
    cookie_id: UUID, body: CookieUpdate, principal: PrivacyAdministrator, session: SessionDep
) -> AdminCookieRead:
    """Change a cookie; moving, renaming or retyping it (or `material`) asks visitors again (audited)."""
    return _admin_cookie(await inventory.update_cookie(session, principal, cookie_id, body))


@admin_router.delete(
    "/{cookie_id}", summary="Remove a cookie", status_code=204, responses={404: problem(CookieNotFound)}
)
async def delete_cookie(cookie_id: UUID, principal: PrivacyAdministrator, session: SessionDep) -> None:
    """Remove a cookie from the inventory; visitors are asked again (audited)."""
    await inventory.delete_cookie(session, principal, cookie_id)
