"""The clients' consent API: OAuth clients with `consents:read` or `consents:write` (docs/consent-api.md)."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query

from opmaestro.accounts.deps import ClientConsentReader, ClientConsentWriter, Principal
from opmaestro.consent import clients
from opmaestro.consent.exceptions import (
    ConsentSuperseded,
    IdempotencyConflict,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    PersonNotFound,
    PurposeNotOptional,
    TooManyConsentRequests,
)
from opmaestro.consent.feed import FEED_CURSOR_FORMAT
from opmaestro.consent.schemas import (
    CLIENT_KEY,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    ConsentChangesPage,
    ConsentLookup,
    ConsentRecordCreate,
    ConsentRecordRead,
    SubjectConsentsRead,
)
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import RateLimiterDep, SettingsDep
from opmaestro.core.errors import problem
from opmaestro.core.http import SIGNED_IN_ERRORS, Limit
from opmaestro.core.pagination import DEFAULT_LIMIT, InvalidCursor
from opmaestro.core.ratelimit import Quota


async def _throttle(limiter: RateLimiterDep, settings: SettingsDep, principal: Principal) -> Principal:
    client_id = principal.client.id if principal.client else "none"
    quota = Quota(
        f"consent-api:client:{client_id}",
        settings.consent_api_requests_per_client,
        settings.consent_api_window_seconds,
    )
    verdict = await limiter.hit(quota)
    if not verdict.allowed:
        raise TooManyConsentRequests(
            "Too many consent API requests from this client; try again later.",
            headers={"Retry-After": str(verdict.retry_after)},
        )
    return principal


async def _throttled_reader(
    principal: ClientConsentReader, limiter: RateLimiterDep, settings: SettingsDep
) -> Principal:
    return await _throttle(limiter, settings, principal)


async def _throttled_writer(
    principal: ClientConsentWriter, limiter: RateLimiterDep, settings: SettingsDep
) -> Principal:
    return await _throttle(limiter, settings, principal)


Reader = Annotated[Principal, Depends(_throttled_reader)]
# The feed's own cursor (`consent.feed`), not the list cursor of `core.pagination`.
FeedCursor = Annotated[
    Annotated[str, Query(max_length=200, json_schema_extra={"format": FEED_CURSOR_FORMAT})] | None,
    Query(description="`next_cursor` of the previous page; leave it out to start at the beginning."),
]
Writer = Annotated[Principal, Depends(_throttled_writer)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        pattern=CLIENT_KEY,
        description="A key of yours, unique per record: a retry with it answers the first record again.",
    ),
]

router = APIRouter(
    prefix="/consents",
    tags=["consent"],
    responses=SIGNED_IN_ERRORS | {429: problem(TooManyConsentRequests)},
)


@router.get(
    "/subjects/{user_id}",
    summary="Read a person's consents",
    response_model=SubjectConsentsRead,
    responses={404: problem(PersonNotFound)},
)
async def get_subject_consents(user_id: UUID, principal: Reader, session: SessionDep) -> SubjectConsentsRead:
    """A person's current answer per purpose, and whether marketing email may go to them now."""
    return await clients.subject_consents(session, principal, user_id)


@router.post(
    "/lookup",
    summary="Find a person's consents by email",
    response_model=SubjectConsentsRead,
    responses={404: problem(PersonNotFound)},
)
async def lookup_consents(body: ConsentLookup, principal: Reader, session: SessionDep) -> SubjectConsentsRead:
    """The same, found by the account's email address (in the body, so it stays out of URLs)."""
    return await clients.lookup(session, principal, body.email)


@router.get(
    "/changes",
    summary="Read the consent change feed",
    response_model=ConsentChangesPage,
    responses={400: problem(InvalidCursor)},
)
async def list_consent_changes(
    principal: Reader, session: SessionDep, limit: Limit = DEFAULT_LIMIT, cursor: FeedCursor = None
) -> ConsentChangesPage:
    """People's consent events after `cursor`, oldest first, without gaps or repeats (`consents:read`)."""
    return await clients.changes(session, principal, cursor, limit)


@router.post(
    "/records",
    summary="Record a consent collected elsewhere",
    status_code=201,
    response_model=ConsentRecordRead,
    responses={
        400: problem(IdempotencyKeyRequired),
        404: problem(PersonNotFound),
        409: problem(PurposeNotOptional, ConsentSuperseded, IdempotencyConflict),
        422: problem(IdempotencyKeyReused, description="Validation failed, or an idempotency key reused"),
    },
)
async def record_consent(
    body: ConsentRecordCreate,
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> ConsentRecordRead:
    """Append a consent the client collected, with its evidence, to the person's ledger (`consents:write`)."""
    return await clients.record(session, principal, settings, body, idempotency_key)
