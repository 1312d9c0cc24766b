"""The hash-chained consent ledger: appending events, the current state they keep, verifying a chain."""

import hashlib
import ipaddress
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from opmaestro.accounts.deps import AuthMethod, Principal
from opmaestro.accounts.models import User
from opmaestro.audit import service as audit
from opmaestro.consent import changes, purposes, receipts
from opmaestro.consent.exceptions import ConsentEventNotFound, PurposeNotFound, PurposeNotOptional
from opmaestro.consent.models import (
    CollectionMethod,
    ConsentAction,
    ConsentChainHead,
    ConsentEvent,
    ConsentFeedEntry,
    ConsentPurpose,
    ConsentState,
    user_subject,
)
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.db import new_id, table_of
from opmaestro.core.http import Client
from opmaestro.core.pagination import newest_first, page_of
from opmaestro.policies import service as policies
from opmaestro.policies.models import PolicyKind, PolicyVersion

MARKETING_EMAIL = "marketing_email"
GENESIS_HASH = "0" * 64
USER_AGENT_LIMIT = 300
# Methods where the subject acts without a signed-in session: they are their own actor.
SUBJECT_METHODS = frozenset(
    {
        CollectionMethod.SIGNUP,
        CollectionMethod.UNSUBSCRIBE_LINK,
        CollectionMethod.BANNER,
        CollectionMethod.GPC,
        CollectionMethod.DEVICE_LINK,
    }
)
HASHED_FIELDS = (
    "id",
    "subject",
    "seq",
    "subject_user_id",
    "device_id",
    "purpose_key",
    "purpose_version",
    "action",
    "method",
    "policy_version",
    "policy_sha256",
    "jurisdiction",
    "ip_address",
    "user_agent",
    "actor_id",
    "actor_kind",
    "created_at",
)


def truncate_ip(raw: str | None) -> str | None:
    """Keep the network, not the host: /24 for IPv4, /48 for IPv6; None if it is no address."""
    if not raw:
        return None
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, UUID):
        return str(value)
    return value


def _field(event: ConsentEvent | Mapping[str, Any], name: str) -> Any:
    return event[name] if isinstance(event, Mapping) else getattr(event, name)


def event_hash(event: ConsentEvent | Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the event's fields and the previous hash."""
    document = {
        "event": {name: _canonical(_field(event, name)) for name in HASHED_FIELDS},
        "prev_hash": _field(event, "prev_hash"),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ChainHead:
    """The end of a subject's chain, as read while holding its lock."""

    subject: str
    seq: int
    last_hash: str


_HEAD = table_of(ConsentChainHead)
_EVENT = table_of(ConsentEvent)
_STATE = table_of(ConsentState)
_PURPOSE = table_of(ConsentPurpose)
_Insert = Callable[[Table], postgresql.Insert | sqlite.Insert]
# The same SQL on both databases; each dialect has its own construct for ON CONFLICT.
_INSERTS: dict[str, _Insert] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_PURPOSE_FIELDS = (
    "id",
    "key",
    "name",
    "description",
    "legal_basis",
    "optional",
    "version",
    "renewal_version",
)
# The columns a state table (ConsentState, or a twin such as a device's) keeps per purpose.
STATE_FIELDS = ("purpose_version", "granted", "action", "method", "event_id", "since")


@dataclass(frozen=True)
class LedgerSubject:
    """Whose chain an append extends, and the state table that keeps their current answers.

    A person is `user:<id>` with ConsentState; another domain's subject (a browser's device) has
    a chain of its own and a state table with the same answer columns (`STATE_FIELDS`), found by
    `owner_column`; `state_values` are the other columns each answer's state row takes."""

    subject: str
    user_id: UUID | None
    device_id: str | None
    state: Table
    owner_column: str
    owner: Any
    state_values: Mapping[str, Any] = field(default_factory=dict)


def user_ledger(user_id: UUID) -> LedgerSubject:
    """The chain and state rows of a signed-up person."""
    return LedgerSubject(user_subject(user_id), user_id, None, _STATE, "user_id", user_id)


@dataclass(frozen=True)
class Answer:
    """One purpose's answer to append; `action=None` withdraws a grant and denies anything else."""

    purpose_key: str
    action: ConsentAction | None
    method: CollectionMethod


@dataclass(frozen=True)
class Appended:
    entry: dict[str, Any]
    state: dict[str, Any]
    purpose: ConsentPurpose

    @property
    def event(self) -> ConsentEvent:
        return ConsentEvent(**self.entry)


def _purpose_column(name: str, index: int) -> Any:
    return (
        select(_PURPOSE.c[name])
        .where(_PURPOSE.c.key == bindparam(f"purpose_key_{index}"))
        .scalar_subquery()
        .label(f"{name}_{index}")
    )


def _append_context(purposes_read: int) -> tuple[Any, ...]:
    """What events record besides their chain position; none of it depends on the chain."""
    return (
        *(_purpose_column(name, index) for index in range(purposes_read) for name in _PURPOSE_FIELDS),
        policies.current_version_column(PolicyKind.PRIVACY, PolicyVersion.version).label("policy_version"),
        policies.current_version_column(PolicyKind.PRIVACY, PolicyVersion.sha256).label("policy_sha256"),
        select(User.country).where(User.id == bindparam("user_id")).scalar_subquery().label("country"),
    )


def _lock_head(insert_for: _Insert, *context: Any) -> ReturningInsert[Any]:
    """Create the subject's chain head if new and lock it; returns its end and `context`.

    On PostgreSQL ON CONFLICT DO UPDATE locks the row until the transaction ends, so writers to
    one chain queue here; on SQLite the transaction holds the database's write lock already.
    """
    values = insert_for(_HEAD).values(
        subject=bindparam("subject"), seq=0, last_hash=GENESIS_HASH, updated_at=bindparam("now")
    )
    return values.on_conflict_do_update(
        index_elements=["subject"], set_={"subject": values.excluded.subject}
    ).returning(_HEAD.c.seq, _HEAD.c.last_hash, *context)


# Built once per shape: a consent change is a hot path, and building a statement costs more
# than running it.
_LOCK_HEAD = {name: _lock_head(insert_for) for name, insert_for in _INSERTS.items()}


@cache
def _lock_head_reading_context(dialect: str, purposes_read: int) -> ReturningInsert[Any]:
    return _lock_head(_INSERTS[dialect], *_append_context(purposes_read))


@cache
def _upsert_state(dialect: str, state: Table, owner_column: str, also_set: tuple[str, ...]) -> Any:
    values = _INSERTS[dialect](state)
    return values.on_conflict_do_update(
        index_elements=[owner_column, "purpose_key"],
        set_={name: values.excluded[name] for name in (*STATE_FIELDS, *also_set)},
    )


@cache
def _granted_now(state: Table, owner_column: str) -> Any:
    return select(state.c.purpose_key, state.c.granted).where(
        state.c[owner_column] == bindparam("owner"),
        state.c.purpose_key.in_(bindparam("purpose_keys", expanding=True)),
    )


_INSERT_EVENT = insert(_EVENT)
_INSERT_FEED_ENTRY = insert(table_of(ConsentFeedEntry))
_ADVANCE_HEAD = update(_HEAD).where(_HEAD.c.subject == bindparam("head_subject"))


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def lock_subject(session: AsyncSession, subject: str) -> ChainHead:
    """The subject's chain head, created if new and locked until the transaction ends."""
    statement = _LOCK_HEAD[_dialect(session)]
    seq, last_hash = (await session.execute(statement, {"subject": subject, "now": utcnow()})).one()
    return ChainHead(subject, seq, last_hash)


def _actor(
    actor: Principal | None, user_id: UUID | None, method: CollectionMethod
) -> tuple[UUID | None, str]:
    if actor is None:
        return (user_id, "subject") if method in SUBJECT_METHODS else (None, "system")
    if actor.method is AuthMethod.CLIENT and actor.client is not None:
        return actor.client.id, "client"
    user = actor.signed_in_user
    if user.id == user_id:
        return user_id, "subject"
    return user.id, "staff" if user.is_staff else "user"


async def record(
    session: AsyncSession,
    *,
    user_id: UUID,
    purpose_key: str,
    action: ConsentAction,
    method: CollectionMethod,
    actor: Principal | None,
    ip: str | None,
    user_agent: str | None,
    jurisdiction: str | None = None,
) -> ConsentEvent:
    """Append an event to the user's chain and update their current state; never commits."""
    (appended,) = await append(
        session,
        user_ledger(user_id),
        [Answer(purpose_key, action, method)],
        actor=actor,
        ip=ip,
        user_agent=user_agent,
        jurisdiction=jurisdiction,
    )
    return appended.event


async def append(
    session: AsyncSession,
    subject: LedgerSubject,
    answers: Sequence[Answer],
    *,
    actor: Principal | None,
    ip: str | None,
    user_agent: str | None,
    jurisdiction: str | None,
    only_optional: bool = False,
    at: datetime | None = None,
) -> list[Appended]:
    """Append one event per answer after the head of the subject's chain, then advance the head
    and the state rows: one write path for every chain, on both databases.

    `only_optional` refuses purposes that cannot be switched off; an answer with `action=None`
    is decided on the state read under the chain's lock. The statements, in the caller's
    transaction, whatever the number of answers: the audit records, the lock that also reads the
    purposes, policy and country, (the current answers, when needed and the chain is not new),
    then the events, (a person's: their place in the clients' change feed), the head and the
    state rows. Plain Core statements rather than the ORM's
    unit of work: these rows are written once and never loaded back by the request, and the
    ORM's bookkeeping would double the cost of a change.
    """
    if not answers:
        return []
    now = at or utcnow()
    event_ids = [new_id() for _ in answers]
    # The audit records name the events, not what they say (audit keeps field names, never
    # values). They go first, so that the chain stays locked for as short a time as possible.
    await session.execute(
        audit.INSERT,
        [
            audit.entry(
                actor=actor,
                action="consent.recorded",
                subject_type="consent_event",
                subject_id=event_id,
                fields=[answer.purpose_key],
            )
            for event_id, answer in zip(event_ids, answers, strict=True)
        ],
    )
    parameters: dict[str, Any] = {"subject": subject.subject, "user_id": subject.user_id, "now": now}
    parameters |= {f"purpose_key_{index}": answer.purpose_key for index, answer in enumerate(answers)}
    dialect = _dialect(session)
    lock = _lock_head_reading_context(dialect, len(answers))
    found = (await session.execute(lock, parameters)).mappings().one()
    read: list[ConsentPurpose] = []
    for index, answer in enumerate(answers):
        if found[f"key_{index}"] is None:
            raise PurposeNotFound(f"There is no purpose {answer.purpose_key!r}.")
        # A detached copy: the response needs its fields, the session need not track it.
        purpose = ConsentPurpose(**{name: found[f"{name}_{index}"] for name in _PURPOSE_FIELDS})
        if only_optional and not purpose.optional:
            raise PurposeNotOptional(
                f"{purpose.name} is needed to run the service and cannot be switched off."
            )
        read.append(purpose)
    granted_now: dict[str, bool] = {}
    # A new chain has no state rows yet: state is only ever written with the chain's events.
    if found["seq"] > 0 and any(answer.action is None for answer in answers):
        # Read after the lock: on PostgreSQL a statement sees what committed before it began.
        rows = await session.execute(
            _granted_now(subject.state, subject.owner_column),
            {"owner": subject.owner, "purpose_keys": [answer.purpose_key for answer in answers]},
        )
        granted_now = {key: bool(granted) for key, granted in rows.all()}
    appended: list[Appended] = []
    seq, prev_hash = found["seq"], found["last_hash"]
    for event_id, answer, purpose in zip(event_ids, answers, read, strict=True):
        action = answer.action
        if action is None:
            action = ConsentAction.WITHDRAWN if granted_now.get(purpose.key) else ConsentAction.DENIED
        actor_id, actor_kind = _actor(actor, subject.user_id, answer.method)
        seq += 1
        entry: dict[str, Any] = {
            "id": event_id,
            "subject": subject.subject,
            "seq": seq,
            "subject_user_id": subject.user_id,
            "device_id": subject.device_id,
            "purpose_key": purpose.key,
            "purpose_version": purpose.version,
            "action": action.value,
            "method": CollectionMethod(answer.method).value,
            "policy_version": found["policy_version"],
            "policy_sha256": found["policy_sha256"],
            "jurisdiction": jurisdiction if jurisdiction is not None else found["country"],
            "ip_address": truncate_ip(ip),
            "user_agent": user_agent[:USER_AGENT_LIMIT] if user_agent else None,
            "actor_id": actor_id,
            "actor_kind": actor_kind,
            "created_at": now,
            "prev_hash": prev_hash,
        }
        entry["hash"] = prev_hash = event_hash(entry)
        # A new state row takes the id of the event that created it.
        state = {
            **subject.state_values,
            "id": event_id,
            subject.owner_column: subject.owner,
            "purpose_key": purpose.key,
            "purpose_version": purpose.version,
            "granted": action is ConsentAction.GRANTED,
            "action": action.value,
            "method": entry["method"],
            "event_id": event_id,
            "since": now,
        }
        appended.append(Appended(entry, state, purpose))
    await session.execute(_INSERT_EVENT, [item.entry for item in appended])
    # Only people's chains feed clients; a browser's device chain is the banner's business.
    if subject.user_id is not None and subject.subject == user_subject(subject.user_id):
        await session.execute(_INSERT_FEED_ENTRY, [{"event_id": item.entry["id"]} for item in appended])
    await session.execute(
        _ADVANCE_HEAD,
        {"head_subject": subject.subject, "seq": seq, "last_hash": prev_hash, "updated_at": now},
    )
    await session.execute(
        _upsert_state(dialect, subject.state, subject.owner_column, tuple(sorted(subject.state_values))),
        [item.state for item in appended],
    )
    if subject.user_id is not None:
        await changes.recorded(
            session,
            [
                changes.ConsentChange(
                    user_id=subject.user_id,
                    event_id=item.entry["id"],
                    purpose_key=item.entry["purpose_key"],
                    purpose_version=item.entry["purpose_version"],
                    action=item.entry["action"],
                    method=item.entry["method"],
                    recorded_at=now,
                )
                for item in appended
            ],
        )
    return appended


async def is_granted(session: AsyncSession, user_id: UUID, purpose_key: str) -> bool:
    """Whether the user's current answer is a grant still valid for the purpose (a point lookup)."""
    row = (
        await session.execute(
            select(ConsentState.granted, ConsentState.purpose_version, ConsentPurpose.renewal_version)
            .join(ConsentPurpose, ConsentPurpose.key == ConsentState.purpose_key)
            .where(ConsentState.user_id == user_id, ConsentState.purpose_key == purpose_key)
        )
    ).first()
    if row is None:
        return False
    granted, given_at_version, renewal_version = row
    return bool(granted) and given_at_version >= renewal_version


@dataclass(frozen=True)
class PurposeConsent:
    purpose: ConsentPurpose
    state: ConsentState | None

    @property
    def renewal_needed(self) -> bool:
        return (
            self.state is not None
            and self.state.granted
            and self.state.purpose_version < self.purpose.renewal_version
        )


async def current_consents(session: AsyncSession, user_id: UUID) -> list[PurposeConsent]:
    """Every purpose with the user's current answer, read from the state rows (never the history)."""
    rows = await session.execute(
        select(ConsentPurpose, ConsentState)
        .outerjoin(
            ConsentState,
            (ConsentState.purpose_key == ConsentPurpose.key) & (ConsentState.user_id == user_id),
        )
        .order_by(ConsentPurpose.key)
    )
    return [PurposeConsent(purpose, state) for purpose, state in rows.all()]


async def set_preference(
    session: AsyncSession, principal: Principal, purpose_key: str, granted: bool, client: Client
) -> PurposeConsent:
    """Grant, or deny or withdraw, the signed-in user's consent to one purpose."""
    user = principal.signed_in_user
    method = CollectionMethod.SETTINGS if principal.method is AuthMethod.SESSION else CollectionMethod.API
    (appended,) = await append(
        session,
        user_ledger(user.id),
        [Answer(purpose_key, ConsentAction.GRANTED if granted else None, method)],
        actor=principal,
        ip=client.ip,
        user_agent=client.user_agent,
        jurisdiction=None,
        only_optional=True,
    )
    return PurposeConsent(appended.purpose, ConsentState(**appended.state))


async def list_events(
    session: AsyncSession, user_id: UUID, *, cursor: str | None, limit: int
) -> tuple[list[ConsentEvent], str | None]:
    """The user's ledger, newest first."""
    query = select(ConsentEvent).where(ConsentEvent.subject_user_id == user_id)
    rows = list(
        (
            await session.scalars(
                newest_first(query, ConsentEvent.created_at, ConsentEvent.id, cursor, limit)
            )
        ).all()
    )
    return page_of(rows, limit)


async def get_own_event(session: AsyncSession, user_id: UUID, event_id: UUID) -> ConsentEvent:
    """One of the user's own ledger events."""
    found = await session.scalar(
        select(ConsentEvent).where(ConsentEvent.id == event_id, ConsentEvent.subject_user_id == user_id)
    )
    if found is None:
        raise ConsentEventNotFound("No such consent event.")
    return found


@dataclass(frozen=True)
class ChainReport:
    intact: bool
    events: int
    first_broken_event_id: UUID | None


async def verify_chain(session: AsyncSession, subject: str) -> ChainReport:
    """Recompute every hash of a subject's chain, in order, and compare it with the stored head."""
    previous, expected_seq, count = GENESIS_HASH, 1, 0
    result = await session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.subject == subject)
        .order_by(ConsentEvent.seq)
        .execution_options(populate_existing=True)
    )
    for entry in result:
        count += 1
        if entry.seq != expected_seq or entry.prev_hash != previous or event_hash(entry) != entry.hash:
            return ChainReport(False, count, entry.id)
        previous, expected_seq = entry.hash, expected_seq + 1
    head = await session.get(ConsentChainHead, subject, populate_existing=True)
    # A head ahead of the events means entries were removed from the end of the chain.
    intact = (head is None and count == 0) or (head is not None and head.last_hash == previous)
    return ChainReport(intact, count, None)


async def verify_user_chain(session: AsyncSession, principal: Principal | None, user_id: UUID) -> ChainReport:
    """Verify a user's chain; staff checks are audited."""
    report = await verify_chain(session, user_subject(user_id))
    if principal is not None:
        await audit.record(
            session,
            actor=principal,
            action="consent.chain_verified",
            subject_type="user",
            subject_id=user_id,
        )
    return report


async def receipt_for(
    session: AsyncSession, principal: Principal, event_id: UUID, settings: Settings
) -> tuple[str, dict[str, Any]]:
    """A signed receipt for one of the signed-in user's own ledger events."""
    entry = await get_own_event(session, principal.signed_in_user.id, event_id)
    purpose = await purposes.get_purpose(session, entry.purpose_key)
    return await receipts.issue(session, entry, purpose, settings)
