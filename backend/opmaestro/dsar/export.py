"""The export job: a ZIP of everything we hold about a person, written streaming in constant memory.

One JSON file per data-map category, one CSV per tabular table, a `manifest.json` with each
file's SHA-256 and size, and a `README.txt`. The archive is written to `<name>.zip.partial` and
renamed only once complete, so a crashed run leaves nothing a download could find; a rerun
removes what an earlier attempt left and starts over.
"""

import asyncio
import csv
import hashlib
import io
import json
import logging
import os
import secrets
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Column, ColumnElement, MetaData, String, Table, Uuid, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator
from stream_zip import ZIP_64, async_stream_zip

from opmaestro.audit import service as audit
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.datamap import Category, PersonalColumn, personal_columns, rows_of
from opmaestro.core.db import Base
from opmaestro.core.errors import AppError, NotFound
from opmaestro.dsar import catalog, ownership, workflow
from opmaestro.dsar.access import columns_by_category, count_rows
from opmaestro.dsar.models import DataRequest, RequestKind, RequestState
from opmaestro.notifications import service as notifications
from opmaestro.notifications.models import OutboxMessage

logger = logging.getLogger(__name__)

JOB = "dsar.export"
EXPIRE_JOB = "dsar.expire_exports"
MAX_ATTEMPTS = 5
# Tables people read as a table (many rows of the same shape): one CSV each, every column.
TABULAR = {
    "consent_event": "Every consent you gave, refused or withdrew: what for, when, how, and from "
    "which device and address.",
    "user_session": "Your sign-ins: when each session started and was last used, from which "
    "device and address, and when it ended.",
    "security_event": "Security events on your account (sign-ins, password and two-factor "
    "changes), with the device and address.",
    "outbox_message": "The emails we wrote to you, with their subject and text.",
}
BATCH_ROWS = 5000
PARTIAL = ".partial"
FILE_MODE = 0o600
# Deflate's fastest level: 200,000 consent events in 4.5 s instead of 6.3 s at level 6, for an
# archive 15 % larger (9.1 MB instead of 7.9 MB); the archive is downloaded once.
COMPRESSION_LEVEL = 1
NO_ACCOUNT = "We hold no account data for this address, so there is nothing to export."
FAILED = "The export could not be written after several attempts; our privacy team will follow up."


def export_dir(settings: Settings) -> Path:
    return Path(settings.export_dir)


async def start_export(
    session: AsyncSession, _settings: Settings, request: DataRequest, actor: audit.Actor | None
) -> None:
    """Queue the export of a verified request and move it to in_progress."""
    await jobs.enqueue(session, JOB, {"request_id": str(request.id)}, max_attempts=MAX_ATTEMPTS)
    await workflow.begin_work(session, request, actor=actor)


workflow.register_starter(RequestKind.EXPORT, start_export)


@dataclass(frozen=True)
class Part:
    """One table's rows inside one file: which columns, read how."""

    table: Table
    columns: tuple[Column[Any], ...]
    withheld: frozenset[str]
    # CSV parts have ids and times formatted as text by the database (see `_raw`).
    raw: bool = False


@dataclass
class Member:
    """One file of the archive, and what the README says it holds."""

    name: str
    description: str
    parts: list[Part]
    kind: str  # "json", "csv"
    category: Category | None = None
    sha256: str = ""
    size: int = 0


@dataclass
class Plan:
    members: list[Member] = field(default_factory=list)

    def tables(self) -> list[Table]:
        return sorted({part.table for member in self.members for part in member.parts}, key=lambda t: t.name)


def plan(metadata: MetaData = Base.metadata) -> Plan:
    """The files of an export, from the data map alone."""
    grouped = columns_by_category(metadata)
    tabular = {name for name in TABULAR if name in metadata.tables}
    withheld_columns = {
        (column.table, column.column)
        for column in personal_columns(metadata)
        if column.category in catalog.WITHHELD_CATEGORIES
    }
    result = Plan()
    for category, columns in grouped.items():
        by_table: dict[str, list[PersonalColumn]] = {}
        for column in columns:
            if column.table not in tabular:
                by_table.setdefault(column.table, []).append(column)
        parts = []
        for name, found in by_table.items():
            table = metadata.tables[name]
            keys = [
                column for column in table.primary_key.columns if column.name not in {c.column for c in found}
            ]
            chosen = (*keys, *(table.c[column.column] for column in found))
            parts.append(Part(table, tuple(chosen), _withheld(table, chosen, withheld_columns)))
        result.members.append(
            Member(
                f"{category.value}.json",
                f"{catalog.facts_of(category).label}: the {category.value} data of each record, "
                "with why we hold it, on which basis, who receives it and for how long.",
                parts,
                "json",
                category,
            )
        )
    for name in sorted(tabular):
        table = metadata.tables[name]
        if not any(column.table == name for columns in grouped.values() for column in columns):
            continue
        chosen = tuple(table.columns)
        result.members.append(
            Member(
                f"{name}.csv",
                f"{TABULAR[name]} One row each, every column.",
                [Part(table, chosen, _withheld(table, chosen, withheld_columns), raw=True)],
                "csv",
            )
        )
    return result


def _withheld(table: Table, columns: Iterable[Column[Any]], withheld: set[tuple[str, str]]) -> frozenset[str]:
    return frozenset(column.name for column in columns if (table.name, column.name) in withheld)


class Progress:
    """Counts rows written and commits the percentage in its own short transaction."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], request_id: UUID, total: int) -> None:
        self.sessionmaker = sessionmaker
        self.request_id = request_id
        self.total = max(total, 1)
        self.done = 0
        self.percent = 0

    async def advance(self, rows: int) -> None:
        self.done += rows
        # 100 is for the finished request only.
        percent = min(99, self.done * 100 // self.total)
        if percent > self.percent:
            self.percent = percent
            async with self.sessionmaker() as session:
                await session.execute(
                    update(DataRequest)
                    .where(DataRequest.id == self.request_id)
                    .values(progress_percent=percent)
                    .execution_options(synchronize_session=False)
                )
                await session.commit()


class _UuidText(FunctionElement[str]):
    """A UUID column as its dashed text, formatted by the database."""

    type = String()
    inherit_cache = True


class _UtcText(FunctionElement[str]):
    """A UTC timestamp column as ISO 8601 text (`YYYY-MM-DD HH:MM:SS.ffffff+00:00`)."""

    type = String()
    inherit_cache = True


@compiles(_UuidText)
def _uuid_text(element: _UuidText, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(next(iter(element.clauses)), **kw)} AS VARCHAR)"


@compiles(_UuidText, "sqlite")
def _uuid_text_sqlite(element: _UuidText, compiler: Any, **kw: Any) -> str:
    # Stored as 32 hex digits.
    value = compiler.process(next(iter(element.clauses)), **kw)
    parts = [
        f"substr({value}, {start}, {length})"
        for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    ]
    return " || '-' || ".join(parts)


@compiles(_UtcText)
def _utc_text(element: _UtcText, compiler: Any, **kw: Any) -> str:
    value = compiler.process(next(iter(element.clauses)), **kw)
    return f"to_char({value} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00:00'"


@compiles(_UtcText, "sqlite")
def _utc_text_sqlite(element: _UtcText, compiler: Any, **kw: Any) -> str:
    # Stored as naive UTC text with microseconds.
    return f"{compiler.process(next(iter(element.clauses)), **kw)} || '+00:00'"


def _raw(column: Column[Any]) -> ColumnElement[Any]:
    """The column as the text the CSV holds, formatted by the database.

    A million consent events spent most of their export time building UUID and timezone-aware
    datetime objects in Python only to print them again."""
    if isinstance(column.type, Uuid):
        return _UuidText(column).label(column.name)
    if _python_type(column) is datetime:
        return _UtcText(column).label(column.name)
    return column


def _python_type(column: Column[Any]) -> type | None:
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    try:
        python_type = kind.python_type
    # SQLAlchemy's documented answer for a type with no single Python type: export it as stored.
    except NotImplementedError:
        return None
    return python_type if isinstance(python_type, type) else None


def _converter(column: Column[Any], withheld: frozenset[str]) -> Callable[[Any], Any] | None:
    if column.name in withheld:
        return lambda value: None if value is None else catalog.WITHHELD
    if isinstance(column.type, JSON):
        return lambda value: json.dumps(value, ensure_ascii=False)
    return None


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return str(value)


async def _rows(
    sessionmaker: async_sessionmaker[AsyncSession], part: Part, user_id: UUID
) -> AsyncIterator[Sequence[Any]]:
    """The person's rows of one table, in batches, read by the database's server-side cursor."""
    columns = [_raw(column) for column in part.columns] if part.raw else part.columns
    statement = select(*columns).where(rows_of(part.table, user_id)).execution_options(yield_per=BATCH_ROWS)
    async with sessionmaker() as session:
        result = await session.stream(statement)
        async for batch in result.partitions():
            yield batch


async def _csv_chunks(
    sessionmaker: async_sessionmaker[AsyncSession], part: Part, user_id: UUID, progress: Progress
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([column.name for column in part.columns])
    converters = [(index, _converter(c, part.withheld)) for index, c in enumerate(part.columns)]
    converters = [(index, convert) for index, convert in converters if convert is not None]
    redact = _one_time_links_removed(part)
    async for batch in _rows(sessionmaker, part, user_id):
        if converters:
            rows: Iterable[Sequence[Any]] = (_convert(row, converters) for row in batch)
        else:
            rows = batch
        if redact is not None:
            rows = (redact(list(row)) for row in rows)
        writer.writerows(rows)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        await progress.advance(len(batch))
    if buffer.tell():
        yield buffer.getvalue().encode()


def _one_time_links_removed(part: Part) -> Callable[[list[Any]], list[Any]] | None:
    """For the outbox: a message that carried a one-time link (a password reset, say) is exported
    without its text, which could still be used by whoever holds the file."""
    names = [column.name for column in part.columns]
    if part.table.name != OutboxMessage.__tablename__ or "template" not in names:
        return None
    template = names.index("template")
    bodies = [names.index(name) for name in ("text_body", "html_body") if name in names]

    def redact(values: list[Any]) -> list[Any]:
        if notifications.carries_one_time_link(values[template]):
            for index in bodies:
                values[index] = notifications.ONE_TIME_LINK_REMOVED
        return values

    return redact


def _convert(row: Sequence[Any], converters: list[tuple[int, Callable[[Any], Any] | None]]) -> list[Any]:
    values = list(row)
    for index, convert in converters:
        if convert is not None:
            values[index] = convert(values[index])
    return values


async def _json_chunks(
    sessionmaker: async_sessionmaker[AsyncSession],
    member: Member,
    user_id: UUID,
    progress: Progress,
    everything: list[PersonalColumn],
    files: dict[str, str],
) -> AsyncIterator[bytes]:
    category = member.category
    if category is None:
        raise ValueError("a JSON member describes one category")
    facts = catalog.facts_of(category)
    header = {
        "category": category.value,
        "label": facts.label,
        "purpose": facts.purpose,
        "legal_basis": facts.legal_basis,
        "recipients": [recipient.describe() for recipient in facts.recipients],
        "retention": catalog.retention(category, everything),
        "source": ", ".join(source.value for source in facts.sources),
        # Tables of this category kept as CSV files, named here so nothing seems missing.
        "in_csv_files": {
            table: files[table]
            for table in sorted({c.table for c in everything if c.category is category})
            if table in files
        },
    }
    yield (json.dumps(header, indent=2, ensure_ascii=False)[:-2] + ',\n  "records": {').encode()
    for index, part in enumerate(member.parts):
        names = [column.name for column in part.columns]
        yield f"{',' if index else ''}\n    {json.dumps(part.table.name)}: [".encode()
        first = True
        async for batch in _rows(sessionmaker, part, user_id):
            lines = []
            for row in batch:
                record = {
                    name: (catalog.WITHHELD if value is not None and name in part.withheld else value)
                    for name, value in zip(names, row, strict=True)
                }
                lines.append(json.dumps(record, default=_json_value, ensure_ascii=False))
            yield (("" if first else ",") + "\n      " + ",\n      ".join(lines)).encode()
            first = False
            await progress.advance(len(batch))
        yield b"\n    ]"
    yield b"\n  }\n}\n"


async def _hashed(member: Member, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    digest = hashlib.sha256()
    async for chunk in chunks:
        digest.update(chunk)
        member.size += len(chunk)
        yield chunk
    member.sha256 = digest.hexdigest()


class _Ahead:
    """Runs each file's producer (database reads, CSV/JSON text) a few chunks ahead of the
    archive, which compresses in a thread: reading, formatting and compressing then overlap
    instead of taking turns. Producers left running when the archive stops are cancelled."""

    def __init__(self, depth: int = 4) -> None:
        self.depth = depth
        self.tasks: list[asyncio.Task[None]] = []

    async def __call__(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes | Exception | None] = asyncio.Queue(self.depth)

        async def produce() -> None:
            try:
                async for chunk in chunks:
                    await queue.put(chunk)
            except Exception as error:
                await queue.put(error)
            else:
                await queue.put(None)

        self.tasks.append(asyncio.create_task(produce()))
        while (item := await queue.get()) is not None:
            if isinstance(item, Exception):
                raise item
            yield item

    async def cancel(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def _single(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _readme(members: list[Member], generated_at: datetime) -> bytes:
    lines = [
        "Your data from OpMaestro",
        "",
        f"This archive holds the personal data we kept about you on {generated_at:%Y-%m-%d %H:%M} UTC.",
        "Each file is described below. JSON files open in any text editor; CSV files open in a",
        "spreadsheet. Sign-in secrets (password and token hashes, two-factor secrets) are named but",
        "their values are withheld, because a copy could be used to sign in as you. For the same",
        "reason, emails that carried a one-time link (address confirmation, password reset) are",
        "listed without their text.",
        "",
    ]
    for member in members:
        lines += [f"{member.name}", f"    {member.description}", ""]
    lines += [
        "manifest.json",
        "    The size and SHA-256 checksum of every other file, to check that none was changed.",
        "",
        "README.txt",
        "    This file.",
        "",
    ]
    return "\n".join(lines).encode()


async def write_archive(
    path: Path,
    export_plan: Plan,
    reader: async_sessionmaker[AsyncSession],
    user_id: UUID,
    progress: Progress,
    generated_at: datetime,
    metadata: MetaData = Base.metadata,
) -> tuple[str, int]:
    """Stream the archive to `path`; returns its SHA-256 and size."""
    everything = personal_columns(metadata)
    files = {part.table.name: m.name for m in export_plan.members if m.kind == "csv" for part in m.parts}
    ahead = _Ahead()

    async def members() -> AsyncIterator[Any]:
        for member in export_plan.members:
            if member.kind == "csv":
                chunks = _csv_chunks(reader, member.parts[0], user_id, progress)
            else:
                chunks = _json_chunks(reader, member, user_id, progress, everything, files)
            yield member.name, generated_at, FILE_MODE, ZIP_64, _hashed(member, ahead(chunks))
        readme = _readme(export_plan.members, generated_at)
        manifest = {
            "generated_at": generated_at.isoformat(),
            "files": [
                {"name": m.name, "size": m.size, "sha256": m.sha256}
                for m in [
                    *export_plan.members,
                    Member(
                        "README.txt",
                        "",
                        [],
                        "txt",
                        size=len(readme),
                        sha256=hashlib.sha256(readme).hexdigest(),
                    ),
                ]
            ],
        }
        yield "README.txt", generated_at, FILE_MODE, ZIP_64, _single(readme)
        yield (
            "manifest.json",
            generated_at,
            FILE_MODE,
            ZIP_64,
            _single(json.dumps(manifest, indent=2).encode()),
        )

    digest = hashlib.sha256()
    size = 0
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as output:
            async for chunk in async_stream_zip(
                members(),
                get_compressobj=lambda: zlib.compressobj(level=COMPRESSION_LEVEL, wbits=-zlib.MAX_WBITS),
            ):
                output.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            output.flush()
            os.fsync(output.fileno())
    finally:
        await ahead.cancel()
    return digest.hexdigest(), size


@asynccontextmanager
async def _reader(context: jobs.JobContext) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions to read the person's rows with, long-running and without the write lock."""
    bind = context.session.bind
    if isinstance(bind, AsyncEngine) and bind.dialect.name == "sqlite":
        # Our SQLite transactions begin with the write lock and the pool holds one connection, so a
        # long read through them would stall every writer (and this job's progress) until the
        # export ends. A connection of its own reads in autocommit: WAL gives it a snapshot
        # without blocking anyone.
        engine = create_async_engine(bind.url, poolclass=NullPool)
        try:
            yield async_sessionmaker(engine)
        finally:
            await engine.dispose()
    else:
        yield context.sessionmaker


def _remove_earlier_attempts(directory: Path, request_id: UUID, keep: str | None) -> None:
    for leftover in directory.glob(f"{request_id.hex}-*"):
        if leftover.name != keep:
            leftover.unlink(missing_ok=True)


async def _export_failed(session: AsyncSession, payload: dict[str, Any], _error: str) -> None:
    request = await session.get(DataRequest, UUID(payload["request_id"]))
    if request is not None and request.state == RequestState.IN_PROGRESS:
        await workflow.fail(session, request, actor=None, reason=FAILED)


@jobs.handler(JOB, on_dead=_export_failed)
async def run_export(context: jobs.JobContext, payload: dict[str, Any]) -> None:
    """Write the person's archive, then record it and complete the request."""
    request_id = UUID(payload["request_id"])
    session = context.session
    request = await session.get(DataRequest, request_id)
    if request is None or request.state != RequestState.IN_PROGRESS:
        logger.info("export %s is no longer in progress", request_id)
        return
    if request.user_id is None:
        await workflow.complete(session, request, actor=None, outcome=NO_ACCOUNT)
        return
    user_id = request.user_id
    # The same rows erasure would take: mail to their address stored without their id is theirs.
    await ownership.adopt_unowned_mail(session, user_id)
    # End this read before the long work: on SQLite it holds the write lock.
    await session.commit()
    directory = export_dir(context.settings)
    directory.mkdir(parents=True, exist_ok=True)
    _remove_earlier_attempts(directory, request_id, keep=None)
    name = f"{request_id.hex}-{secrets.token_hex(16)}.zip"
    partial = directory / (name + PARTIAL)
    export_plan = plan()
    generated_at = utcnow()
    try:
        async with _reader(context) as reader:
            async with reader() as counting:
                counts = await count_rows(counting, export_plan.tables(), user_id)
            total = sum(counts[part.table.name] for member in export_plan.members for part in member.parts)
            progress = Progress(context.sessionmaker, request_id, total)
            sha256, size = await write_archive(partial, export_plan, reader, user_id, progress, generated_at)
        os.replace(partial, directory / name)
    finally:
        partial.unlink(missing_ok=True)
    request = await session.get(DataRequest, request_id, populate_existing=True)
    if request is None or request.state != RequestState.IN_PROGRESS:
        (directory / name).unlink(missing_ok=True)
        return
    request.export_file = name
    request.export_sha256 = sha256
    request.export_size = size
    request.export_expires_at = utcnow() + timedelta(days=context.settings.export_ttl_days)
    await workflow.complete(session, request, actor=None)


@jobs.handler(EXPIRE_JOB)
async def expire_exports(context: jobs.JobContext, _payload: dict[str, Any]) -> None:
    """Delete export files past their expiry, and the leftovers of crashed runs."""
    session = context.session
    directory = export_dir(context.settings)
    expired = await session.scalars(
        select(DataRequest).where(
            DataRequest.export_file.is_not(None), DataRequest.export_expires_at <= utcnow()
        )
    )
    for request in expired:
        if request.export_file:
            (directory / request.export_file).unlink(missing_ok=True)
        request.export_file = None
    await session.flush()
    if directory.is_dir():
        stale_before = (utcnow() - timedelta(days=1)).timestamp()
        for leftover in directory.glob(f"*.zip{PARTIAL}"):
            if leftover.stat().st_mtime < stale_before:
                leftover.unlink(missing_ok=True)


jobs.periodic(EXPIRE_JOB, every=timedelta(hours=1))


class ExportNotFound(NotFound):
    slug, title = "data-request-not-found", "Data request not found"


class ExportGone(AppError):
    status, slug, title = 410, "export-gone", "Export not available"


async def download(
    session: AsyncSession, principal: audit.Actor, user_id: UUID, request_id: UUID, settings: Settings
) -> tuple[Path, str]:
    """The owner's finished export file and the name to save it as; the download is audited."""
    request = await session.scalar(
        select(DataRequest).where(DataRequest.id == request_id, DataRequest.user_id == user_id)
    )
    if request is None or request.kind != RequestKind.EXPORT:
        raise ExportNotFound("No export request of yours has this id.")
    expires_at = request.export_expires_at
    path = export_dir(settings) / request.export_file if request.export_file else None
    if path is None or expires_at is None or expires_at <= utcnow() or not path.is_file():
        raise ExportGone("This export is not ready, or it has expired and was deleted. Request a new one.")
    await audit.record(
        session,
        actor=principal,
        action="data_request.export_downloaded",
        subject_type="data_request",
        subject_id=request.id,
    )
    return path, f"opmaestro-data-{request.created_at:%Y-%m-%d}.zip"
