"""Tokens at rest (encrypted, rotatable), refresh before expiry (serialized for Gusto's rotating
refresh tokens), sync and revocation failures, and the account's end revoking every grant."""

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import func, select, text

from opmaestro.accounts.models import User
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
    IntegrationRevocation,
    Provider,
)
from tests.factories import PASSWORD, create_user
from tests.integrations.conftest import connect, run_revocation_jobs, run_sync_jobs
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
        assert answer.status_code == 200 and answer.json()["revocation"] == "failed"
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
            return await service.access_token_for(committed_sessionmaker, integration_settings, connection_id)

        first, second = await asyncio.gather(use(), use())

        assert fake.state.calls["gusto.refresh"] == 1
        assert first == second and first in fake.state.access
        async with committed_sessionmaker() as session:
            stored = await session.get(IntegrationConnection, connection_id)
            assert stored is not None
            [current] = list(fake.state.grants)
            assert crypto.decrypt(integration_settings, stored.refresh_token) == current
            assert current != issued["refresh_token"]

    async def test_a_refresh_outlives_a_caller_that_rolls_back(
        self, committed_sessionmaker, integration_settings, fake
    ):
        """Gusto spends the old refresh token: the new one must be stored whatever the caller does."""
        async with committed_sessionmaker() as session:
            user = await create_user(session, "rollback@example.com", name="Roll Back")
            issued = fake._issue("gusto", "companies:read employees:read")
            connection = IntegrationConnection(
                user_id=user.id,
                provider=Provider.GUSTO.value,
                subject="c2b5a3c4-6f8d-4b7e-9a1f-3d2e1c0b9a87",
                granted_scopes=["companies:read", "employees:read"],
                access_token=crypto.encrypt(integration_settings, issued["access_token"]),
                refresh_token=crypto.encrypt(integration_settings, issued["refresh_token"]),
                expires_at=utcnow() + timedelta(seconds=10),
            )
            session.add(connection)
            await session.commit()
            connection_id = connection.id

        async with committed_sessionmaker() as caller:
            token = await service.access_token_for(
                committed_sessionmaker, integration_settings, connection_id
            )
            # The caller goes on writing, then fails and rolls back everything it wrote.
            mine = await caller.get(IntegrationConnection, connection_id)
            assert mine is not None
            mine.sync_error = "the caller's own write"
            await caller.flush()
            await caller.rollback()

        assert fake.state.calls["gusto.refresh"] == 1
        assert issued["refresh_token"] not in fake.state.grants  # spent at the provider
        async with committed_sessionmaker() as reader:
            stored = await reader.get(IntegrationConnection, connection_id)
            assert stored is not None and stored.sync_error is None
            assert crypto.decrypt(integration_settings, stored.access_token) == token
            assert crypto.decrypt(integration_settings, stored.refresh_token) in fake.state.grants
        # And the stored refresh token works: the next refresh succeeds.
        async with committed_sessionmaker() as session:
            stored = await session.get(IntegrationConnection, connection_id)
            assert stored is not None
            stored.expires_at = utcnow()
            await session.commit()
        again = await service.access_token_for(committed_sessionmaker, integration_settings, connection_id)
        assert again != token and again in fake.state.access
        assert fake.state.calls["gusto.refresh"] == 2

    async def test_an_import_that_fails_after_a_refresh_keeps_the_new_tokens(
        self, browser, session, sessionmaker, integration_settings, fake
    ):
        """The read fails after the refresh: the refreshed grant is kept, and the next import uses it."""
        await connect(browser, "gusto", sessionmaker, integration_settings)
        await expire_soon(session, 0)
        fake.state.failures["gusto.employees"] = "500"
        assert (await browser.post(f"{URL}/gusto/sync")).status_code == 202
        assert await run_sync_jobs(sessionmaker, integration_settings) == 1
        session.expire_all()
        stored = await session.scalar(select(IntegrationConnection))
        assert stored.sync_status == "failed"
        assert crypto.decrypt(integration_settings, stored.refresh_token) in fake.state.grants
        del fake.state.failures["gusto.employees"]
        await expire_soon(session, 0)
        assert (await browser.post(f"{URL}/gusto/sync")).status_code == 202
        assert await run_sync_jobs(sessionmaker, integration_settings) == 1
        session.expire_all()
        assert (await session.scalar(select(IntegrationConnection))).sync_status == "succeeded"
        assert fake.state.calls["gusto.refresh"] == 2

    async def test_a_refresh_never_widens_the_recorded_scopes(
        self, committed_sessionmaker, integration_settings, fake
    ):
        async with committed_sessionmaker() as session:
            user = await create_user(session, "scopes@example.com", name="Scopes")
            issued = fake._issue("gusto", "companies:read employees:read payrolls:write")
            connection = IntegrationConnection(
                user_id=user.id,
                provider=Provider.GUSTO.value,
                subject="company",
                granted_scopes=["companies:read", "employees:read"],
                access_token=crypto.encrypt(integration_settings, issued["access_token"]),
                refresh_token=crypto.encrypt(integration_settings, issued["refresh_token"]),
                expires_at=utcnow(),
            )
            session.add(connection)
            await session.commit()
            connection_id = connection.id
        await service.access_token_for(committed_sessionmaker, integration_settings, connection_id)
        assert fake.state.calls["gusto.refresh"] == 1
        async with committed_sessionmaker() as reader:
            stored = await reader.get(IntegrationConnection, connection_id)
            assert stored is not None
            assert stored.granted_scopes == ["companies:read", "employees:read"]

    async def test_a_failed_refresh_is_a_provider_error(
        self, committed_sessionmaker, integration_settings, fake
    ):
        issued = fake._issue("gusto", "companies:read")
        async with committed_sessionmaker() as session:
            user = await create_user(session, "failed@example.com", name="Failed")
            connection = IntegrationConnection(
                user_id=user.id,
                provider="gusto",
                subject="company",
                granted_scopes=[],
                access_token=crypto.encrypt(integration_settings, issued["access_token"]),
                refresh_token=crypto.encrypt(integration_settings, "spent-refresh-token"),
                expires_at=utcnow() - timedelta(seconds=1),
            )
            session.add(connection)
            await session.commit()
        with pytest.raises(IntegrationProviderError) as raised:
            await service.access_token_for(committed_sessionmaker, integration_settings, connection.id)
        assert raised.value.extra["provider_error"] == "invalid_grant"


class TestSyncFailures:
    async def test_a_providers_error_text_is_reduced_to_a_code(
        self, browser, session, sessionmaker, integration_settings, fake
    ):
        """The provider chooses the `error` of a refused refresh; only code characters reach the
        page, the audit log and the logs."""
        await connect(browser, "google", sessionmaker, integration_settings)
        await expire_soon(session, 0)
        fake.state.failures["google.token"] = "<b>Call +1 555 0100</b>\nnow"
        assert (await browser.post(f"{URL}/google/sync")).status_code == 202
        assert await run_sync_jobs(sessionmaker, integration_settings) == 1
        listed = (await browser.get(URL)).json()["items"][0]["connection"]
        assert listed["sync_error"] == "The provider could not be read (bCall15550100bnow)."

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


async def audited(session) -> list[str]:
    return list(await session.scalars(select(AuditRecord.action).order_by(AuditRecord.created_at)))


async def pending_revocations(session) -> int:
    return int(await session.scalar(select(func.count()).select_from(IntegrationRevocation)) or 0)


class TestRevocation:
    @pytest.mark.parametrize("overrides", [{"integration_http_timeout_seconds": 0.5}])
    async def test_disconnect_answers_without_calling_the_provider(
        self, browser, session, sessionmaker, integration_settings, fake
    ):
        await connect(browser, "stripe", sessionmaker, integration_settings)
        fake.state.failures["stripe.deauthorize"] = "hang"
        answer = await browser.delete(f"{URL}/stripe")
        assert answer.status_code == 200 and answer.json()["revocation"] == "pending"
        assert fake.state.calls["stripe.deauthorize"] == 0
        assert await session.scalar(select(func.count()).select_from(IntegrationConnection)) == 0
        # Only what Stripe needs is kept: its account id, no token.
        [pending] = (await session.scalars(select(IntegrationRevocation))).all()
        assert pending.subject == "acct_1Nv0FGQ9RKHgCVdK" and pending.token is None

    async def test_the_job_holds_no_transaction_while_the_provider_answers(
        self, committed_sessionmaker, integration_settings, fake
    ):
        """While the provider takes its time, other writes go through (on SQLite a transaction
        open across the call would hold the single write lock, and the write below would wait)."""
        async with committed_sessionmaker() as session:
            user = await create_user(session, "slow@example.com", name="Slow Provider")
            pending = IntegrationRevocation(
                user_id=user.id,
                provider="stripe",
                connection_id=user.id,
                subject="acct_1Nv0FGQ9RKHgCVdK",
                reason="disconnected by the account",
            )
            session.add(pending)
            await session.flush()
            await jobs.enqueue(
                session, service.REVOKE_JOB, {"revocation_id": str(pending.id)}, max_attempts=1
            )
            await session.commit()
            user_id = user.id
        fake.state.failures["stripe.deauthorize"] = "hold"
        running = asyncio.create_task(run_revocation_jobs(committed_sessionmaker, integration_settings))
        try:
            assert await asyncio.to_thread(fake.state.held.wait, 30)  # the job is at the provider
            async with committed_sessionmaker() as writer:
                found = await writer.get(User, user_id)
                assert found is not None
                found.name = "Written Meanwhile"
                await writer.commit()
            assert not running.done()  # the provider still holds its answer
        finally:
            fake.state.released.set()
        assert await running == 1
        assert fake.state.deauthorized == ["acct_1Nv0FGQ9RKHgCVdK"]
        async with committed_sessionmaker() as reader:
            assert await pending_revocations(reader) == 0

    async def test_only_one_encrypted_token_waits_for_the_job(
        self, browser, session, sessionmaker, integration_settings, fake
    ):
        await connect(browser, "gusto", sessionmaker, integration_settings)
        [(_access, refresh)] = await raw_tokens(session)
        await browser.delete(f"{URL}/gusto")
        [pending] = (await session.scalars(select(IntegrationRevocation))).all()
        assert pending.subject is None and pending.token_type_hint == "refresh_token"
        assert not any(token in (pending.token or "") for token in issued_tokens(fake))
        assert crypto.decrypt(integration_settings, pending.token) == crypto.decrypt(
            integration_settings, refresh
        )

    @pytest.mark.parametrize("overrides", [{"job_max_attempts": 3}])
    async def test_a_failed_revocation_is_retried_until_the_provider_confirms(
        self, browser, session, sessionmaker, integration_settings, fake
    ):
        await connect(browser, "google", sessionmaker, integration_settings)
        fake.state.failures["google.revoke"] = "500"
        assert (await browser.delete(f"{URL}/google")).json()["revocation"] == "pending"
        assert await run_revocation_jobs(sessionmaker, integration_settings) == 1
        assert await pending_revocations(session) == 1  # queued again after its backoff
        del fake.state.failures["google.revoke"]
        assert await run_revocation_jobs(sessionmaker, integration_settings) == 1
        assert fake.state.calls["google.revoke"] == 2 and len(fake.state.revoked_tokens) == 1
        assert await pending_revocations(session) == 0
        actions = await audited(session)
        assert actions[-1] == "integration.revoked" and "integration.revocation_failed" not in actions

    @pytest.mark.parametrize("overrides", [{"job_max_attempts": 2}])
    @pytest.mark.parametrize("failure", ["500", "invalid_client"])
    async def test_the_last_failed_attempt_deletes_the_grant_and_is_audited(
        self, browser, session, sessionmaker, integration_settings, fake, failure
    ):
        await connect(browser, "gusto", sessionmaker, integration_settings)
        fake.state.failures["gusto.revoke"] = failure
        answer = await browser.delete(f"{URL}/gusto")
        assert answer.status_code == 200 and answer.json()["revocation"] == "pending"
        assert await session.scalar(select(func.count()).select_from(IntegrationConnection)) == 0
        assert await session.scalar(select(func.count()).select_from(IntegrationEmployee)) == 0
        assert await run_revocation_jobs(sessionmaker, integration_settings) == 1
        assert await run_revocation_jobs(sessionmaker, integration_settings) == 1
        assert await run_revocation_jobs(sessionmaker, integration_settings) == 0  # no third attempt
        assert fake.state.calls["gusto.revoke"] == 2
        assert await pending_revocations(session) == 0
        actions = await audited(session)
        assert actions[-1] == "integration.revocation_failed"
        records = (await session.scalars(select(AuditRecord))).all()
        # No token, encrypted or not, in any audit record.
        assert not any("gAAAA" in str(record.__dict__) for record in records)

    async def test_a_token_no_key_reads_is_failed_at_once(
        self, browser, session, sessionmaker, integration_settings, fake
    ):
        await connect(browser, "google", sessionmaker, integration_settings)
        await session.execute(text("UPDATE integration_connection SET refresh_token = 'garbage'"))
        await session.commit()
        answer = await browser.delete(f"{URL}/google")
        assert answer.status_code == 200 and answer.json()["revocation"] == "failed"
        assert await pending_revocations(session) == 0
        assert "integration.revocation_failed" in await audited(session)

    async def test_dropped_tokens_need_no_revocation(
        self, browser, session, sessionmaker, integration_settings, fake
    ):
        await connect(browser, "stripe", sessionmaker, integration_settings)
        connection = await session.scalar(select(IntegrationConnection))
        await service.drop_tokens(session, connection, reason="deauthorized at Stripe")
        await session.commit()
        assert (await browser.delete(f"{URL}/stripe")).json()["revocation"] == "not_needed"
        assert await pending_revocations(session) == 0

    async def test_a_revocation_already_done_runs_no_second_time(
        self, browser, session, sessionmaker, integration_settings, fake
    ):
        await connect(browser, "google", sessionmaker, integration_settings)
        await browser.delete(f"{URL}/google")
        pending = await session.scalar(select(IntegrationRevocation))
        assert await run_revocation_jobs(sessionmaker, integration_settings) == 1
        await service.revoke_pending(
            session, sessionmaker, integration_settings, pending.id, last_attempt=True
        )
        assert fake.state.calls["google.revoke"] == 1
        assert (await audited(session)).count("integration.revoked") == 1


class TestAccountEnd:
    async def test_closing_the_account_revokes_every_grant(
        self, browser, session, sessionmaker, integration_settings, fake
    ):
        for provider in ("google", "gusto", "stripe"):
            await connect(browser, provider, sessionmaker, integration_settings)
        closed = await browser.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
        assert closed.status_code == 202, closed.text
        for model in (IntegrationConnection, IntegrationCalendarEvent, IntegrationEmployee):
            assert await session.scalar(select(func.count()).select_from(model)) == 0
        # Closing did not wait for the providers: the jobs tell them.
        assert fake.state.calls["google.revoke"] == 0 and await pending_revocations(session) == 3
        assert await run_revocation_jobs(sessionmaker, integration_settings) == 3
        assert fake.state.calls["google.revoke"] == 1 and fake.state.calls["gusto.revoke"] == 1
        assert fake.state.deauthorized == ["acct_1Nv0FGQ9RKHgCVdK"]
        assert await pending_revocations(session) == 0

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
        assert await session.scalar(select(func.count()).select_from(IntegrationCalendarEvent)) == 0
        assert await session.scalar(select(func.count()).select_from(IntegrationConnection)) == 0
        # The grant to revoke survived the erasure (retained until sent), and only until then.
        retained = {f"{item['table']}.{item['column']}" for item in request.certificate["retained"]}
        assert "integration_revocation.token" in retained
        assert await pending_revocations(session) == 1
        assert await run_revocation_jobs(sessionmaker, integration_settings) == 1
        assert fake.state.calls["google.revoke"] == 1
        assert await pending_revocations(session) == 0


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
