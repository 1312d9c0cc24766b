"""The export job: every personal column of every row, checksummed, crash-safe, with progress."""

import csv
import hashlib
import io
import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.datamap import personal_columns, rows_of
from opmaestro.core.db import Base, unit_of_work
from opmaestro.dsar import catalog, export, workflow
from opmaestro.dsar.models import DataRequest, RequestState
from opmaestro.notifications.models import OutboxMessage
from tests.dsar.export_helpers import export_job, exported_cells, read_archive, start_export
from tests.factories import create_personal_data, create_user

METADATA = Base.metadata


@pytest.fixture
def export_settings(settings, tmp_dir):
    return settings.model_copy(update={"export_dir": tmp_dir / "exports", "job_backoff_seconds": 0.0})


@pytest.fixture
async def member(session):
    user = await create_user(session, "ann@example.com", name="Ann Lee")
    await create_personal_data(session, user, rows=3)
    return user


@pytest.fixture
async def other(session):
    user = await create_user(session, "bob@example.com", name="Bob Stone")
    await create_personal_data(session, user, rows=2)
    return user


async def run_export(session, sessionmaker, settings, user) -> DataRequest:
    request = await start_export(session, user)
    job = await export_job(session, request)
    assert await jobs.JobRunner(sessionmaker, settings).run_by_id(job.id)
    await session.refresh(request)
    return request


def as_json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value if value is None or isinstance(value, bool | int | float | str | list | dict) else str(value)


def as_csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        # Written by the database as `YYYY-MM-DD HH:MM:SS.ffffff+00:00`, always with microseconds.
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class TestCompleteness:
    async def test_the_person_has_rows_in_every_table_with_personal_columns(self, session, member):
        # Add a row to `create_personal_data` for a new table: the test below then covers it.
        tables = sorted({column.table for column in personal_columns(METADATA)})
        empty = []
        for name in tables:
            table = METADATA.tables[name]
            if not (await session.execute(select(table).where(rows_of(table, member.id)))).first():
                empty.append(name)
        assert empty == []

    async def test_archive_holds_every_personal_column_of_every_row(
        self, session, sessionmaker, export_settings, member, other
    ):
        request = await run_export(session, sessionmaker, export_settings, member)
        assert request.state == RequestState.COMPLETED
        files = read_archive(export_settings.export_dir / request.export_file)
        cells = exported_cells(files)
        missing, wrong = [], []
        checked = 0
        for column in personal_columns(METADATA):
            table = METADATA.tables[column.table]
            key_column = next(iter(table.primary_key.columns))
            rows = (
                await session.execute(
                    select(key_column, table.c[column.column]).where(rows_of(table, member.id))
                )
            ).all()
            written = cells.get((column.table, column.column), {})
            in_csv = f"{column.table}.csv" in files
            for key, value in rows:
                checked += 1
                if str(key) not in written:
                    missing.append(f"{column.table}.{column.column} of {key}")
                    continue
                if column.category in catalog.WITHHELD_CATEGORIES:
                    expected: Any = catalog.WITHHELD if value is not None else ("" if in_csv else None)
                else:
                    expected = as_csv(value) if in_csv else as_json(value)
                if written[str(key)] != expected:
                    wrong.append(f"{column.table}.{column.column}: {written[str(key)]!r} != {expected!r}")
        assert missing == [] and wrong == []
        assert checked > 50

    async def test_other_peoples_rows_are_not_exported(
        self, session, sessionmaker, export_settings, member, other
    ):
        request = await run_export(session, sessionmaker, export_settings, member)
        everything = b"".join(read_archive(export_settings.export_dir / request.export_file).values())
        assert b"ann@example.com" in everything
        assert b"bob@example.com" not in everything and other.id.hex.encode() not in everything
        assert str(other.id).encode() not in everything

    async def test_mail_to_the_persons_address_without_their_id_is_exported(
        self, session, sessionmaker, export_settings, member, other
    ):
        # Erasure deletes these as the person's (sign-up and request confirmations are written
        # before the mail carries an account id), so the export must hand them over too.
        for address, subject in (
            ("Ann@Example.com", "Confirm your email address"),
            ("ann@example.com", "Confirm your privacy request"),
            ("bob@example.com", "Bob's own confirmation"),
        ):
            session.add(
                OutboxMessage(
                    to_address=address,
                    category="service",
                    template="verify_email",
                    subject=subject,
                    text_body=subject,
                    html_body=f"<p>{subject}</p>",
                    headers={},
                    status="sent",
                )
            )
        await session.commit()
        request = await run_export(session, sessionmaker, export_settings, member)
        files = read_archive(export_settings.export_dir / request.export_file)
        subjects = [
            row["subject"] for row in csv.DictReader(io.StringIO(files["outbox_message.csv"].decode()))
        ]
        assert "Confirm your email address" in subjects and "Confirm your privacy request" in subjects
        assert "Bob's own confirmation" not in subjects and len(subjects) == 3 + 2

    async def test_a_mail_with_a_one_time_link_is_listed_without_its_text(
        self, session, sessionmaker, export_settings, member
    ):
        link = "http://127.0.0.1:8000/reset-password?token=still-live-reset-token"
        for template, text in (("reset_password", f"Reset it: {link}"), ("account_closed", "Closed.")):
            session.add(
                OutboxMessage(
                    to_address=member.email,
                    user_id=member.id,
                    category="service",
                    template=template,
                    subject=template,
                    text_body=text,
                    html_body=f"<p>{text}</p>",
                    headers={},
                    status="held",
                )
            )
        await session.commit()
        request = await run_export(session, sessionmaker, export_settings, member)
        files = read_archive(export_settings.export_dir / request.export_file)
        assert b"still-live-reset-token" not in b"".join(files.values())
        rows = {
            row["template"]: row for row in csv.DictReader(io.StringIO(files["outbox_message.csv"].decode()))
        }
        assert rows["reset_password"]["text_body"] == rows["reset_password"]["html_body"]
        assert rows["reset_password"]["text_body"].startswith(
            "[Not kept: this message carried a one-time link"
        )
        assert rows["account_closed"]["text_body"] == "Closed."

    async def test_sign_in_secrets_are_named_but_withheld(
        self, session, sessionmaker, export_settings, member
    ):
        request = await run_export(session, sessionmaker, export_settings, member)
        files = read_archive(export_settings.export_dir / request.export_file)
        security = json.loads(files["security.json"])
        assert security["records"]["user_account"][0]["mfa_secret"] == catalog.WITHHELD
        everything = b"".join(files.values())
        assert member.mfa_secret.encode() not in everything
        assert member.password_hash.encode() not in everything

    async def test_tabular_tables_are_csv_files_named_by_their_categories(
        self, session, sessionmaker, export_settings, member
    ):
        request = await run_export(session, sessionmaker, export_settings, member)
        files = read_archive(export_settings.export_dir / request.export_file)
        for table in export.TABULAR:
            assert f"{table}.csv" in files
        device = json.loads(files["device.json"])
        assert device["in_csv_files"]["consent_event"] == "consent_event.csv"
        assert device["purpose"] == catalog.facts_of(catalog.Category.DEVICE).purpose
        events = files["consent_event.csv"].decode().splitlines()
        assert len(events) == 1 + 3 and events[0].startswith("id,")


class TestArchive:
    async def test_manifest_lists_every_file_with_its_hash_and_size(
        self, session, sessionmaker, export_settings, member
    ):
        request = await run_export(session, sessionmaker, export_settings, member)
        files = read_archive(export_settings.export_dir / request.export_file)
        manifest = json.loads(files.pop("manifest.json"))
        listed = {entry["name"]: entry for entry in manifest["files"]}
        assert set(listed) == set(files)
        for name, data in files.items():
            assert listed[name]["sha256"] == hashlib.sha256(data).hexdigest(), name
            assert listed[name]["size"] == len(data), name
        readme = files["README.txt"].decode()
        assert all(name in readme for name in [*files, "manifest.json"])

    async def test_request_records_the_file_its_hash_size_and_expiry(
        self, session, sessionmaker, export_settings, member, clock
    ):
        request = await run_export(session, sessionmaker, export_settings, member)
        path = export_settings.export_dir / request.export_file
        assert request.state == RequestState.COMPLETED and request.progress_percent == 100
        assert request.export_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert request.export_size == path.stat().st_size
        expected = utcnow() + timedelta(days=7)
        assert abs(request.export_expires_at - expected) < timedelta(minutes=1)
        assert [p.name for p in export_settings.export_dir.iterdir()] == [request.export_file]

    async def test_a_cancelled_request_writes_nothing(self, session, sessionmaker, export_settings, member):
        request = await start_export(session, member)
        request.state = RequestState.CANCELLED
        await session.commit()
        job = await export_job(session, request)
        assert await jobs.JobRunner(sessionmaker, export_settings).run_by_id(job.id)
        assert not export_settings.export_dir.exists() or not any(export_settings.export_dir.iterdir())


class TestCrash:
    async def test_a_crash_mid_export_leaves_no_file_and_the_rerun_completes(
        self, session, sessionmaker, export_settings, member, monkeypatch
    ):
        request = await start_export(session, member)
        job = await export_job(session, request)
        advance = export.Progress.advance
        seen: list[list[str]] = []

        async def crash_once(progress: export.Progress, rows: int) -> None:
            if not seen:
                seen.append(sorted(p.name for p in export_settings.export_dir.iterdir()))
                raise OSError("disk full")
            await advance(progress, rows)

        monkeypatch.setattr(export.Progress, "advance", crash_once)
        runner = jobs.JobRunner(sessionmaker, export_settings)
        assert await runner.run_by_id(job.id)
        # While it ran, only the partial file existed; after the crash, nothing is left.
        assert len(seen[0]) == 1 and seen[0][0].endswith(".zip.partial")
        assert list(export_settings.export_dir.iterdir()) == []
        await session.refresh(request)
        failed = await session.get(jobs.Job, job.id, populate_existing=True)
        assert (request.state, request.export_file, failed.status) == (
            RequestState.IN_PROGRESS,
            None,
            jobs.JobStatus.QUEUED,
        )

        assert await runner.run_by_id(job.id)
        await session.refresh(request)
        assert request.state == RequestState.COMPLETED
        assert [p.name for p in export_settings.export_dir.iterdir()] == [request.export_file]
        assert "manifest.json" in read_archive(export_settings.export_dir / request.export_file)

    async def test_a_rerun_removes_what_a_killed_run_left(
        self, session, sessionmaker, export_settings, member
    ):
        request = await start_export(session, member)
        export_settings.export_dir.mkdir(parents=True)
        leftover = export_settings.export_dir / f"{request.id.hex}-abc.zip.partial"
        leftover.write_bytes(b"half an archive")
        job = await export_job(session, request)
        assert await jobs.JobRunner(sessionmaker, export_settings).run_by_id(job.id)
        await session.refresh(request)
        assert [p.name for p in export_settings.export_dir.iterdir()] == [request.export_file]

    async def test_an_export_that_keeps_failing_fails_the_request(
        self, session, sessionmaker, export_settings, member, monkeypatch
    ):
        async def broken(*_args: Any, **_kwargs: Any) -> tuple[str, int]:
            raise OSError("disk full")

        monkeypatch.setattr(export, "write_archive", broken)
        request = await start_export(session, member)
        job = await export_job(session, request)
        runner = jobs.JobRunner(sessionmaker, export_settings)
        for _ in range(job.max_attempts):
            assert await runner.run_by_id(job.id)
        await session.refresh(request)
        assert (request.state, request.outcome) == (RequestState.FAILED, export.FAILED)
        assert list(export_settings.export_dir.iterdir()) == []


class TestWithoutAccount:
    async def test_a_request_without_an_account_completes_with_nothing_to_export(
        self, session, sessionmaker, export_settings
    ):
        request = DataRequest(
            kind="export",
            email="nobody@example.com",
            jurisdiction="other",
            due_at=utcnow() + timedelta(days=30),
            state=RequestState.VERIFIED,
        )
        session.add(request)
        await session.flush()
        await workflow.start(session, export_settings, request, actor=None)
        await session.commit()
        job = await export_job(session, request)
        assert await jobs.JobRunner(sessionmaker, export_settings).run_by_id(job.id)
        await session.refresh(request)
        assert (request.state, request.outcome, request.export_file) == (
            RequestState.COMPLETED,
            export.NO_ACCOUNT,
            None,
        )


class TestProgress:
    async def test_progress_is_committed_while_the_export_runs(
        self, committed_sessionmaker, export_settings, monkeypatch
    ):
        async with unit_of_work(committed_sessionmaker, None) as session:
            user = await create_user(session, "progress@example.com", name="Pat Progress")
            await create_personal_data(session, user, rows=20)
        async with committed_sessionmaker() as session:
            request = await start_export(session, user)
            job = await export_job(session, request)
        advance = export.Progress.advance
        observed: list[tuple[int, str | None]] = []

        async def observe(progress: export.Progress, rows: int) -> None:
            await advance(progress, rows)
            # Another transaction, as the API's GET of the request would be.
            async with committed_sessionmaker() as reader:
                seen = await reader.get(DataRequest, request.id)
                observed.append((seen.progress_percent, seen.export_file))

        monkeypatch.setattr(export.Progress, "advance", observe)
        assert await jobs.JobRunner(committed_sessionmaker, export_settings).run_by_id(job.id)
        percents = [percent for percent, _ in observed]
        assert any(0 < percent < 100 for percent in percents) and percents == sorted(percents)
        assert all(file is None for _, file in observed)
        async with committed_sessionmaker() as session:
            done = await session.get(DataRequest, request.id)
            assert (done.state, done.progress_percent) == (RequestState.COMPLETED, 100)
