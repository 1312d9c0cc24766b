"""Outbound webhook endpoints: a person's own (`/me/webhook-endpoints`) and an OAuth client's
(`/webhook-endpoints`, client credentials with `webhooks:manage`); the same operations on both."""

from enum import Enum
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Response

from opmaestro.accounts.deps import Authorize, Principal
from opmaestro.accounts.exceptions import ReauthenticationRequired
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import SettingsDep
from opmaestro.core.errors import problem
from opmaestro.core.http import SIGNED_IN_ERRORS, Cursor, Limit
from opmaestro.core.pagination import DEFAULT_LIMIT, InvalidCursor, Page
from opmaestro.webhooks.outbound import addresses, service
from opmaestro.webhooks.outbound.exceptions import (
    ClientsOnly,
    EndpointNotFound,
    EndpointUrlRefused,
    EventScopeMissing,
    TooManyEndpoints,
)
from opmaestro.webhooks.outbound.schemas import (
    DeliveryRead,
    EndpointCreate,
    EndpointRead,
    EndpointUpdate,
    EndpointWithSecret,
    PersonEndpointCreate,
    PersonEndpointUpdate,
)

SCOPE = "webhooks:manage"


async def _person(
    # A verified address: when an endpoint keeps failing, its owner is emailed, and that mail
    # must not go to an address someone typed without owning it.
    principal: Annotated[Principal, Depends(Authorize(scopes=(SCOPE,), verified=True))],
) -> service.Owner:
    return service.person(principal)


async def _client(
    principal: Annotated[Principal, Depends(Authorize(scopes=(SCOPE,), allow_clients=True))],
) -> service.Owner:
    return service.client(principal)


async def _resolver() -> addresses.Resolver:
    # Read at call time, so tests can stand in for DNS.
    return addresses.system_resolver


ResolverDep = Annotated[addresses.Resolver, Depends(_resolver)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem(EndpointNotFound)}
Responses = dict[int | str, dict[str, Any]]


def build(
    owner_dependency: Any,
    prefix: str,
    tags: list[str | Enum],
    extra: Responses,
    create_body: type[EndpointCreate],
    update_body: type[EndpointUpdate],
    refused: Responses,
) -> APIRouter:
    """One router for one kind of owner; the handlers differ only in whose endpoints they see,
    which events the bodies may name, and `refused`: the errors of a body this owner may not send."""
    router = APIRouter(prefix=prefix, tags=tags, responses=SIGNED_IN_ERRORS | extra)
    Owner = Annotated[service.Owner, Depends(owner_dependency)]  # noqa: N806 - a type alias

    @router.get("", summary="List webhook endpoints", response_model=list[EndpointRead])
    async def list_webhook_endpoints(owner: Owner, session: SessionDep) -> list[Any]:
        """The webhook endpoints the caller registered."""
        return await service.list_endpoints(session, owner)

    @router.post(
        "",
        summary="Register a webhook endpoint",
        status_code=201,
        response_model=EndpointWithSecret,
        responses={**refused, 409: problem(TooManyEndpoints)},
    )
    async def create_webhook_endpoint(
        body: create_body,  # type: ignore[valid-type]
        owner: Owner,
        session: SessionDep,
        settings: SettingsDep,
        resolver: ResolverDep,
    ) -> EndpointWithSecret:
        """Register a URL to receive signed events; the answer holds its signing secret, shown this once."""
        endpoint, secret = await service.create_endpoint(session, settings, resolver, owner, body)
        return EndpointWithSecret(**EndpointRead.model_validate(endpoint).model_dump(), secret=secret)

    @router.get(
        "/{endpoint_id}", summary="Read a webhook endpoint", response_model=EndpointRead, responses=NOT_FOUND
    )
    async def get_webhook_endpoint(endpoint_id: UUID, owner: Owner, session: SessionDep) -> Any:
        """One webhook endpoint."""
        return await service.get_endpoint(session, owner, endpoint_id)

    @router.patch(
        "/{endpoint_id}",
        summary="Change a webhook endpoint",
        response_model=EndpointRead,
        responses=NOT_FOUND | refused,
    )
    async def update_webhook_endpoint(
        endpoint_id: UUID,
        body: update_body,  # type: ignore[valid-type]
        owner: Owner,
        session: SessionDep,
        settings: SettingsDep,
        resolver: ResolverDep,
    ) -> Any:
        """Change the URL, events, description, or switch the endpoint on or off."""
        return await service.update_endpoint(session, settings, resolver, owner, endpoint_id, body)

    @router.delete(
        "/{endpoint_id}", summary="Delete a webhook endpoint", status_code=204, responses=NOT_FOUND
    )
    async def delete_webhook_endpoint(endpoint_id: UUID, owner: Owner, session: SessionDep) -> Response:
        """Remove the endpoint and its delivery log; events not yet sent are dropped."""
        await service.delete_endpoint(session, owner, endpoint_id)
        return Response(status_code=204)

    @router.post(
        "/{endpoint_id}/rotate-secret",
        summary="Rotate a webhook endpoint's secret",
        response_model=EndpointWithSecret,
        responses=NOT_FOUND,
    )
    async def rotate_webhook_secret(
        endpoint_id: UUID, owner: Owner, session: SessionDep, settings: SettingsDep
    ) -> EndpointWithSecret:
        """A new signing secret, shown this once; the old one keeps signing too during the grace period."""
        endpoint, secret = await service.rotate_secret(session, settings, owner, endpoint_id)
        return EndpointWithSecret(**EndpointRead.model_validate(endpoint).model_dump(), secret=secret)

    @router.get(
        "/{endpoint_id}/deliveries",
        summary="List a webhook endpoint's deliveries",
        response_model=Page[DeliveryRead],
        responses=NOT_FOUND | {400: problem(InvalidCursor)},
    )
    async def list_webhook_deliveries(
        endpoint_id: UUID,
        owner: Owner,
        session: SessionDep,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[DeliveryRead]:
        """The delivery log, newest first: status, attempts, last status code, duration and error."""
        rows, next_cursor = await service.list_deliveries(
            session, owner, endpoint_id, cursor=cursor, limit=limit
        )
        return Page(items=[DeliveryRead.model_validate(row) for row in rows], next_cursor=next_cursor)

    return router


me_router = build(
    _person,
    "/me/webhook-endpoints",
    ["webhooks"],
    {},
    PersonEndpointCreate,
    PersonEndpointUpdate,
    {403: problem(ReauthenticationRequired), 422: problem(EndpointUrlRefused)},
)
client_router = build(
    _client,
    "/webhook-endpoints",
    ["clients"],
    {403: problem(ClientsOnly)},
    EndpointCreate,
    EndpointUpdate,
    {403: problem(ClientsOnly, EventScopeMissing), 422: problem(EndpointUrlRefused)},
)
