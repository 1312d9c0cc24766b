"""Purposes, the hash-chained consent ledger, and the current state it keeps up to date."""

import hashlib
import ipaddress
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Boolean,
    String,
    Table,
    Text,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from opmaestro.accounts.models import User
from opmaestro.audit import service as audit
from opmaestro.consent import receipts
from opmaestro.consent.exceptions import (
    ConsentEventNotFound,
    PurposeExists,
    PurposeNotFound,
    PurposeNotOptional,
)
from opmaestro.consent.models import (
    CollectionMethod,
    ConsentAction,
    ConsentChainHead,
    ConsentEvent,
    ConsentPurpose,
    ConsentState,
)
from opmaestro.consent.schemas import PurposeCreate, PurposeUpdate
from opmaestro.core.auth import AuthMethod, Principal
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.db import new_id, table_of
from opmaestro.core.driver_sql import DriverStatement
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
_HASH_INPUTS = (*HASHED_FIELDS, "prev_hash")


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


def user_subject(user_id: UUID) -> str:
    return f"user:{user_id}"


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, UUID):
        return str(value)
    return value


_SEQ_SLOT = -1  # never a real position: chains start at 1
_DOCUMENT_END = '"}'


@dataclass(frozen=True)
class HashedDocument:
    """An event's hashed document around the two parts its chain's head supplies:
    `before_seq + str(seq) + after_seq + prev_hash + '"}'`. PostgreSQL fills them in while
    holding the head's lock; everything else is known before it is taken."""

    before_seq: str
    after_seq: str


def hashed_document(values: Mapping[str, Any]) -> HashedDocument:
    """The canonical JSON of the event's fields and the previous hash, split at seq and prev_hash."""
    fields = {name: _canonical(values[name]) for name in HASHED_FIELDS if name != "seq"}
    fields["seq"] = _SEQ_SLOT
    document = json.dumps(
        {"event": fields, "prev_hash": ""}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    # Inside a string value every quote is escaped, so this can only match the seq field.
    before, _, after = document.partition(f'"seq":{_SEQ_SLOT},')
    return HashedDocument(before + '"seq":', "," + after.removesuffix(_DOCUMENT_END))


def event_hash(event: ConsentEvent | Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the event's fields and the previous hash."""
    values = event if isinstance(event, Mapping) else {name: getattr(event, name) for name in _HASH_INPUTS}
    document = hashed_document(values)
    text = f"{document.before_seq}{values['seq']}{document.after_seq}{values['prev_hash']}{_DOCUMENT_END}"
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
UpsertInsert = postgresql.Insert | sqlite.Insert


def _lock_head(insert: Callable[[Table], UpsertInsert], *context: Any) -> ReturningInsert[Any]:
    values = insert(_HEAD).values(
        subject=bindparam("subject"), seq=0, last_hash=GENESIS_HASH, updated_at=bindparam("now")
    )
    return values.on_conflict_do_update(
        index_elements=["subject"], set_={"subject": values.excluded.subject}
    ).returning(_HEAD.c.seq, _HEAD.c.last_hash, *context)


def _purpose_column(name: str) -> Any:
    return select(_PURPOSE.c[name]).where(_PURPOSE.c.key == bindparam("purpose_key")).scalar_subquery()


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
# What an event records besides its chain position: none of it depends on the chain, so it
# may be read before the chain is locked (PostgreSQL) or with the statement that locks it.
_APPEND_CONTEXT = (
    *(_purpose_column(name).label(name) for name in _PURPOSE_FIELDS),
    policies.current_version_column(PolicyKind.PRIVACY, PolicyVersion.version).label("policy_version"),
    policies.current_version_column(PolicyKind.PRIVACY, PolicyVersion.sha256).label("policy_sha256"),
    select(User.country).where(User.id == bindparam("user_id")).scalar_subquery().label("country"),
)
# Built once: a consent change is a hot path, and building costs more than running.
_LOCK_HEAD = {"postgresql": _lock_head(pg_insert), "sqlite": _lock_head(sqlite_insert)}
_READ_CONTEXT = DriverStatement(select(*_APPEND_CONTEXT))
_LOCK_HEAD_READING_CONTEXT = DriverStatement(_lock_head(sqlite_insert, *_APPEND_CONTEXT))
_INSERT_EVENT = DriverStatement(insert(_EVENT))
_INSERT_AUDIT_RECORD = DriverStatement(audit.INSERT)
_GRANTED_NOW = DriverStatement(
    select(_STATE.c.granted).where(
        _STATE.c.user_id == bindparam("user_id"), _STATE.c.purpose_key == bindparam("purpose_key")
    )
)
_AUDIT_PREFIX = "audit_"
_CHAIN_FIELDS = ("seq", "prev_hash", "action", "hash")
_IF_GRANTED = "_if_granted"


def _append_in_one_statement() -> ReturningInsert[Any]:
    """PostgreSQL: write the audit record, lock the chain and append the event in one statement.

    The database fills in what the chain decides: the position and previous hash from the
    locked head, the hash from the document Python prepared around them, and, when the caller
    leaves withdraw-or-deny open, which of the two prepared answers applies, judged on the
    current answer read after the lock is held (`consent_granted_now`, migration 0007). Run
    outside a transaction the chain stays locked only while the statement runs.
    """
    head = _lock_head(pg_insert).cte("head")
    was_granted = and_(
        bindparam("decide", type_=Boolean),
        func.consent_granted_now(bindparam("user_id", type_=Uuid), bindparam("purpose_key", type_=String)),
    )
    decided = select(
        (head.c.seq + 1).label("seq"), head.c.last_hash.label("prev_hash"), was_granted.label("was_granted")
    ).cte("decided")

    def prepared(name: str) -> Any:
        return case(
            (decided.c.was_granted, bindparam(name + _IF_GRANTED, type_=Text)),
            else_=bindparam(name, type_=Text),
        )

    document = (
        prepared("before_seq")
        + cast(decided.c.seq, Text)
        + prepared("after_seq")
        + decided.c.prev_hash
        + literal_column(f"'{_DOCUMENT_END}'")
    )
    utf8, hexadecimal = literal_column("'UTF8'", Text), literal_column("'hex'", Text)
    digest = func.encode(func.sha256(func.convert_to(document, utf8)), hexadecimal)
    given = [column for column in _EVENT.columns if column.key not in _CHAIN_FIELDS]
    rows = select(
        *(bindparam(column.key, type_=column.type).label(column.key) for column in given),
        decided.c.seq,
        decided.c.prev_hash,
        prepared("action").label("action"),
        digest.label("hash"),
    ).select_from(decided)
    audit_entry = (
        insert(audit.TABLE)
        .values({column.key: bindparam(_AUDIT_PREFIX + column.key) for column in audit.TABLE.columns})
        .cte("audit_entry")
    )
    return (
        insert(_EVENT)
        .from_select([*(column.key for column in given), *_CHAIN_FIELDS], rows)
        .returning(*(_EVENT.c[name] for name in _CHAIN_FIELDS))
        .add_cte(audit_entry)
    )


_APPEND_IN_ONE_STATEMENT = DriverStatement(_append_in_one_statement())


async def lock_subject(session: AsyncSession, subject: str) -> ChainHead:
    """The subject's chain head, created if new and locked until the transaction ends.

    One upsert both creates and locks: on SQLite the write takes the database's write lock
    (waiting for other writers) before the head is read, so the read is current; on PostgreSQL
    ON CONFLICT DO UPDATE locks the row, which serializes writers to one chain.
    """
    statement = _LOCK_HEAD[session.get_bind().dialect.name]
    seq, last_hash = (await session.execute(statement, {"subject": subject, "now": utcnow()})).one()
    return ChainHead(subject, seq, last_hash)


async def get_purpose(session: AsyncSession, key: str) -> ConsentPurpose:
    purpose = await session.scalar(select(ConsentPurpose).where(ConsentPurpose.key == key))
    if purpose is None:
        raise PurposeNotFound(f"There is no purpose {key!r}.")
    return purpose


async def list_purposes(session: AsyncSession) -> list[ConsentPurpose]:
    return list((await session.scalars(select(ConsentPurpose).order_by(ConsentPurpose.key))).all())


def _actor(actor: Principal | None, user_id: UUID, method: CollectionMethod) -> tuple[UUID | None, str]:
    if actor is None:
        return (user_id, "subject") if method in SUBJECT_METHODS else (None, "system")
    if actor.method is AuthMethod.CLIENT and actor.client is not None:
        return actor.client.id, "client"
    assert actor.user is not None
    if actor.user.id == user_id:
        return user_id, "subject"
    return actor.user.id, "staff" if actor.user.is_staff else "user"


@dataclass(frozen=True)
class AppendContext:
    """The purpose, the privacy policy in force and the user's country, recorded with an event."""

    purpose: ConsentPurpose
    policy_version: str | None
    policy_sha256: str | None
    country: str | None

    @classmethod
    def of(cls, found: Mapping[str, Any], purpose_key: str) -> "AppendContext":
        if found["key"] is None:
            raise PurposeNotFound(f"There is no purpose {purpose_key!r}.")
        # A detached copy: the response needs its fields, the session need not track it.
        purpose = ConsentPurpose(**{name: found[name] for name in _PURPOSE_FIELDS})
        return cls(purpose, found["policy_version"], found["policy_sha256"], found["country"])


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
    entry, _, _ = await _append(
        session,
        user_id=user_id,
        purpose_key=purpose_key,
        action=action,
        method=method,
        actor=actor,
        ip=ip,
        user_agent=user_agent,
        jurisdiction=jurisdiction,
    )
    return ConsentEvent(**entry)


async def _append(
    session: AsyncSession,
    *,
    user_id: UUID,
    purpose_key: str,
    action: ConsentAction | None,
    method: CollectionMethod,
    actor: Principal | None,
    ip: str | None,
    user_agent: str | None,
    jurisdiction: str | None,
    only_optional: bool = False,
) -> tuple[dict[str, Any], dict[str, Any], ConsentPurpose]:
    """Append an event after the head of the user's chain; head and state follow from it.

    `action=None` withdraws a granted consent and denies any other, decided under the chain's
    lock on the latest answer; `only_optional` refuses purposes that cannot be switched off.
    Concurrent changes to one chain wait for each other: on PostgreSQL for the statement that
    locks the head (and the transaction's end, when there is one), on SQLite for the write lock.
    Plain statements of plain values rather than the unit of work: these rows are written
    once and never loaded back in the same request, and the ORM's bookkeeping tripled the cost
    of a consent change.
    """
    actor_id, actor_kind = _actor(actor, user_id, method)
    event_id = new_id()
    now = utcnow()
    # The audit record names the event, not what it says (audit keeps field names, never values).
    audit_entry = audit.entry(
        actor=actor,
        action="consent.recorded",
        subject_type="consent_event",
        subject_id=event_id,
        fields=[purpose_key],
    )
    subject = user_subject(user_id)
    parameters = {"subject": subject, "user_id": user_id, "purpose_key": purpose_key, "now": now}
    connection = await session.connection()
    on_postgresql = connection.dialect.name == "postgresql"
    if on_postgresql:
        found = await _READ_CONTEXT.fetch_one(connection, parameters)
    else:
        # The audit record goes first so that only the lock, the answer's read and the event's
        # insert happen while the database's write lock is held.
        await _INSERT_AUDIT_RECORD.execute(connection, audit_entry)
        found = await _LOCK_HEAD_READING_CONTEXT.fetch_one(connection, parameters)
    context = AppendContext.of(found, purpose_key)
    purpose = context.purpose
    if only_optional and not purpose.optional:
        raise PurposeNotOptional(f"{purpose.name} is needed to run the service and cannot be switched off.")
    entry: dict[str, Any] = {
        "id": event_id,
        "subject": subject,
        "subject_user_id": user_id,
        "device_id": None,
        "purpose_key": purpose.key,
        "purpose_version": purpose.version,
        "method": CollectionMethod(method).value,
        "policy_version": context.policy_version,
        "policy_sha256": context.policy_sha256,
        "jurisdiction": jurisdiction if jurisdiction is not None else context.country,
        "ip_address": truncate_ip(ip),
        "user_agent": user_agent[:USER_AGENT_LIMIT] if user_agent else None,
        "actor_id": actor_id,
        "actor_kind": actor_kind,
        "created_at": now,
    }
    if on_postgresql:
        entry |= await _append_on_postgresql(connection, entry, parameters, action, audit_entry)
    else:
        if action is None:
            answer = await _GRANTED_NOW.fetch_optional(connection, parameters)
            action = ConsentAction.WITHDRAWN if answer and answer["granted"] else ConsentAction.DENIED
        entry |= {"seq": found["seq"] + 1, "prev_hash": found["last_hash"], "action": action.value}
        entry["hash"] = event_hash(entry)
        # The database advances the chain head and upserts the state from the event (migration 0006).
        await _INSERT_EVENT.execute(connection, entry)
    state = {
        "id": entry["id"],
        "user_id": user_id,
        "purpose_key": purpose.key,
        "purpose_version": purpose.version,
        "granted": entry["action"] == ConsentAction.GRANTED,
        "action": entry["action"],
        "method": entry["method"],
        "event_id": entry["id"],
        "since": now,
    }
    return entry, state, purpose


async def _append_on_postgresql(
    connection: AsyncConnection,
    entry: dict[str, Any],
    parameters: dict[str, Any],
    action: ConsentAction | None,
    audit_entry: dict[str, Any],
) -> dict[str, Any]:
    """Run the one-statement append; returns the fields the chain decided."""
    # "No" is prepared both ways; the database picks one by the answer it finds under the lock.
    answers = {"": action or ConsentAction.DENIED, _IF_GRANTED: action or ConsentAction.WITHDRAWN}
    documents = {
        answer: hashed_document(entry | {"action": answer.value}) for answer in set(answers.values())
    }
    prepared = {
        name + suffix: value
        for suffix, answer in answers.items()
        for name, value in (
            ("action", answer.value),
            ("before_seq", documents[answer].before_seq),
            ("after_seq", documents[answer].after_seq),
        )
    }
    audit_values = {_AUDIT_PREFIX + name: value for name, value in audit_entry.items()}
    arguments = entry | parameters | prepared | audit_values | {"decide": action is None}
    return await _APPEND_IN_ONE_STATEMENT.fetch_one(connection, arguments)


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


async def create_purpose(session: AsyncSession, principal: Principal, body: PurposeCreate) -> ConsentPurpose:
    """Add a purpose at version 1."""
    if await session.scalar(select(ConsentPurpose.id).where(ConsentPurpose.key == body.key)) is not None:
        raise PurposeExists(f"A purpose {body.key!r} exists already.")
    purpose = ConsentPurpose(
        key=body.key,
        name=body.name,
        description=body.description,
        legal_basis=body.legal_basis,
        optional=body.optional,
        version=1,
        renewal_version=1,
    )
    session.add(purpose)
    await audit.record(
        session,
        actor=principal,
        action="consent.purpose_created",
        subject_type="consent_purpose",
        subject_id=body.key,
        fields=sorted(body.model_fields_set),
    )
    await session.flush()
    return purpose


async def update_purpose(
    session: AsyncSession, principal: Principal, key: str, body: PurposeUpdate
) -> ConsentPurpose:
    """Change a purpose; new wording is a new version, and a material change asks for consent again."""
    purpose = await get_purpose(session, key)
    changes = body.model_dump(include=body.model_fields_set - {"material"}, exclude_none=True)
    changed = sorted(name for name, value in changes.items() if getattr(purpose, name) != value)
    for name in changed:
        setattr(purpose, name, changes[name])
    if body.material or {"name", "description"} & set(changed):
        purpose.version += 1
        changed.append("version")
    if body.material:
        purpose.renewal_version = purpose.version
        changed.append("renewal_version")
    if changed:
        await audit.record(
            session,
            actor=principal,
            action="consent.purpose_updated",
            subject_type="consent_purpose",
            subject_id=purpose.key,
            fields=changed,
        )
    await session.flush()
    return purpose


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
    _, state, purpose = await _append(
        session,
        user_id=user.id,
        purpose_key=purpose_key,
        action=ConsentAction.GRANTED if granted else None,
        method=method,
        actor=principal,
        ip=client.ip,
        user_agent=client.user_agent,
        jurisdiction=None,
        only_optional=True,
    )
    return PurposeConsent(purpose, ConsentState(**state))


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
    return await receipts.issue(session, entry, await get_purpose(session, entry.purpose_key), settings)
