"""The integrations API: connect Google, Gusto and Stripe, list, sync and disconnect them."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import RedirectResponse

from opmaestro.accounts.deps import BrowserSession
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
    dependencies=[ProviderEchoes],
    responses={303: {"description": "To Settings > Integrations, with `connected=1` or `error=<code>`."}},
)
async def integration_callback(
    provider: Provider,
    principal: BrowserSession,
    session: SessionDep,
    settings: SettingsDep,
    state: CallbackValue = None,
    code: CallbackValue = None,
    error: CallbackValue = None,
) -> RedirectResponse:
    """Where the provider sends the browser back: checks the state, stores the grant, queues the import."""
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
    """Revoke the grant at the provider and delete its tokens and everything imported (audited)."""
    revoked = await service.disconnect_provider(session, settings, principal, provider)
    return Disconnected(provider=provider, revoked_at_provider=revoked)
