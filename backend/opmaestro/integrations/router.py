"""The integrations API: connect Google, Gusto and Stripe, list, sync and disconnect them."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse

from opmaestro.accounts.deps import (
    AuthMethod,
    BrowserSession,
    Principal,
    SessionCookieValue,
    resolve_principal,
)
from opmaestro.core.access import Public
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import SettingsDep
from opmaestro.core.errors import problem
from opmaestro.core.http import SIGNED_IN_ERRORS
from opmaestro.integrations import service
from opmaestro.integrations.exceptions import IntegrationNotConnected, ProviderNotConfigured
from opmaestro.integrations.models import Provider, SyncStatus
from opmaestro.integrations.schemas import AuthorizationStart, Disconnected, IntegrationList, SyncQueued

router = APIRouter(prefix="/integrations", tags=["integrations"], responses=SIGNED_IN_ERRORS)
CallbackValue = Annotated[str | None, Query(max_length=2048)]


async def provider_echoes(
    scope: CallbackValue = None,
    error_description: CallbackValue = None,
    error_uri: CallbackValue = None,
    iss: CallbackValue = None,
    authuser: CallbackValue = None,
    hd: CallbackValue = None,
    prompt: CallbackValue = None,
) -> None:
    """What providers add to the redirect (Google's `authuser`, `hd`, `prompt`; `scope`; RFC 9207's
    `iss`): accepted and not trusted. The granted scopes come from the token response."""


ProviderEchoes = Depends(provider_echoes)


async def callback_session(
    request: Request, session: SessionDep, settings: SettingsDep, cookie: SessionCookieValue
) -> Principal | None:
    """The browser session the callback completes for, or None: no cookie, an expired or revoked
    session, or a staff session without its two-factor step (what `BrowserSession` refuses).

    Read here rather than by an access rule so that a person whose session lapsed while at the
    provider is sent to sign in, not shown a JSON problem. Bearer tokens are never read: the
    callback is a browser's redirect. A GET, so no CSRF header is expected."""
    if not cookie:
        return None
    principal = await resolve_principal(request, session, settings, cookie, None, None)
    if principal is None or principal.method is not AuthMethod.SESSION or principal.user is None:
        return None
    user = principal.user
    if user.is_staff and (user.mfa_enabled_at is None or not principal.browser_session.mfa_verified):
        return None
    return principal


CallbackSession = Annotated[Principal | None, Depends(callback_session)]


@router.get("", summary="List integrations", response_model=IntegrationList)
async def list_integrations(
    principal: BrowserSession, session: SessionDep, settings: SettingsDep
) -> IntegrationList:
    """Every provider with its status: not configured, not connected, or connected (and how)."""
    return IntegrationList(
        items=await service.list_integrations(session, settings, principal.signed_in_user.id)
    )


@router.post(
    "/{provider}/connect",
    summary="Start connecting a provider",
    response_model=AuthorizationStart,
    responses={409: problem(ProviderNotConfigured)},
)
async def connect_integration(
    provider: Provider, principal: BrowserSession, session: SessionDep, settings: SettingsDep
) -> AuthorizationStart:
    """The provider's authorization URL to send the browser to (state and PKCE kept here, single use)."""
    return await service.start_authorization(session, settings, principal, provider)


@router.get(
    "/{provider}/callback",
    summary="Finish connecting a provider",
    status_code=303,
    response_class=RedirectResponse,
    dependencies=[Public, ProviderEchoes],
    responses={
        303: {
            "description": "To Settings > Integrations, with `connected=1` or `error=<code>`; without a "
            "valid session, to the sign-in page, which returns there with `error=session_expired`."
        }
    },
)
async def integration_callback(
    provider: Provider,
    principal: CallbackSession,
    session: SessionDep,
    settings: SettingsDep,
    state: CallbackValue = None,
    code: CallbackValue = None,
    error: CallbackValue = None,
) -> RedirectResponse:
    """Where the provider sends the browser back: checks the state, stores the grant, queues the import.

    Public as a route, because the browser may come back without a session (it expired, or the
    person signed out in another tab): the state is bound to the session's account and cannot be
    completed then, so it is spent and the browser goes to sign in, then back to the settings page
    with `error=session_expired` (start again). Every other path needs the signed-in account."""
    if principal is None:
        target = await service.abandon_authorization(session, settings, provider, state=state)
        return RedirectResponse(target, status_code=303)
    target = await service.complete_authorization(
        session, settings, principal, provider, state=state, code=code, error=error
    )
    return RedirectResponse(target, status_code=303)


@router.post(
    "/{provider}/sync",
    summary="Import from a provider now",
    status_code=202,
    response_model=SyncQueued,
    responses={404: problem(IntegrationNotConnected)},
)
async def sync_integration(
    provider: Provider, principal: BrowserSession, session: SessionDep, settings: SettingsDep
) -> SyncQueued:
    """Queue an import of the provider's slice; the list shows its status and time."""
    connection = await service.request_sync(session, settings, principal, provider)
    return SyncQueued(provider=provider, sync_status=SyncStatus(connection.sync_status))


@router.delete(
    "/{provider}",
    summary="Disconnect a provider",
    response_model=Disconnected,
    responses={404: problem(IntegrationNotConnected)},
)
async def disconnect_integration(
    provider: Provider, principal: BrowserSession, session: SessionDep, settings: SettingsDep
) -> Disconnected:
    """Delete the tokens and everything imported (audited), and queue the revocation of the grant at
    the provider: the answer does not wait for it (`revocation: pending`)."""
    revocation = await service.disconnect_provider(session, settings, principal, provider)
    return Disconnected(provider=provider, revocation=revocation)
