"""What every domain's router shares: paging parameters, signed-in error responses, the caller."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from opmaestro.core.errors import Forbidden, NotAuthenticated, problem
from opmaestro.core.pagination import MAX_LIMIT
from opmaestro.core.schemas import Reason

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
# A cursor is base64url of what `core.pagination` encodes; the `cursor` format names that rule.
Cursor = Annotated[
    Annotated[str, Query(max_length=200, json_schema_extra={"format": "cursor"})] | None,
    Query(description="`next_cursor` of the previous page."),
]
# The `reason` of a staff read of a person's data (`core.schemas.Reason`: stripped, 5 to 500 characters).
ReasonQuery = Annotated[Reason, Query(description="Why you need this; audited.")]
SIGNED_IN_ERRORS: dict[int | str, dict[str, Any]] = {401: problem(NotAuthenticated), 403: problem(Forbidden)}


@dataclass(frozen=True)
class Client:
    """Where a request comes from, for rate limits, sessions, security and consent events."""

    ip: str | None
    user_agent: str | None
    # For listeners of account events that recognise their own cookie (a banner's device); never logged.
    cookies: Mapping[str, str] = field(default_factory=dict, repr=False)


def request_client(request: Request) -> Client:
    return Client(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        cookies=request.cookies,
    )


async def _client_dependency(request: Request) -> Client:
    return request_client(request)


ClientDep = Annotated[Client, Depends(_client_dependency)]


def _query_names(dependant: Dependant) -> Iterator[str]:
    yield from (param.alias for param in dependant.query_params)
    for sub in dependant.dependencies:
        yield from _query_names(sub)


async def reject_unknown_query(request: Request) -> None:
    """Query parameters a route does not declare are refused, as unknown body fields are."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    unknown = sorted(set(request.query_params) - set(_query_names(route.dependant)))
    if unknown:
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": "Unknown query parameter",
                    "input": None,
                }
                for name in unknown
            ]
        )
