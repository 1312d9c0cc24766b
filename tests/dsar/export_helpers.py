"""Shared steps of the export tests: a verified export request, its job run, the archive read."""

import csv
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.models import User
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.dsar import export, workflow
from opmaestro.dsar.models import DataRequest, RequestState


async def start_export(session: AsyncSession, user: User) -> DataRequest:
    """A verified export request, started (its job queued), committed."""
    request = DataRequest(
        kind="export",
        user_id=user.id,
        jurisdiction="other",
        due_at=utcnow() + timedelta(days=30),
        state=RequestState.VERIFIED,
    )
    session.add(request)
    await session.flush()
    await workflow.start(session, request, actor=None)
    await session.commit()
    return request


async def export_job(session: AsyncSession, request: DataRequest) -> jobs.Job:
    found = await session.scalar(
        select(jobs.Job).where(
            jobs.Job.name == export.JOB, jobs.Job.payload["request_id"].as_string() == str(request.id)
        )
    )
    if found is None:
        raise LookupError("no export job was queued")
    return found


def read_archive(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def exported_cells(files: dict[str, bytes]) -> dict[tuple[str, str], dict[str, Any]]:
    """(table, column) -> {row key: value as written}, from every JSON and CSV file."""
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for name, data in files.items():
        if name.endswith(".csv"):
            table = name.removesuffix(".csv")
            for row in csv.DictReader(io.StringIO(data.decode())):
                for column, value in row.items():
                    cells.setdefault((table, column), {})[row["id"]] = value
        elif name.endswith(".json") and name != "manifest.json":
            for table, records in json.loads(data)["records"].items():
                for record in records:
                    key = record.get("id", record.get("subject"))
                    for column, value in record.items():
                        cells.setdefault((table, column), {})[str(key)] = value
    return cells
