"""Erasure: after the grace period, apply every column's data-map strategy to one person's rows,
revoke their access, write a deletion certificate, and verify with a scan that no trace is left.

The whole erasure of one person is one transaction (the job's): a crash leaves nothing half-done,
and the job simply runs again.
"""

import hashlib
import hmac
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Table, bindparam, delete, func, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts import hooks as account_hooks
from opmaestro.accounts import revocation
from opmaestro.accounts.deps import Principal
from opmaestro.accounts.models import Role, User, UserStatus
from opmaestro.audit import service as audit
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.datamap import (
    Anonymize,
    Category,
    Delete,
    Retain,
    classification_of,
    rows_of,
    subject_keys,
)
from opmaestro.core.db import Base, table_of
from opmaestro.dsar import holds, ownership, scan, workflow
from opmaestro.dsar.models import DataRequest, Jurisdiction, LegalHold, RequestKind, RequestState
from opmaestro.notifications import service as notifications

logger = logging.getLogger(__name__)

ERASURE_JOB = "dsar.erasure"
ERASE_CLOSED_ACCOUNTS_JOB = "dsar.erase_closed_accounts"
CERTIFICATE_VERSION = 1
# Rows per UPDATE batch when each row gets its own replacement value.
ANONYMIZE_BATCH = 1000
CLOSED_ACCOUNTS_PER_RUN = 200


@dataclass
class TableReport:
    """What the erasure did to one table's rows of the person (counts and column names only)."""

    rows: int = 0
    deleted: int = 0
    cleared: int = 0
    anonymized: int = 0
    columns: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "deleted": self.deleted,
            "cleared": self.cleared,
            "anonymized": self.anonymized,
            "columns": dict(sorted(self.columns.items())),
        }


@dataclass
class ErasureReport:
    tables: dict[str, TableReport] = field(default_factory=dict)
    retained: list[dict[str, Any]] = field(default_factory=list)
    held: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # Required columns of rows kept for their retained or held data: they cannot be emptied alone.
    kept_with_row: list[str] = field(default_factory=list)

    def left_columns(self) -> set[str]:
        """`table.column` of every column the erasure left on purpose (retained, held, kept)."""
        return (
            {f"{item['table']}.{item['column']}" for item in self.retained}
            | {column for columns in self.held.values() for column in columns}
            | set(self.kept_with_row)
        )


def subject_hash(settings: Settings, user_id: UUID) -> str:
    """A keyed hash of the person's id: the certificate names them without revealing them, and
    with the server's secret no one can confirm a guessed id."""
    key = hmac.new(settings.secret_key.get_secret_value().encode(), b"dsar.erasure.subject", hashlib.sha256)
    return hmac.new(key.digest(), str(user_id).encode(), hashlib.sha256).hexdigest()


async def schedule(
    session: AsyncSession, settings: Settings, request: DataRequest, actor: audit.Actor | None = None
) -> None:
    """Mark it in progress, set the erasure time a grace period after that, queue the job for then."""
    await workflow.begin_work(session, request, actor=actor)
    request.erase_after = (request.started_at or utcnow()) + timedelta(days=settings.erasure_grace_days)
    await jobs.enqueue(
        session,
        ERASURE_JOB,
        {"request_id": str(request.id)},
        max_attempts=settings.job_max_attempts,
        run_at=request.erase_after,
    )


workflow.register_starter(RequestKind.ERASURE, schedule)


async def _count(session: AsyncSession, table: Table, user_id: UUID) -> int:
    return int(
        await session.scalar(select(func.count()).select_from(table).where(rows_of(table, user_id))) or 0
    )


async def _anonymize_rows(
    session: AsyncSession, table: Table, user_id: UUID, columns: dict[str, Anonymize]
) -> int:
    """Replace each value with its replacement (which may derive from the old value), row by row."""
    key = list(table.primary_key.columns)
    selected = select(*key, *(table.c[name] for name in columns)).where(rows_of(table, user_id))
    statement = (
        update(table)
        .where(*(column == bindparam(f"key_{column.name}") for column in key))
        .values({name: bindparam(f"new_{name}") for name in columns})
        .execution_options(synchronize_session=False)
    )
    rows = (await session.execute(selected)).mappings().all()
    for start in range(0, len(rows), ANONYMIZE_BATCH):
        batch = [
            {f"key_{column.name}": row[column.name] for column in key}
            | {f"new_{name}": strategy.replacement(row[name]) for name, strategy in columns.items()}
            for row in rows[start : start + ANONYMIZE_BATCH]
        ]
        await session.execute(statement, batch)
    return len(rows)


async def _erase_table(
    session: AsyncSession, table: Table, user_id: UUID, held: dict[Category, str], report: ErasureReport
) -> None:
    deleted: list[str] = []
    anonymized: dict[str, Anonymize] = {}
    kept_row = False
    outcome = TableReport()
    for column in table.columns:
        classification = classification_of(column.info)
        if classification is None or not classification.personal or classification.category is None:
            continue
        name, strategy = column.name, classification.erasure
        if classification.category in held:
            report.held[classification.category].append(f"{table.name}.{name}")
            outcome.columns[name] = "held"
            kept_row = True
        elif isinstance(strategy, Retain):
            report.retained.append(
                {
                    "table": table.name,
                    "column": name,
                    "category": classification.category.value,
                    "reason": strategy.reason,
                    "days": strategy.days,
                }
            )
            outcome.columns[name] = "retained"
            kept_row = True
        elif isinstance(strategy, Delete):
            deleted.append(name)
            outcome.columns[name] = "deleted"
        elif isinstance(strategy, Anonymize):
            anonymized[name] = strategy
            outcome.columns[name] = "anonymized"
    if not outcome.columns:
        return
    report.tables[table.name] = outcome
    outcome.rows = await _count(session, table, user_id)
    if not outcome.rows:
        return
    required = [name for name in deleted if not table.c[name].nullable]
    # A row whose required column must go is deleted whole, unless it also holds something kept;
    # the person's account row is never deleted, so every reference to it holds.
    if required and not kept_row and table is not User.__table__:
        result = await session.execute(
            delete(table).where(rows_of(table, user_id)).execution_options(synchronize_session=False)
        )
        outcome.deleted = int(getattr(result, "rowcount", 0))
        return
    for name in required:
        outcome.columns[name] = "kept: the row holds retained or held data"
        report.kept_with_row.append(f"{table.name}.{name}")
    clearable = [name for name in deleted if name not in required]
    if clearable:
        result = await session.execute(
            update(table)
            .where(rows_of(table, user_id))
            .values({name: null() for name in clearable})
            .execution_options(synchronize_session=False)
        )
        outcome.cleared = int(getattr(result, "rowcount", 0))
    if anonymized:
        outcome.anonymized = await _anonymize_rows(session, table, user_id, anonymized)


async def erase_person(session: AsyncSession, user_id: UUID, held: dict[Category, str]) -> ErasureReport:
    """Apply every personal column's data-map strategy to the person's rows in every table; the
    categories in `held` are left as they are."""
    report = ErasureReport()
    for table in Base.metadata.sorted_tables:
        if subject_keys(table):
            await _erase_table(session, table, user_id, held, report)
    return report


def _certificate(
    settings: Settings, request: DataRequest, report: ErasureReport, result: scan.ScanResult
) -> dict[str, Any]:
    if request.user_id is None:
        raise ValueError("an erasure certificate names an account")
    return {
        "version": CERTIFICATE_VERSION,
        "request_id": str(request.id),
        "subject_sha256": subject_hash(settings, request.user_id),
        "subject_hash": "HMAC-SHA256 of the account id under a server-side key",
        "requested_at": request.created_at.isoformat(),
        "erase_after": request.erase_after.isoformat() if request.erase_after else None,
        "erased_at": utcnow().isoformat(),
        "tables": {name: table.as_dict() for name, table in sorted(report.tables.items())},
        "retained": report.retained,
        "held": [
            {"category": category, "columns": sorted(columns)}
            for category, columns in sorted(report.held.items())
        ],
        "kept_with_row": sorted(report.kept_with_row),
        "scan": {"columns_searched": result.columns_searched, "traces_found": result.found},
    }


async def _alert_staff(
    session: AsyncSession, settings: Settings, request: DataRequest, found: list[str]
) -> None:
    officers = list(
        await session.scalars(
            select(User.email).where(User.role == Role.PRIVACY_OFFICER, User.status == UserStatus.ACTIVE)
        )
    ) or list(
        await session.scalars(
            select(User.email).where(User.role == Role.ADMIN, User.status == UserStatus.ACTIVE)
        )
    )
    for address in officers:
        await notifications.send_email(
            session, settings, address, "erasure_failed", {"request_id": str(request.id), "columns": found}
        )


async def _notify_requester(
    session: AsyncSession,
    settings: Settings,
    address: str | None,
    report: ErasureReport,
    held: dict[Category, str],
) -> None:
    if not address:
        return
    retained = sorted({item["reason"] for item in report.retained})
    await notifications.send_email(
        session,
        settings,
        address,
        "erasure_completed",
        {
            "completed_on": utcnow().date().isoformat(),
            "retained": retained,
            # Holds are shown to the person with their reason, not hidden.
            "held": [f"{category}: {reason}" for category, reason in sorted(held.items())],
        },
    )


def _trace(column: Column[Any], value: str | None, erased: bool) -> str | None:
    """The value to look for after erasure; None when an earlier erasure already wrote it."""
    if value is None or not erased:
        return value
    classification = classification_of(column.info)
    strategy = classification.erasure if classification else None
    # A constant replacement ("Erased user") maps onto itself.
    if isinstance(strategy, Anonymize) and strategy.replacement(value) == value:
        return None
    return value


async def erase(session: AsyncSession, settings: Settings, request: DataRequest) -> None:
    """Run one in-progress erasure request to its end: erase, certify, scan, complete or fail."""
    user = await session.get(User, request.user_id) if request.user_id else None
    if user is None:
        await workflow.complete(
            session, request, actor=None, outcome="No account held data for this request."
        )
        return
    user_id = user.id
    address: str | None = request.email or user.email
    # A second erasure of an erased account (a hold released since) looks for what the holds
    # kept, not for the placeholders the first one wrote; nor is there anyone left to mail.
    rerun = user.status == UserStatus.ERASED
    accounts_table = table_of(User)
    if rerun:
        address = None
    traces = scan.Traces(
        email=_trace(accounts_table.c.email, user.email, rerun),
        phone=_trace(accounts_table.c.phone, user.phone, rerun),
        name=_trace(accounts_table.c.name, user.name, rerun),
    )
    held = await holds.held_categories(session, user_id)
    await revocation.revoke_access(session, user_id, settings, actor=None, reason="erasure")
    await account_hooks.account_ended(session, user_id, settings, "erasure")
    await ownership.adopt_unowned_mail(session, user_id, user.email)
    report = await erase_person(session, user_id, held)
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(status=UserStatus.ERASED, deletion_due_at=None)
        .execution_options(synchronize_session=False)
    )
    session.expire(user)
    result = await scan.scan(session, Base.metadata, traces, skip=report.left_columns())
    request.certificate = _certificate(settings, request, report, result)
    await audit.record(
        session,
        actor=None,
        action="user.erased",
        subject_type="user",
        subject_id=user_id,
        fields=sorted(report.tables),
        reason=f"data request {request.id}",
    )
    if result.found:
        logger.error("erasure %s left traces in %s", request.id, ", ".join(result.found))
        await workflow.fail(
            session,
            request,
            actor=None,
            reason="The verification scan still found the person in: " + ", ".join(result.found),
        )
        await _alert_staff(session, settings, request, result.found)
        return
    await workflow.complete(session, request, actor=None)
    await _notify_requester(session, settings, address, report, held)


@jobs.handler(ERASURE_JOB)
async def _run_erasure(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    session = context.session
    request = await session.get(DataRequest, UUID(payload["request_id"]), with_for_update=True)
    # Cancelled (or otherwise closed) during the grace period: nothing to do.
    if request is None or request.kind != RequestKind.ERASURE or request.state != RequestState.IN_PROGRESS:
        return
    if request.erase_after is None:
        request.erase_after = (request.started_at or utcnow()) + timedelta(
            days=context.settings.erasure_grace_days
        )
    if request.erase_after > utcnow():
        await jobs.enqueue(
            session, ERASURE_JOB, payload, max_attempts=context.max_attempts, run_at=request.erase_after
        )
        return
    await erase(session, context.settings, request)


async def open_for_closed_accounts(
    session: AsyncSession, settings: Settings, *, limit: int
) -> list[DataRequest]:
    """An erasure request, due now, for each closed account whose deletion date has passed."""
    users = list(
        await session.scalars(
            select(User)
            .where(User.status == UserStatus.CLOSED, User.deletion_due_at <= utcnow())
            .order_by(User.deletion_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    opened = []
    for user in users:
        request = await open_system_erasure(session, settings, user.id)
        if request is not None:
            opened.append(request)
    return opened


async def open_system_erasure(session: AsyncSession, settings: Settings, user_id: UUID) -> DataRequest | None:
    """An erasure request of our own, due and run now; None when one is already in progress."""
    pending = await session.scalar(
        select(DataRequest.id).where(
            DataRequest.user_id == user_id,
            DataRequest.kind == RequestKind.ERASURE,
            DataRequest.state == RequestState.IN_PROGRESS,
        )
    )
    if pending is not None:
        return None
    now = utcnow()
    request = DataRequest(
        kind=RequestKind.ERASURE,
        state=RequestState.VERIFIED,
        user_id=user_id,
        jurisdiction=Jurisdiction.OTHER,
        due_at=now,
        verified_at=now,
        erase_after=now,
    )
    session.add(request)
    await session.flush()
    await jobs.enqueue(
        session, ERASURE_JOB, {"request_id": str(request.id)}, max_attempts=settings.job_max_attempts
    )
    await workflow.begin_work(session, request, actor=None)
    return request


async def release_hold(
    session: AsyncSession, settings: Settings, principal: Principal, hold_id: UUID, reason: str
) -> LegalHold:
    """End a hold; if the person was already erased, what it kept is erased now (own certificate)."""
    hold = await holds.release(session, principal, hold_id, reason)
    status = await session.scalar(select(User.status).where(User.id == hold.user_id))
    if status == UserStatus.ERASED:
        await open_system_erasure(session, settings, hold.user_id)
    return hold


@jobs.handler(ERASE_CLOSED_ACCOUNTS_JOB)
async def _erase_closed_accounts(context: jobs.JobContext, _payload: dict[str, Any]) -> None:
    opened = await open_for_closed_accounts(context.session, context.settings, limit=CLOSED_ACCOUNTS_PER_RUN)
    if opened:
        logger.info("opened %d erasure(s) of closed accounts", len(opened))


jobs.periodic(ERASE_CLOSED_ACCOUNTS_JOB, every=timedelta(hours=1))
