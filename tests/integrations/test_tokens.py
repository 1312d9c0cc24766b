"""Tokens at rest (encrypted, rotatable), refresh before expiry (serialized for Gusto's rotating
refresh tokens), sync and revocation failures, and the account's end revoking every grant."""

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import func, select, text

from opmaestro.audit.models import AuditRecord
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.dsar import erasure
from opmaestro.dsar.models import DataRequest, Jurisdiction, RequestKind, RequestState
from opmaestro.integrations import crypto, service
from opmaestro.integrations.exceptions import IntegrationProviderError
from opmaestro.integrations.models import (
    IntegrationCalendarEvent,
    IntegrationConnection,
    IntegrationEmployee,
    Provider,
)
from tests.factories import PASSWORD, create_user
from tests.integrations.conftest import connect, run_sync_jobs
from tests.problems import assert_problem

URL = "/api/v1/integrations"
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


async def raw_tokens(session) -> list[tuple[str, str]]:
    rows = await session.execute(text("SELECT access_token, refresh_token FROM integration_connection"))
    return [(row[0], row[1]) for row in rows]


async def expire_soon(session, seconds: int) -> None:
    connection = await session.scalar(select(IntegrationConnection))
    connection.expires_at = utcnow() + timedelta(seconds=seconds)
    await session.commit()


def issued_tokens(fake) -> set[str]:
    return set(fake.state.access) | set(fake.state.grants)


class TestAtRest:
    async def test_tokens_are_not_stored_in_plain_text(
        self, browser, session, sessionmaker, integration_settings, fake
    ):
        await connect(browser, "gusto", sessionmaker, integration_settings)
        [(access, refresh)] = await raw_tokens(session)
        issued = issued_tokens(fake)
        assert issued and not any(token in access or token in refresh for token in issued)
        assert crypto.decrypt(integration_settings, access) in fake.state.access
        assert crypto.decrypt(integration_settings, refresh) in fake.state.grants

    @pytest.mark.parametrize("overrides", [{"integration_token_keys": SecretStr(OLD_KEY)}])
    async def test_rotation_encrypts_again_under_the_newest_key(
        self, browser, session, sessionmaker, integration_settings
    ):
        await connect(browser, "google", sessionmaker, integration_settings)
        [(access, refresh)] = await raw_tokens(session)
        rotated_settings = integration_settings.model_copy(
            update={"integration_token_keys": SecretStr(f"{NEW_KEY},{OLD_KEY}")}
        )
        # Before the rotation, both keys still read every token.
        assert crypto.decrypt(rotated_settings, access) == crypto.decrypt(integration_settings, access)

        assert await service.rotate_keys(session, rotated_settings) == 1
        await session.commit()
        [(new_access, new_refresh)] = await raw_tokens(session)
        assert (new_access, new_refresh) != (access, refresh)
        only_new = integration_settings.model_copy(update={"integration_token_keys": SecretStr(NEW_KEY)})
        assert crypto.decrypt(only_new, new_access) == crypto.decrypt(integration_settings, access)
        assert crypto.decrypt(only_new, new_refresh) == crypto.decrypt(integration_settings, refresh)
        with pytest.raises(crypto.TokenKeyError):
            crypto.decrypt(integration_settings, new_access)

    async def test_a_token_no_key_reads_is_not_revoked_but_still_deleted(
        self, browser, session, sessionmaker, integration_settings, fake
    ):
        await connect(browser, "google", sessionmaker, integration_settings)
        await session.execute(text("UPDATE integration_connection SET access_token = 'garbage'"))
        await session.commit()
        answer = await browser.delete(f"{URL}/google")
        assert answer.status_code == 200 and answer.json()["revoked_at_provider"] is False
        assert await session.scalar(select(func.count()).select_from(IntegrationConnection)) == 0

    async def test_a_token_no_key_reads_fails_the_sync_visibly(
        self, browser, session, sessionmaker, integration_settings
    ):
        await connect(browser, "stripe", sessionmaker, integration_settings)
        await session.execute(text("UPDATE integration_connection SET access_token = 'garbage'"))
        await session.commit()
        assert (await browser.post(f"{URL}/stripe/sync")).status_code == 202
        assert await run_sync_jobs(sessionmaker, integration_settings) == 1
        listed = (await browser.get(URL)).json()["items"][2]["connection"]
        assert listed["sync_status"] == "failed" and "undecryptable_token" in listed["sync_error"]


class TestRefresh:
    async def test_an_expiring_token_is_refreshed_before_the_import(
        self, browser, session, sessionmaker, integration_settings, fake, clock
    ):
        await connect(browser, "gusto", sessionmaker, integration_settings)
        before = (await raw_tokens(session))[0]
        # Within the margin of the expiry, the import refreshes first.
        await expire_soon(session, integration_settings.integration_refresh_margin_seconds - 1)
        assert (await browser.post(f"{URL}/gusto/sync")).status_code == 202
        assert await run_sync_jobs(sessionmaker, integration_settings) == 1
        assert fake.state.calls["gusto.refresh"] == 1
        session.expire_all()
        connection = await session.scalar(select(IntegrationConnection))
        assert connection.sync_status == "succeeded" and connection.refreshed_at is not None
        after = (await raw_tokens(session))[0]
        assert after != before
        # The rotated refresh token is the one stored: the next refresh would work.
        assert crypto.decrypt(integration_settings, after[1]) in fake.state.grants

    async def test_a_token_far_from_expiry_is_not_refreshed(
        self, browser, sessionmaker, integration_settings, fake
    ):
        await connect(browser, "gusto", sessionmaker, integration_settings)
        assert (await browser.post(f"{URL}/gusto/sync")).status_code == 202
        assert await run_sync_jobs(sessionmaker, integration_settings) == 1
        assert fake.state.calls["gusto.refresh"] == 0

    async def test_a_refused_refresh_fails_the_sync_visibly(
        self, browser, session, sessionmaker, integration_settings, fake, clock
    ):
        await connect(browser, "google", sessionmaker, integration_settings)
        await expire_soon(session, 0)
        fake.state.failures["google.token"] = "invalid_grant"
        assert (await browser.post(f"{URL}/google/sync")).status_code == 202
        assert await run_sync_jobs(sessionmaker, integration_settings) == 1
        listed = (await browser.get(URL)).json()["items"][0]["connection"]
        assert listed["sync_status"] == "failed" and "invalid_grant" in listed["sync_error"]

    async def test_two_concurrent_refreshes_call_the_provider_once(
        self, committed_sessionmaker, integration_settings, fake, clock
    ):
        async with committed_sessionmaker() as session:
            user = await create_user(session, "racer@example.com", name="Racer")
            issued = fake._issue("gusto", "companies:read employees:read")
            connection = IntegrationConnection(
                user_id=user.id,
                provider=Provider.GUSTO.value,
                subject="c2b5a3c4-6f8d-4b7e-9a1f-3d2e1c0b9a87",
                granted_scopes=["companies:read"],
                access_token=crypto.encrypt(integration_settings, issued["access_token"]),
                refresh_token=crypto.encrypt(integration_settings, issued["refresh_token"]),
                expires_at=utcnow() + timedelta(seconds=60),
            )
            session.add(connection)
            await session.commit()
            connection_id = connection.id

        async def use() -> str:
            async with committed_sessionmaker() as session:
                found = await session.get(IntegrationConnection, connection_id)
                assert found is not None
                token = await service.access_token_for(session, found, integration_settings)
                await session.commit()
                return token

        first, second = await asyncio.gather(use(), use())

        assert fake.state.calls["gusto.refresh"] == 1
        assert first == second and first in fake.state.access
        async with committed_sessionmaker() as session:
            stored = await session.get(IntegrationConnection, connection_id)
            assert stored is not None
            [current] = list(fake.state.grants)
            assert crypto.decrypt(integration_settings, stored.refresh_token) == current
            assert current != issued["refresh_token"]

    async def test_a_failed_refresh_is_a_provider_error(self, session, member, integration_settings, fake):
        issued = fake._issue("gusto", "companies:read")
        connection = IntegrationConnection(
            user_id=member.id,
            provider="gusto",
            subject="company",
            granted_scopes=[],
            access_token=crypto.encrypt(integration_settings, issued["access_token"]),
            refresh_token=crypto.encrypt(integration_settings, "spent-refresh-token"),
            expires_at=utcnow() - timedelta(seconds=1),
        )
        session.add(connection)
        await session.flush()
        with pytest.raises(IntegrationProviderError) as raised:
            await service.access_token_for(session, connection, integration_settings)
        assert raised.value.extra["provider_error"] == "invalid_grant"


class TestSyncFailures:
    @pytest.mark.parametrize(("path", "failure"), [("google.events", "500"), ("google.events", "401")])
    async def test_a_failing_read_marks_the_sync_failed_and_keeps_the_old_rows(
        self, browser, session, sessionmaker, integration_settings, fake, path, failure
    ):
        await connect(browser, "google", sessionmaker, integration_settings)
        fake.state.failures[path] = failure
        assert (await browser.post(f"{URL}/google/sync")).status_code == 202
        assert await run_sync_jobs(sessionmaker, integration_settings) == 1
        listed = (await browser.get(URL)).json()["items"][0]["connection"]
        assert listed["sync_status"] == "failed" and listed["imported_items"] == 4
        assert listed["sync_error"] == f"The provider could not be read (http_{failure})."

    @pytest.mark.parametrize("overrides", [{"integration_http_timeout_seconds": 0.5}])
    async def test_a_read_that_never_answers_fails_the_sync(
        self, browser, sessionmaker, integration_settings, fake
    ):
        await connect(browser, "gusto", sessionmaker, integration_settings)
        fake.state.failures["gusto.employees"] = "hang"
        assert (await browser.post(f"{URL}/gusto/sync")).status_code == 202
        assert await run_sync_jobs(sessionmaker, integration_settings) == 1
        listed = (await browser.get(URL)).json()["items"][1]["connection"]
        assert listed["sync_status"] == "failed" and "timeout" in listed["sync_error"]

    async def test_dropped_tokens_need_a_reconnect(
        self, browser, session, sessionmaker, integration_settings
    ):
        await connect(browser, "stripe", sessionmaker, integration_settings)
        connection = await service.get_connection_by_provider_subject(
            session, "stripe", "acct_1Nv0FGQ9RKHgCVdK"
        )
        assert connection is not None
        assert await service.connections_by_provider_subject(session, Provider.STRIPE, "acct_other") == []
        await service.drop_tokens(session, connection, reason="deauthorized at Stripe")
        await session.commit()
        listed = (await browser.get(URL)).json()["items"][2]["connection"]
        assert listed["needs_reconnect"] is True
        assert_problem(await browser.post(f"{URL}/stripe/sync"), 404, "integration-not-connected")
        assert (await raw_tokens(session)) == [(None, None)]


class TestRevocationFailures:
    @pytest.mark.parametrize("failure", ["500", "invalid_client"])
    async def test_local_data_goes_even_when_the_provider_cannot_be_told(
        self, browser, session, sessionmaker, integration_settings, fake, failure
    ):
        await connect(browser, "gusto", sessionmaker, integration_settings)
        fake.state.failures["gusto.revoke"] = failure
        answer = await browser.delete(f"{URL}/gusto")
        assert answer.status_code == 200 and answer.json()["revoked_at_provider"] is False
        assert await session.scalar(select(func.count()).select_from(IntegrationConnection)) == 0
        assert await session.scalar(select(func.count()).select_from(IntegrationEmployee)) == 0
        actions = set(await session.scalars(select(AuditRecord.action)))
        assert {"integration.revocation_failed", "integration.disconnected"} <= actions

    @pytest.mark.parametrize("overrides", [{"integration_http_timeout_seconds": 0.5}])
    async def test_a_revocation_that_never_answers_still_disconnects(
        self, browser, session, sessionmaker, integration_settings, fake
    ):
        await connect(browser, "stripe", sessionmaker, integration_settings)
        fake.state.failures["stripe.deauthorize"] = "hang"
        answer = await browser.delete(f"{URL}/stripe")
        assert answer.status_code == 200 and answer.json()["revoked_at_provider"] is False


class TestAccountEnd:
    async def test_closing_the_account_revokes_every_grant(
        self, browser, session, sessionmaker, integration_settings, fake
    ):
        for provider in ("google", "gusto", "stripe"):
            await connect(browser, provider, sessionmaker, integration_settings)
        closed = await browser.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
        assert closed.status_code == 202, closed.text
        assert fake.state.calls["google.revoke"] == 1 and fake.state.calls["gusto.revoke"] == 1
        assert fake.state.deauthorized == ["acct_1Nv0FGQ9RKHgCVdK"]
        for model in (IntegrationConnection, IntegrationCalendarEvent, IntegrationEmployee):
            assert await session.scalar(select(func.count()).select_from(model)) == 0

    async def test_erasure_revokes_and_deletes(
        self, browser, session, sessionmaker, integration_settings, fake, member
    ):
        await connect(browser, "google", sessionmaker, integration_settings)
        request = DataRequest(
            kind=RequestKind.ERASURE,
            state=RequestState.VERIFIED,
            user_id=member.id,
            jurisdiction=Jurisdiction.EUROPE,
            due_at=utcnow(),
            verified_at=utcnow(),
        )
        session.add(request)
        await session.commit()
        await erasure.schedule(
            session, integration_settings.model_copy(update={"erasure_grace_days": 0}), request
        )
        await session.commit()
        job_id = await session.scalar(select(jobs.Job.id).where(jobs.Job.name == erasure.ERASURE_JOB))
        assert await jobs.JobRunner(sessionmaker, integration_settings).run_by_id(job_id)
        await session.refresh(request)
        assert request.state == RequestState.COMPLETED, request.outcome
        assert fake.state.calls["google.revoke"] == 1
        assert await session.scalar(select(func.count()).select_from(IntegrationCalendarEvent)) == 0
        assert await session.scalar(select(func.count()).select_from(IntegrationConnection)) == 0


class TestPersonalData:
    async def test_the_access_report_counts_connections_and_imports(
        self, browser, sessionmaker, integration_settings
    ):
        await connect(browser, "gusto", sessionmaker, integration_settings)
        report = (await browser.get("/api/v1/me/data")).json()
        categories = {entry["category"]: entry for entry in report["categories"]}
        # The connection and three employees.
        assert categories["integration"]["record_count"] == 4

    async def test_connections_and_imports_are_in_the_export(
        self, browser, session, sessionmaker, integration_settings, member, tmp_dir
    ):
        from tests.dsar.export_helpers import export_job, read_archive, start_export

        await connect(browser, "google", sessionmaker, integration_settings)
        export_settings: Any = integration_settings.model_copy(update={"export_dir": tmp_dir})
        request = await start_export(session, member)
        job = await export_job(session, request)
        assert await jobs.JobRunner(sessionmaker, export_settings).run_by_id(job.id)
        await session.refresh(request)
        [archive] = list(tmp_dir.rglob("*.zip"))
        files = read_archive(archive)
        integration = next(data for name, data in files.items() if "integration" in name)
        assert b"Supplier call 0" in integration and b"ann.lee@gmail.example" in integration
        # The encrypted tokens are named but withheld, as every sign-in secret.
        assert all(b"gAAAA" not in data for data in files.values())
