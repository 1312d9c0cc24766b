"""Erasure: the data map applied to one person's rows, the certificate, the verification scan,
the grace period, legal holds, crashes, and closed accounts reaching their deletion date."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import pyotp
import pytest
from pydantic import SecretStr
from sqlalchemy import JSON, String, Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opmaestro.accounts.models import Role, User, UserSession, UserStatus
from opmaestro.audit.models import AuditRecord
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.datamap import CONTACT, IDENTITY, personal_columns, rows_of, subject_keys
from opmaestro.core.db import Base
from opmaestro.dsar import erasure, holds, scan, workflow
from opmaestro.dsar.models import DataRequest, Jurisdiction, LegalHold, RequestKind, RequestState
from opmaestro.notifications.models import OutboxMessage
from tests.factories import create_person_with_data, create_user, sign_in
from tests.problems import assert_problem

EMAIL = "ann.erasable@example.com"
NAME = "Annabel Quist"
PHONE = "+14155550132"
OTHER_EMAIL = "bob.stays@example.com"
OTHER_NAME = "Bob Remaining"
OTHER_PHONE = "+14155550199"

RunJobs = Callable[..., Awaitable[int]]


@pytest.fixture
def run_jobs(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> RunJobs:
    """Run the due queued jobs of one name as a worker would; returns how many ran."""

    async def run(name: str = erasure.ERASURE_JOB, with_settings: Settings | None = None) -> int:
        async with sessionmaker() as reader:
            queued = list(
                await reader.scalars(
                    select(jobs.Job.id)
                    .where(jobs.Job.name == name, jobs.Job.status == jobs.JobStatus.QUEUED)
                    .order_by(jobs.Job.created_at)
                )
            )
        runner = jobs.JobRunner(sessionmaker, with_settings or settings)
        return sum([await runner.run_by_id(job_id) for job_id in queued])

    return run


async def verified_erasure(session: AsyncSession, user: User) -> DataRequest:
    request = DataRequest(
        kind=RequestKind.ERASURE,
        state=RequestState.VERIFIED,
        user_id=user.id,
        jurisdiction=Jurisdiction.EUROPE,
        due_at=utcnow(),
        verified_at=utcnow(),
    )
    session.add(request)
    await session.commit()
    return request


async def erase_now(session: AsyncSession, settings: Settings, user: User, run_jobs: RunJobs) -> DataRequest:
    request = await verified_erasure(session, user)
    await erasure.schedule(session, settings.model_copy(update={"erasure_grace_days": 0}), request)
    await session.commit()
    assert await run_jobs() == 1
    await session.refresh(request)
    return request


async def texts_holding(session: AsyncSession, *needles: str) -> list[str]:
    """Every `table.column` (text or JSON, every table) holding one of `needles`, queried directly."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, String | Text | JSON):
                continue
            text = func.lower(cast(column, Text))
            for needle in needles:
                hits = await session.scalar(
                    select(func.count())
                    .select_from(table)
                    .where(text.contains(needle.lower(), autoescape=True))
                )
                if hits:
                    found.append(f"{table.name}.{column.name}")
    return sorted(set(found))


async def rows_by_table(session: AsyncSession, user_id: UUID) -> dict[str, list[dict[str, Any]]]:
    return {
        table.name: [
            dict(row)
            for row in (await session.execute(select(table).where(rows_of(table, user_id)))).mappings()
        ]
        for table in Base.metadata.sorted_tables
        if subject_keys(table)
    }


@pytest.fixture
async def person(session: AsyncSession) -> User:
    return await create_person_with_data(session, EMAIL, name=NAME, phone=PHONE)


@pytest.fixture
async def bystander(session: AsyncSession) -> User:
    return await create_person_with_data(session, OTHER_EMAIL, name=OTHER_NAME, phone=OTHER_PHONE)


class TestTheFactoryCoversEveryTable:
    async def test_the_person_has_rows_in_every_table_with_personal_columns(self, session, person):
        personal_tables = {column.table for column in personal_columns(Base.metadata)}
        counts = {name: len(rows) for name, rows in (await rows_by_table(session, person.id)).items()}

        # A new table with personal data fails here until the factory (and so erasure) covers it.
        assert {name for name, count in counts.items() if count} == personal_tables


class TestErasure:
    async def test_leaves_no_trace_of_email_phone_or_name(self, session, settings, person, run_jobs):
        before = await texts_holding(session, EMAIL, PHONE, NAME)
        assert "outbox_message.text_body" in before and "user_account.email" in before

        request = await erase_now(session, settings, person, run_jobs)

        assert request.state == RequestState.COMPLETED, request.outcome
        assert request.certificate["scan"]["traces_found"] == []
        # The one mail allowed after erasure: the notice to the address captured before it.
        [notice] = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == EMAIL))
        ).all()
        assert notice.template == "erasure_completed" and notice.user_id is None
        assert NAME not in notice.text_body and PHONE not in notice.text_body
        await session.delete(notice)
        await session.flush()
        retained = {f"{item['table']}.{item['column']}" for item in request.certificate["retained"]}
        assert [
            found for found in await texts_holding(session, EMAIL, PHONE, NAME) if found not in retained
        ] == []

    async def test_applies_each_columns_strategy(self, session, settings, person, run_jobs):
        await erase_now(session, settings, person, run_jobs)

        rows = await rows_by_table(session, person.id)
        [account] = rows["user_account"]
        assert account["email"].endswith("@erased.invalid") and account["name"] == "Erased user"
        assert account["phone"] is None and account["company"] is None and account["date_of_birth"] is None
        assert (
            account["mfa_secret"] is None
            and account["country"] == "ZZ"
            and account["password_hash"] == "!erased"
        )
        assert account["status"] == UserStatus.ERASED
        assert account["age_attested_at"] is not None  # retained: proof of the age attestation
        for deleted in (
            "user_session",
            "account_token",
            "personal_access_token",
            "recovery_code",
            "outbox_message",
        ):
            assert rows[deleted] == [], deleted
        [event] = rows["security_event"]
        assert event["ip_address"] is None and event["user_agent"] is None
        # Proof of consent: the events (one recorded by a client, without a device) and its evidence.
        assert len(rows["consent_event"]) == 2 and rows["consent_event"][0]["ip_address"]
        assert [evidence["source"] for evidence in rows["consent_evidence"]] == ["Trade show sign-up form"]
        assert len(rows["policy_acceptance"]) == 1
        assert any(record["action"] == "user.erased" for record in rows["audit_record"])

    async def test_leaves_another_persons_rows_untouched(
        self, session, settings, person, bystander, run_jobs
    ):
        before = await rows_by_table(session, bystander.id)

        await erase_now(session, settings, person, run_jobs)

        after = await rows_by_table(session, bystander.id)
        assert {name: rows for name, rows in after.items() if name != "audit_record"} == {
            name: rows for name, rows in before.items() if name != "audit_record"
        }
        assert await texts_holding(session, OTHER_EMAIL, OTHER_PHONE, OTHER_NAME) != []

    async def test_revokes_sessions_and_tokens_so_nothing_signs_in(self, session, settings, person, run_jobs):
        await erase_now(session, settings, person, run_jobs)

        assert (
            await session.scalar(
                select(func.count()).select_from(UserSession).where(UserSession.user_id == person.id)
            )
            == 0
        )
        revoked = await session.scalars(
            select(AuditRecord.action).where(
                AuditRecord.reason == "erasure", AuditRecord.actor_kind == "system"
            )
        )
        assert {"session.revoked", "token.revoked", "account_token.cancelled"} <= set(revoked)

    async def test_certificate_counts_rows_without_personal_data(self, session, settings, person, run_jobs):
        request = await erase_now(session, settings, person, run_jobs)

        certificate = request.certificate
        assert certificate["subject_sha256"] == erasure.subject_hash(settings, person.id)
        assert len(certificate["subject_sha256"]) == 64 and str(person.id) not in str(certificate)
        assert certificate["subject_sha256"] != erasure.subject_hash(
            settings.model_copy(update={"secret_key": SecretStr("another-secret-key-of-at-least-32-chars")}),
            person.id,
        )
        tables = certificate["tables"]
        assert tables["outbox_message"]["deleted"] == 2  # the one sent without a user id too
        assert tables["user_session"]["deleted"] == 1
        assert tables["user_account"] | {"columns": None} == {
            "rows": 1,
            "deleted": 0,
            "cleared": 1,
            "anonymized": 1,
            "columns": None,
        }
        assert tables["user_account"]["columns"]["age_attested_at"] == "retained"
        assert {"table": "consent_event", "column": "user_agent"}.items() <= next(
            item for item in certificate["retained"] if item["column"] == "user_agent"
        ).items()
        assert certificate["held"] == [] and certificate["erased_at"]
        for value in (EMAIL, NAME, PHONE, "Acme Corp", "203.0.113.7"):
            assert value.lower() not in str(certificate).lower()

    async def test_completes_and_mails_the_requester_over_smtp(
        self, session, settings, person, run_jobs, smtp_server, smtp_settings
    ):
        request = await erase_now(session, settings, person, run_jobs)
        assert await run_jobs("notifications.deliver", smtp_settings) == 1

        inbox, _ = smtp_server
        [mail] = inbox.messages
        assert mail["To"] == EMAIL and mail["Subject"] == "Your data was erased"
        assert request.closed_at is not None and request.progress_percent == 100

    async def test_the_account_cannot_sign_in_afterwards(self, client, session, settings, person, run_jobs):
        await erase_now(session, settings, person, run_jobs)

        response = await client.post(
            "/api/v1/auth/login", json={"email": EMAIL, "password": "correct horse battery staple"}
        )
        assert response.status_code == 401

    async def test_staff_cannot_change_an_erased_account(self, client, session, settings, person, run_jobs):
        await erase_now(session, settings, person, run_jobs)
        secret = pyotp.random_base32()
        await create_user(session, "admin@example.com", role=Role.ADMIN, mfa_secret=secret)
        await sign_in(client, "admin@example.com", otp_secret=secret)

        for change in ({"disabled": True}, {"role": "support"}):
            response = await client.patch(
                f"/api/v1/admin/users/{person.id}", json=change | {"reason": "ticket 4711: tidy up"}
            )
            assert_problem(response, 409, "account-erased")
        await session.refresh(person)
        assert person.status == UserStatus.ERASED and person.role == Role.MEMBER


class TestScan:
    async def test_a_trace_left_in_any_text_column_fails_the_request_and_alerts_staff(
        self, session, settings, person, run_jobs
    ):
        await create_user(session, "officer@example.com", role=Role.PRIVACY_OFFICER)
        # A free-text column no data map ties to the person: only the scan can notice it.
        session.add(
            LegalHold(
                user_id=(await create_user(session, "x@example.com")).id,
                category="billing",
                reason=f"dispute with {NAME}",
            )
        )
        session.add(
            jobs.Job(
                name="demo",
                payload={"note": f"call {PHONE}"},
                status="done",
                attempts=1,
                max_attempts=1,
                run_at=utcnow(),
            )
        )
        await session.commit()

        request = await erase_now(session, settings, person, run_jobs)

        assert request.state == RequestState.FAILED
        assert request.certificate["scan"]["traces_found"] == ["job.payload"]
        assert "job.payload" in (request.outcome or "") and PHONE not in (request.outcome or "")
        [alert] = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.template == "erasure_failed"))
        ).all()
        assert alert.to_address == "officer@example.com" and "job.payload" in alert.text_body
        assert PHONE not in alert.text_body and NAME not in alert.text_body
        assert (
            await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.to_address == EMAIL)
            )
            == 0
        )

    def test_short_values_are_not_searched(self):
        traces = scan.Traces(email="a@b.c", phone=None, name="Al")

        assert traces.needles() == ["a@b.c"]

    def test_phone_digits_are_searched_too(self):
        assert scan.Traces(email=None, phone="+1 415 555 0132", name="X").needles() == [
            "+1 415 555 0132",
            "14155550132",
        ]

    async def test_the_search_is_case_insensitive_and_names_columns_only(self, session, person):
        found = await scan.scan(
            session, Base.metadata, scan.Traces(email=EMAIL.upper(), phone=None, name=None)
        )

        assert "user_account.email" in found.found and "outbox_message.to_address" in found.found
        assert found.columns_searched > 20


class TestLegalHolds:
    async def test_a_held_category_is_kept_and_reported(self, session, settings, person, run_jobs):
        staff = await create_user(session, "officer@example.com", role=Role.PRIVACY_OFFICER)
        session.add(
            LegalHold(
                user_id=person.id,
                category=CONTACT,
                reason="litigation hold, case 22-114",
                created_by=staff.id,
            )
        )
        await session.commit()

        request = await erase_now(session, settings, person, run_jobs)

        assert request.state == RequestState.COMPLETED, request.outcome
        [account] = (await rows_by_table(session, person.id))["user_account"]
        assert account["email"] == EMAIL and account["phone"] == PHONE and account["name"] == "Erased user"
        [held] = request.certificate["held"]
        assert held["category"] == "contact"
        assert {
            "user_account.email",
            "user_account.phone",
            "outbox_message.to_address",
            "account_token.new_email",
        } <= set(held["columns"])
        # The outbox rows hold contact data under the hold: kept whole, their other columns cleared.
        assert request.certificate["tables"]["outbox_message"]["deleted"] == 0
        assert "outbox_message.text_body" in request.certificate["kept_with_row"]
        [notice] = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.template == "erasure_completed"))
        ).all()
        assert "- contact: litigation hold, case 22-114" in notice.text_body
        assert "contact: litigation hold, case 22-114</li>" in notice.html_body
        assert await holds.held_categories(session, person.id) == {CONTACT: "litigation hold, case 22-114"}

    async def test_a_released_hold_no_longer_keeps_anything(self, session, settings, person, run_jobs):
        session.add(
            LegalHold(user_id=person.id, category=IDENTITY, reason="closed matter", released_at=utcnow())
        )
        await session.commit()

        request = await erase_now(session, settings, person, run_jobs)

        assert request.certificate["held"] == []
        assert (await rows_by_table(session, person.id))["user_account"][0]["name"] == "Erased user"

    @pytest.mark.parametrize(("category", "kept"), [("identity", NAME), ("contact", PHONE)])
    async def test_releasing_a_hold_after_the_erasure_erases_what_it_kept(
        self, client, session, settings, person, run_jobs, category, kept
    ):
        secret = pyotp.random_base32()
        await create_user(session, "officer@example.com", role=Role.PRIVACY_OFFICER, mfa_secret=secret)
        await sign_in(client, "officer@example.com", otp_secret=secret)
        placed = await client.post(
            f"/api/v1/admin/users/{person.id}/legal-holds",
            json={"category": category, "reason": "identity check for case 22-114"},
        )
        assert placed.status_code == 201, placed.text
        first = await erase_now(session, settings, person, run_jobs)
        assert first.state == RequestState.COMPLETED, first.outcome
        [account] = (await rows_by_table(session, person.id))["user_account"]
        assert kept in (account["name"], account["phone"])

        released = await client.post(
            f"/api/v1/admin/legal-holds/{placed.json()['id']}/release", json={"reason": "case 22-114 closed"}
        )
        assert released.status_code == 200, released.text
        assert await run_jobs() == 1

        second = await session.scalar(
            select(DataRequest).where(DataRequest.user_id == person.id, DataRequest.id != first.id)
        )
        assert second is not None and second.kind == RequestKind.ERASURE, second
        assert second.state == RequestState.COMPLETED, second.outcome
        assert second.certificate["held"] == [] and second.certificate["scan"]["traces_found"] == []
        assert second.certificate["request_id"] == str(second.id)
        [account] = (await rows_by_table(session, person.id))["user_account"]
        assert account["name"] == "Erased user" and account["phone"] is None
        # The second erasure mails no one (the account's address is gone or held). The first's
        # notice to the address is the one mail allowed to name it, unless the contact hold kept
        # the address: then it was the person's mail, and the second erasure took it too.
        notices = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.template == "erasure_completed"))
        ).all()
        assert len(notices) == (1 if category == "identity" else 0)
        for notice in notices:
            assert notice.to_address == EMAIL and NAME not in notice.text_body
            await session.delete(notice)
        await session.flush()
        retained = {f"{item['table']}.{item['column']}" for item in second.certificate["retained"]}
        assert [
            found for found in await texts_holding(session, NAME, EMAIL, PHONE) if found not in retained
        ] == []

    async def test_releasing_a_hold_of_a_person_not_yet_erased_opens_nothing(
        self, client, session, settings, person, run_jobs
    ):
        secret = pyotp.random_base32()
        await create_user(session, "officer@example.com", role=Role.PRIVACY_OFFICER, mfa_secret=secret)
        await sign_in(client, "officer@example.com", otp_secret=secret)
        placed = await client.post(
            f"/api/v1/admin/users/{person.id}/legal-holds",
            json={"category": "identity", "reason": "identity check for case 22-114"},
        )
        released = await client.post(
            f"/api/v1/admin/legal-holds/{placed.json()['id']}/release", json={"reason": "case 22-114 closed"}
        )
        assert released.status_code == 200, released.text
        assert await run_jobs() == 0


class TestGracePeriod:
    async def test_the_job_waits_for_the_grace_period(self, session, settings, person, run_jobs, clock):
        request = await verified_erasure(session, person)
        await workflow.start(session, settings, request, actor=None)
        await session.commit()
        assert request.state == RequestState.IN_PROGRESS
        assert await run_jobs() == 0

        await session.refresh(request)
        assert request.erase_after is not None and request.started_at is not None
        assert request.erase_after == request.started_at + timedelta(days=settings.erasure_grace_days)
        clock.advance(days=settings.erasure_grace_days - 1)
        assert await run_jobs() == 0
        assert (await session.get(User, person.id)).name == NAME

        clock.advance(days=1, seconds=1)
        assert await run_jobs() == 1
        await session.refresh(request)
        assert request.state == RequestState.COMPLETED

    async def test_cancelling_before_the_erasure_stops_it(self, session, settings, person, run_jobs, clock):
        request = await verified_erasure(session, person)
        await erasure.schedule(session, settings, request)
        await workflow.move(session, request, RequestState.CANCELLED, actor=None, reason="changed my mind")
        await session.commit()

        clock.advance(days=settings.erasure_grace_days, seconds=1)
        assert await run_jobs() == 1

        await session.refresh(person)
        assert person.name == NAME and person.status == UserStatus.ACTIVE
        await session.refresh(request)
        assert request.state == RequestState.CANCELLED and request.certificate is None

    async def test_zero_days_erases_at_once(self, session, settings, person, run_jobs):
        request = await verified_erasure(session, person)
        await erasure.schedule(session, settings.model_copy(update={"erasure_grace_days": 0}), request)
        await session.commit()

        assert request.erase_after is not None and request.erase_after <= utcnow()
        assert await run_jobs() == 1
        await session.refresh(request)
        assert request.state == RequestState.COMPLETED

    def test_the_grace_period_cannot_be_negative(self):
        with pytest.raises(ValueError, match="erasure_grace_days"):
            Settings(erasure_grace_days=-1)


class TestCrash:
    async def test_a_rerun_after_a_crash_erases_once(
        self, session, settings, person, run_jobs, clock, monkeypatch
    ):
        real_scan = scan.scan
        calls = 0

        async def crashing_scan(*args: Any, **kwargs: Any) -> scan.ScanResult:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("worker lost its database connection")
            return await real_scan(*args, **kwargs)

        monkeypatch.setattr(scan, "scan", crashing_scan)
        request = await verified_erasure(session, person)
        await erasure.schedule(session, settings.model_copy(update={"erasure_grace_days": 0}), request)
        await session.commit()

        assert await run_jobs() == 1
        await session.refresh(request)
        await session.refresh(person)
        assert request.state == RequestState.IN_PROGRESS and person.name == NAME  # rolled back whole
        clock.advance(minutes=5)
        assert await run_jobs() == 1

        await session.refresh(request)
        assert request.state == RequestState.COMPLETED
        assert request.certificate["tables"]["outbox_message"]["deleted"] == 2
        notices = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.template == "erasure_completed"))
        ).all()
        assert len(notices) == 1
        assert await run_jobs() == 0

    async def test_running_the_job_again_after_it_finished_changes_nothing(
        self, session, settings, person, run_jobs
    ):
        request = await erase_now(session, settings, person, run_jobs)
        certificate = request.certificate
        await jobs.enqueue(session, erasure.ERASURE_JOB, {"request_id": str(request.id)}, max_attempts=1)
        await session.commit()

        assert await run_jobs() == 1
        await session.refresh(request)
        assert request.certificate == certificate
        assert (
            len(
                (
                    await session.scalars(
                        select(OutboxMessage).where(OutboxMessage.template == "erasure_completed")
                    )
                ).all()
            )
            == 1
        )


class TestClosedAccounts:
    @pytest.fixture
    async def person(self, session: AsyncSession) -> User:
        return await create_person_with_data(session, EMAIL, name=NAME, phone=PHONE, mfa_secret=None)

    async def close(self, client, email: str) -> None:

        await sign_in(client, email)
        response = await client.request(
            "DELETE", "/api/v1/me", json={"password": "correct horse battery staple"}
        )
        assert response.status_code == 202, response.text

    async def test_an_account_past_its_deletion_date_is_erased(
        self, client, session, settings, person, run_jobs, clock
    ):
        await self.close(client, EMAIL)
        await session.refresh(person)
        assert person.status == UserStatus.CLOSED and person.deletion_due_at is not None

        clock.advance(days=settings.account_deletion_grace_days, seconds=1)
        await jobs.enqueue(session, erasure.ERASE_CLOSED_ACCOUNTS_JOB, {}, max_attempts=1)
        await session.commit()
        assert await run_jobs(erasure.ERASE_CLOSED_ACCOUNTS_JOB) == 1
        assert await run_jobs() == 1

        [request] = (
            await session.scalars(
                select(DataRequest).where(
                    DataRequest.user_id == person.id, DataRequest.kind == RequestKind.ERASURE
                )
            )
        ).all()
        assert request.state == RequestState.COMPLETED and request.certificate is not None
        assert request.erase_after is not None and request.erase_after <= utcnow()
        await session.refresh(person)
        assert person.status == UserStatus.ERASED and person.name == "Erased user"
        actors = await session.scalars(
            select(AuditRecord.actor_kind).where(
                AuditRecord.subject_type == "data_request", AuditRecord.subject_id == str(request.id)
            )
        )
        assert set(actors) == {"system"}

    async def test_an_account_not_yet_due_is_left(self, client, session, settings, person, run_jobs, clock):
        await self.close(client, EMAIL)
        clock.advance(days=settings.account_deletion_grace_days - 1)

        assert await erasure.open_for_closed_accounts(session, settings, limit=10) == []

    async def test_signing_in_before_the_due_date_prevents_it(
        self, client, make_client, session, settings, person, clock
    ):
        await self.close(client, EMAIL)
        clock.advance(days=settings.account_deletion_grace_days - 1)

        await sign_in(make_client(), EMAIL)
        clock.advance(days=2)

        assert await erasure.open_for_closed_accounts(session, settings, limit=10) == []
        await session.refresh(person)
        assert person.status == UserStatus.ACTIVE and person.name == NAME

    async def test_a_second_sweep_before_the_erasure_ran_opens_nothing_more(
        self, client, session, settings, person, clock
    ):
        await self.close(client, EMAIL)
        clock.advance(days=settings.account_deletion_grace_days, seconds=1)

        assert len(await erasure.open_for_closed_accounts(session, settings, limit=10)) == 1
        assert await erasure.open_for_closed_accounts(session, settings, limit=10) == []

    async def test_the_sweep_runs_hourly(self):
        assert jobs.periodic_jobs()[erasure.ERASE_CLOSED_ACCOUNTS_JOB].total_seconds() == 3600
