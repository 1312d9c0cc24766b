"""What OAuth clients (a CRM, a mailing tool) may ask and tell about people's consents.

`consents:read`: a person's current answers and whether marketing email may go to them now,
and the change feed. `consents:write`: a consent collected elsewhere, with its evidence, appended
to the person's ledger like any other. Every call is audited with the client as the actor."""

import hashlib
import json
from datetime import UTC, timedelta
from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import service as accounts
from opmaestro.accounts.deps import Principal
from opmaestro.accounts.models import OAuthClient, User, UserStatus
from opmaestro.audit import service as audit
from opmaestro.consent import feed, ledger, marketing
from opmaestro.consent.exceptions import (
    ConsentSuperseded,
    IdempotencyConflict,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    PersonNotFound,
    PurposeNotOptional,
)
from opmaestro.consent.models import (
    CollectionMethod,
    ConsentAction,
    ConsentEvent,
    ConsentEvidence,
    ConsentPurpose,
    ConsentState,
    user_subject,
)
from opmaestro.consent.schemas import (
    ClientConsentRead,
    ConsentChangeRead,
    ConsentChangesPage,
    ConsentRecordCreate,
    ConsentRecordRead,
    MarketingEmailRead,
    SubjectConsentsRead,
)
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.db import new_id, table_of
from opmaestro.core.errors import FieldInvalid, Forbidden
from opmaestro.core.links import public_url
from opmaestro.notifications import service as notifications

# Clocks differ: a consent "collected" this little ahead of ours is taken as collected now.
CLOCK_SKEW = timedelta(minutes=2)
# The SPA page where a person sees and changes their consents.
CONSENTS_PAGE = "/privacy/consents"
_EVIDENCE = table_of(ConsentEvidence)
_INSERT_EVIDENCE = {
    "postgresql": postgresql.insert(_EVIDENCE).on_conflict_do_nothing().returning(_EVIDENCE.c.id),
    "sqlite": sqlite.insert(_EVIDENCE).on_conflict_do_nothing().returning(_EVIDENCE.c.id),
}


def _client(principal: Principal) -> OAuthClient:
    if principal.client is None:
        raise Forbidden("Only OAuth clients (client credentials) can call this endpoint.")
    return principal.client


async def _consents_of(session: AsyncSession, user: User) -> SubjectConsentsRead:
    rows = await session.execute(
        select(ConsentPurpose, ConsentState, ConsentEvent.policy_version)
        .outerjoin(
            ConsentState,
            (ConsentState.purpose_key == ConsentPurpose.key) & (ConsentState.user_id == user.id),
        )
        .outerjoin(ConsentEvent, ConsentEvent.id == ConsentState.event_id)
        .order_by(ConsentPurpose.key)
    )
    consents = [
        ClientConsentRead(
            purpose=purpose.key,
            granted=state.granted if state else None,
            action=ConsentAction(state.action) if state else None,
            method=CollectionMethod(state.method) if state else None,
            since=state.since if state else None,
            purpose_version=state.purpose_version if state else None,
            policy_version=policy_version,
            renewal_needed=ledger.PurposeConsent(purpose, state).renewal_needed,
            event_id=state.event_id if state else None,
        )
        for purpose, state, policy_version in rows.all()
    ]
    # The outbox's own send-time rule, for the address the account has now.
    refusal = await marketing.refusal(session, user, user.email)
    return SubjectConsentsRead(
        user_id=user.id,
        marketing_email=MarketingEmailRead(allowed=refusal is None, reason=refusal),
        consents=consents,
    )


async def _read(
    session: AsyncSession, principal: Principal, user: User | None, action: str
) -> SubjectConsentsRead:
    # An erased person is gone for the clients too; the feed keeps only their pseudonymous id.
    if user is None or user.status == UserStatus.ERASED:
        raise PersonNotFound("No person with an account matches.")
    await audit.record(
        session, actor=principal, action=action, subject_type="user", subject_id=user.id, fields=["consents"]
    )
    return await _consents_of(session, user)


async def subject_consents(session: AsyncSession, principal: Principal, user_id: UUID) -> SubjectConsentsRead:
    """A person's current consents by user id (audited)."""
    _client(principal)
    return await _read(session, principal, await session.get(User, user_id), "consent.client_read")


async def lookup(session: AsyncSession, principal: Principal, email: str) -> SubjectConsentsRead:
    """A person's current consents by the email address of their account (audited)."""
    _client(principal)
    return await _read(
        session, principal, await accounts.get_by_email(session, email), "consent.client_lookup"
    )


async def changes(
    session: AsyncSession, principal: Principal, cursor: str | None, limit: int
) -> ConsentChangesPage:
    """People's consent events after `cursor`, in feed order (audited)."""
    _client(principal)
    page = await feed.read(session, cursor, limit)
    items = [
        ConsentChangeRead(
            event_id=event.id,
            user_id=event.subject_user_id,
            purpose=event.purpose_key,
            purpose_version=event.purpose_version,
            action=ConsentAction(event.action),
            granted=event.action == ConsentAction.GRANTED,
            method=CollectionMethod(event.method),
            actor_kind=event.actor_kind,
            recorded_at=event.created_at,
        )
        for event in page.events
    ]
    await audit.record(
        session,
        actor=principal,
        action="consent.feed_read",
        subject_type="consent_feed",
        subject_id=None,
        fields=sorted({item.purpose for item in items}),
    )
    return ConsentChangesPage(items=items, next_cursor=page.next_cursor, has_more=page.has_more)


def _fingerprint(body: ConsentRecordCreate) -> str:
    text = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


async def _earlier(
    session: AsyncSession, client_id: UUID, key: str | None, reference: str | None
) -> list[ConsentEvidence]:
    matches = []
    if key is not None:
        matches.append(ConsentEvidence.idempotency_key == key)
    if reference is not None:
        matches.append(ConsentEvidence.reference == reference)
    query = select(ConsentEvidence).where(ConsentEvidence.client_id == client_id, or_(*matches))
    return list((await session.scalars(query)).all())


async def _replay(
    session: AsyncSession, principal: Principal, earlier: list[ConsentEvidence], fingerprint: str
) -> ConsentRecordRead:
    if len(earlier) != 1 or earlier[0].request_sha256 != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key or reference was used for a different consent record; "
            "use a new key for a new record."
        )
    evidence = earlier[0]
    event = await session.get(ConsentEvent, evidence.event_id)
    if event is None:
        raise PersonNotFound("The recorded consent is gone.")
    await audit.record(
        session,
        actor=principal,
        action="consent.record_replayed",
        subject_type="consent_event",
        subject_id=event.id,
    )
    return _record_read(event, evidence, replayed=True)


def _record_read(event: ConsentEvent, evidence: ConsentEvidence, *, replayed: bool) -> ConsentRecordRead:
    return ConsentRecordRead(
        event_id=event.id,
        user_id=evidence.user_id,
        purpose=event.purpose_key,
        purpose_version=event.purpose_version,
        granted=event.action == ConsentAction.GRANTED,
        action=ConsentAction(event.action),
        method=CollectionMethod(event.method),
        recorded_at=event.created_at,
        collected_at=evidence.collected_at,
        source=evidence.source,
        notice_version=evidence.notice_version,
        reference=evidence.reference,
        replayed=replayed,
    )


def _check_collected_at(body: ConsentRecordCreate, settings: Settings) -> None:
    now = utcnow()
    if body.collected_at > now + CLOCK_SKEW:
        raise FieldInvalid("collected_at", "The consent cannot have been collected in the future.")
    oldest = now - timedelta(days=settings.consent_api_evidence_max_age_days)
    if body.collected_at < oldest:
        raise FieldInvalid(
            "collected_at",
            f"Consents collected more than {settings.consent_api_evidence_max_age_days} days ago "
            "cannot be recorded; ask the person again.",
        )


async def _check_not_superseded(session: AsyncSession, body: ConsentRecordCreate) -> None:
    """Refuse an answer collected before the person's current one: it would overwrite a newer choice."""
    row = (
        await session.execute(
            select(ConsentState.since, ConsentEvidence.collected_at)
            .outerjoin(ConsentEvidence, ConsentEvidence.event_id == ConsentState.event_id)
            .where(ConsentState.user_id == body.user_id, ConsentState.purpose_key == body.purpose)
        )
    ).first()
    if row is None:
        return
    since, collected_at = row
    current = collected_at or since
    if current > body.collected_at:
        raise ConsentSuperseded(
            f"The person's current answer for {body.purpose} dates from {current.isoformat()}, "
            "after this one was collected; it stands."
        )


async def record(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    body: ConsentRecordCreate,
    idempotency_key: str | None,
) -> ConsentRecordRead:
    """Append a consent collected by the client to the person's ledger, with its evidence; a retry
    (same Idempotency-Key or reference, same request) answers the first record again."""
    client = _client(principal)
    if idempotency_key is None and body.reference is None:
        raise IdempotencyKeyRequired(
            "Send an Idempotency-Key header or a reference, so a retry records once."
        )
    fingerprint = _fingerprint(body)
    # A retry is answered as the first request was, even once its collected_at has grown old.
    if earlier := await _earlier(session, client.id, idempotency_key, body.reference):
        return await _replay(session, principal, earlier, fingerprint)
    _check_collected_at(body, settings)
    user = await session.get(User, body.user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        raise PersonNotFound("No active account has this id.")
    purpose = await session.scalar(select(ConsentPurpose).where(ConsentPurpose.key == body.purpose))
    if purpose is None:
        raise FieldInvalid("purpose", f"There is no purpose {body.purpose!r}.")
    if not purpose.optional:
        raise PurposeNotOptional(f"{purpose.name} is needed to run the service; no consent is asked for it.")
    # From here the person's chain is locked: a retry running at the same time waits and then
    # finds this record, and no other answer can slip in between the check and the append.
    await ledger.lock_subject(session, user_subject(user.id))
    if earlier := await _earlier(session, client.id, idempotency_key, body.reference):
        return await _replay(session, principal, earlier, fingerprint)
    await _check_not_superseded(session, body)
    (appended,) = await ledger.append(
        session,
        ledger.user_ledger(user.id),
        [ledger.Answer(purpose.key, ConsentAction.GRANTED if body.granted else None, CollectionMethod.API)],
        actor=principal,
        # The request comes from the client's servers, not from the person's device.
        ip=None,
        user_agent=None,
        jurisdiction=None,
        only_optional=True,
    )
    now = utcnow()
    evidence = {
        "id": new_id(),
        "event_id": appended.entry["id"],
        "user_id": user.id,
        "client_id": client.id,
        "idempotency_key": idempotency_key,
        "reference": body.reference,
        "request_sha256": fingerprint,
        "source": body.source,
        "collected_at": body.collected_at,
        "notice_version": body.notice_version,
        "notice_text": body.notice_text,
        "created_at": now,
        "updated_at": now,
    }
    dialect = session.get_bind().dialect.name
    if await session.scalar(_INSERT_EVIDENCE[dialect], evidence) is None:
        # The same key or reference for another person, in a request still running.
        raise IdempotencyConflict("A request with this Idempotency-Key or reference is being recorded.")
    await _tell_the_person(session, settings, user, client, purpose, body)
    return _record_read(appended.event, ConsentEvidence(**evidence), replayed=False)


async def _tell_the_person(
    session: AsyncSession,
    settings: Settings,
    user: User,
    client: OAuthClient,
    purpose: ConsentPurpose,
    body: ConsentRecordCreate,
) -> None:
    """A service mail to the person: another system answered for them, so they hear of it from
    us and can change it (a replay sends nothing again)."""
    await notifications.send_email(
        session,
        settings,
        user.email,
        "consent_recorded_by_client",
        {
            "name": accounts.greeting_name(user),
            "client_name": client.name,
            "purpose_name": purpose.name,
            "granted": body.granted,
            "collected_at": body.collected_at.astimezone(UTC).date().isoformat(),
            "source": body.source,
            "consents_url": public_url(settings, CONSENTS_PAGE),
        },
        user_id=user.id,
    )
