"""What every domain's router shares: paging parameters, signed-in error responses, the caller."""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query, Request

from opmaestro.core.auth import Forbidden, NotAuthenticated
from opmaestro.core.config import Settings
from opmaestro.core.errors import problem
from opmaestro.core.pagination import MAX_LIMIT

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=200)]
SIGNED_IN_ERRORS: dict[int | str, dict[str, Any]] = {401: problem(NotAuthenticated), 403: problem(Forbidden)}


@dataclass(frozen=True)
class Client:
    """Where a request comes from, for rate limits, sessions, security and consent events."""

    ip: str | None
    user_agent: str | None


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def request_client(request: Request) -> Client:
    return Client(
        ip=request.client.host if request.client else None, user_agent=request.headers.get("user-agent")
    )
