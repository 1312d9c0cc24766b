"""GET /me/data-requests/{id}/download: the owner's session only, audited, refused once expired;
and the hourly job that deletes expired files."""

import hashlib
import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from opmaestro.audit.models import AuditRecord
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.dsar import export
from opmaestro.dsar.models import DataRequest, RequestState
from opmaestro.main import create_app
from tests.dsar.export_helpers import export_job, start_export
from tests.factories import create_personal_data, create_user, sign_in
from tests.problems import assert_problem


def download_url(request_id: object) -> str:
    return f"/api/v1/me/data-requests/{request_id}/download"


@pytest.fixture
def export_settings(settings, tmp_dir):
    return settings.model_copy(update={"export_dir": tmp_dir / "exports"})


@pytest.fixture
def app(export_settings, sessionmaker):
    return create_app(export_settings, sessionmaker=sessionmaker, job_backend=jobs.ExternalWorker())


@pytest.fixture
async def member(session):
    user = await create_user(session, "ann@example.com", name="Ann Lee")
    await create_personal_data(session, user, rows=1)
    return user


@pytest.fixture
async def browser(client, member):
    await sign_in(client, member.email)
    return client


@pytest.fixture
async def finished(session, sessionmaker, export_settings, member) -> DataRequest:
    request = await start_export(session, member)
    job = await export_job(session, request)
    assert await jobs.JobRunner(sessionmaker, export_settings).run_by_id(job.id)
    await session.refresh(request)
    assert request.state == RequestState.COMPLETED
    return request


class TestDownload:
    async def test_owner_downloads_the_archive_as_an_attachment(
        self, browser, finished, export_settings, session
    ):
        response = await browser.get(download_url(finished.id))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/zip"
        assert response.headers["content-disposition"].startswith("attachment;")
        assert ".zip" in response.headers["content-disposition"]
        assert response.headers["cache-control"] == "no-store"
        assert hashlib.sha256(response.content).hexdigest() == finished.export_sha256
        assert len(response.content) == finished.export_size

    async def test_a_range_resumes_and_a_bad_one_is_a_problem(self, browser, finished):
        url = download_url(finished.id)
        tail = await browser.get(url, headers={"Range": "bytes=10-"})
        assert tail.status_code == 206 and len(tail.content) == finished.export_size - 10
        beyond = await browser.get(url, headers={"Range": f"bytes={finished.export_size + 1}-"})
        assert_problem(beyond, 416, "range-not-satisfiable")
        assert beyond.headers["content-range"] == f"bytes */{finished.export_size}"
        assert_problem(await browser.get(url, headers={"Range": "bytes=garbage"}), 400, "invalid-range")
        # A unit we do not know is ignored (RFC 9110): the whole archive.
        whole = await browser.get(url, headers={"Range": "items=0-5"})
        assert whole.status_code == 200 and len(whole.content) == finished.export_size

    async def test_each_download_is_audited(self, browser, finished, session, member):
        await browser.get(download_url(finished.id))
        records = (
            await session.scalars(
                select(AuditRecord).where(
                    AuditRecord.action == "data_request.export_downloaded",
                    AuditRecord.subject_id == str(finished.id),
                )
            )
        ).all()
        assert [(r.actor_id, r.actor_kind) for r in records] == [(member.id, "user")]

    async def test_another_users_export_is_not_found(self, finished, make_client, session):
        await create_user(session, "bob@example.com", name="Bob Stone")
        intruder = make_client()
        await sign_in(intruder, "bob@example.com")
        assert_problem(await intruder.get(download_url(finished.id)), 404, "data-request-not-found")

    async def test_an_unknown_id_is_not_found(self, browser):
        response = await browser.get(download_url("0193a5f0-7c1e-7d3a-9b1f-2f6c0a1b2c3d"))
        assert_problem(response, 404, "data-request-not-found")

    async def test_an_expired_export_is_gone(self, browser, finished, session):
        # Not by moving the clock: a week later the browser session would have expired too.
        finished.export_expires_at = utcnow() - timedelta(seconds=1)
        await session.commit()
        assert_problem(await browser.get(download_url(finished.id)), 410, "export-gone")

    async def test_an_unfinished_export_is_gone(self, browser, session, member):
        request = await start_export(session, member)
        assert_problem(await browser.get(download_url(request.id)), 410, "export-gone")

    async def test_a_deleted_file_is_gone(self, browser, finished, export_settings):
        (export_settings.export_dir / finished.export_file).unlink()
        assert_problem(await browser.get(download_url(finished.id)), 410, "export-gone")

    async def test_a_token_cannot_download(self, browser, finished, make_client):
        created = await browser.post("/api/v1/me/tokens", json={"name": "Bot", "scopes": ["data:read"]})
        api = make_client()
        response = await api.get(
            download_url(finished.id), headers={"Authorization": f"Bearer {created.json()['token']}"}
        )
        assert "browser session" in assert_problem(response, 403, "forbidden")["detail"]

    async def test_anonymous_caller_is_refused(self, client, finished):
        assert_problem(await client.get(download_url(finished.id)), 401, "not-authenticated")

    @pytest.mark.parametrize("bad", ["not-a-uuid", "1", "x" * 300, "..%2F..%2Fetc%2Fpasswd"])
    async def test_a_malformed_id_is_a_validation_problem(self, browser, bad):
        response = await browser.get(download_url(bad))
        assert response.status_code in (404, 422), response.text
        assert response.headers["content-type"] == "application/problem+json"


class TestExpiry:
    async def test_expired_files_are_deleted_and_forgotten(
        self, session, sessionmaker, export_settings, finished, member, clock
    ):
        directory = export_settings.export_dir
        stale = directory / "0000-stale.zip.partial"
        stale.write_bytes(b"left by a crash")
        old = (utcnow() - timedelta(days=2)).timestamp()
        os.utime(stale, (old, old))
        runner = jobs.JobRunner(sessionmaker, export_settings)
        expire = await jobs.enqueue(session, export.EXPIRE_JOB, {}, max_attempts=3)
        await session.commit()
        assert await runner.run_by_id(expire.id)
        await session.refresh(finished)
        assert finished.export_file is not None and (directory / finished.export_file).exists()
        assert not stale.exists()

        kept = finished.export_file
        clock.advance(days=7, minutes=1)
        expire = await jobs.enqueue(session, export.EXPIRE_JOB, {}, max_attempts=3)
        await session.commit()
        assert await runner.run_by_id(expire.id)
        await session.refresh(finished)
        assert finished.export_file is None and not (directory / kept).exists()

    def test_expiry_runs_every_hour(self):
        assert jobs.periodic_jobs()[export.EXPIRE_JOB] == timedelta(hours=1)
