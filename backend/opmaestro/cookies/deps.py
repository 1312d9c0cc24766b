"""What the cookie routes read from a request: the device cookie, the browser's signals, the caller."""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Request

from opmaestro.accounts.deps import CSRF_HEADER, AuthMethod, Principal, resolve_principal, session_cookie_name
from opmaestro.cookies import banner, devices
from opmaestro.cookies.choices import Signals
from opmaestro.cookies.exceptions import TooManyCookieChoices
from opmaestro.core.access import SAFE_METHODS
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import RateLimiterDep, SettingsDep, app_sessionmaker, app_settings
from opmaestro.core.http import ClientDep
from opmaestro.core.ratelimit import Quota
from opmaestro.core.security import csrf_token, equals


async def device_id(request: Request, settings: SettingsDep) -> UUID | None:
    """This browser's device id, verified before anything reads the database; 400 for a forged one."""
    return devices.optional_device_id(settings, request.cookies.get(devices.device_cookie_name(settings)))


async def signed_in(request: Request, session: SessionDep, settings: SettingsDep) -> Principal | None:
    """The signed-in browser session, if any; on a POST only with its CSRF header (else anonymous).

    Bearer tokens are for API clients, not a browser's banner: they are not read here."""
    cookie = request.cookies.get(session_cookie_name(settings))
    if not cookie:
        return None
    principal = await resolve_principal(request, session, settings, cookie, None, None)
    if principal is None or principal.method is not AuthMethod.SESSION or principal.user is None:
        return None
    if request.method not in SAFE_METHODS:
        expected = csrf_token(settings.secret_key.get_secret_value(), principal.browser_session.id)
        sent = request.headers.get(CSRF_HEADER)
        if not sent or not equals(sent, expected):
            return None
    return principal


async def signals(
    sec_gpc: Annotated[
        str | None, Header(alias="Sec-GPC", max_length=8, description="`1`: Global Privacy Control.")
    ] = None,
    dnt: Annotated[
        str | None,
        Header(alias="DNT", max_length=8, description="`1`: Do Not Track (acted on only if configured)."),
    ] = None,
) -> Signals:
    """The browser's opt-out signals (the body's `gpc` is added by the handler)."""
    return Signals(
        gpc_header=(sec_gpc or "").strip() == "1", gpc_body=False, do_not_track=(dnt or "").strip() == "1"
    )


async def throttle_choices(limiter: RateLimiterDep, settings: SettingsDep, client: ClientDep) -> None:
    """At most `cookie_consents_per_ip` choices per window from one address."""
    quota = Quota(
        f"cookie-consent:ip:{client.ip or 'unknown'}",
        settings.cookie_consents_per_ip,
        settings.cookie_consent_window_seconds,
    )
    verdict = await limiter.hit(quota)
    if not verdict.allowed:
        raise TooManyCookieChoices(
            "Too many cookie choices from this address; try again later.",
            headers={"Retry-After": str(verdict.retry_after)},
        )


async def current_banner(request: Request) -> banner.RenderedBanner:
    """The rendered banner for this app's settings and database.

    One dependency rather than the settings and sessionmaker ones: a revalidation is answered
    from memory, and each dependency FastAPI solves costs about as much as the rest of it."""
    return await banner.rendered(await app_sessionmaker(request), app_settings(request))


DeviceIdDep = Annotated[UUID | None, Depends(device_id)]
SignedInDep = Annotated[Principal | None, Depends(signed_in)]
SignalsDep = Annotated[Signals, Depends(signals)]
ThrottleDep = Depends(throttle_choices)
CurrentBannerDep = Annotated[banner.RenderedBanner, Depends(current_banner)]
