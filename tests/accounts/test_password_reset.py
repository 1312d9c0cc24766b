"""Forgotten passwords: the emailed reset link, its lifetime, and what a reset ends."""

import re

import pytest
from sqlalchemy import select

from opmaestro.accounts.models import User
from opmaestro.accounts.signin import FORGOT_PASSWORD_JOB
from opmaestro.audit.models import AuditRecord
from opmaestro.core import jobs
from opmaestro.notifications.models import OutboxMessage
from tests.databases import statements_on
from tests.factories import PASSWORD, create_user, sign_in
from tests.problems import assert_problem

FORGOT = "/api/v1/auth/password/forgot"
RESET = "/api/v1/auth/password/reset"
LOGIN = "/api/v1/auth/login"
NEW_PASSWORD = "a brand new passphrase 42"


async def mails(session, template: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.created_at)
    if template is not None:
        query = query.where(OutboxMessage.template == template)
    return list((await session.scalars(query)).all())


def link_token(message: OutboxMessage) -> str:
    found = re.search(r"[?&]token=([A-Za-z0-9_-]+)", message.text_body)
    assert found, message.text_body
    return found.group(1)


async def reset_token(client, session, run_jobs, email: str = "ann@example.com") -> str:
    response = await client.post(FORGOT, json={"email": email})
    assert response.status_code == 202, response.text
    assert await run_jobs() == 1
    *_, newest = await mails(session, "reset_password")
    return link_token(newest)


async def login(client, password: str, email: str = "ann@example.com"):
    return await client.post(LOGIN, json={"email": email, "password": password})


@pytest.fixture
async def ann(session) -> User:
    return await create_user(session, "ann@example.com", name="Ann Lee")


class TestForgotPassword:
    async def test_existing_account_is_mailed_a_one_hour_link(self, client, session, settings, ann, run_jobs):
        response = await client.post(FORGOT, json={"email": "ANN@example.com"})

        assert response.status_code == 202, response.text
        assert response.json() == {
            "status": "accepted",
            "detail": "If an account uses this address, a reset link is on its way.",
        }
        assert await mails(session) == []
        assert await run_jobs() == 1
        [message] = await mails(session)
        assert (message.to_address, message.template) == ("ann@example.com", "reset_password")
        assert f"{settings.public_base_url.rstrip('/')}/reset-password?token=" in message.text_body
        assert "Ann Lee" in message.text_body

    async def test_unknown_address_gets_the_same_answer_and_nothing_is_mailed(
        self, client, session, ann, run_jobs
    ):
        known = await client.post(FORGOT, json={"email": "ann@example.com"})
        unknown = await client.post(FORGOT, json={"email": "nobody@example.com"})

        assert unknown.status_code == known.status_code == 202
        assert unknown.json() == known.json()
        assert await run_jobs() == 2
        assert [message.to_address for message in await mails(session)] == ["ann@example.com"]

    @pytest.mark.parametrize(
        "email", ["ann@example.com", "nobody@example.com"], ids=["account", "no-account"]
    )
    async def test_each_request_queues_one_job_with_the_normalised_address(self, client, session, ann, email):
        await client.post(FORGOT, json={"email": f"  {email.upper()} "})

        [job] = (await session.scalars(select(jobs.Job))).all()
        assert (job.name, job.payload) == (FORGOT_PASSWORD_JOB, {"email": email})

    async def test_with_and_without_an_account_the_request_sends_the_same_statements(
        self, client, session, ann
    ):
        sent = {}
        for email in ("ann@example.com", "nobody@example.com"):
            with statements_on(session) as statements:
                assert (await client.post(FORGOT, json={"email": email})).status_code == 202
            # Savepoints stand in for the request's transaction here; only their numbers differ.
            sent[email] = [re.sub(r"sa_savepoint_\d+", "sa_savepoint", statement) for statement in statements]

        assert sent["ann@example.com"] == sent["nobody@example.com"]
        assert (
            [s for s in sent["ann@example.com"] if s.startswith("INSERT")]
            == [s for s in sent["ann@example.com"] if s.startswith("INSERT INTO job ")]
            != []
        )
        assert not any("user_account" in statement for statement in sent["ann@example.com"])

    async def test_the_job_forgets_the_address_once_it_has_run(self, client, session, ann, run_jobs):
        await client.post(FORGOT, json={"email": "ann@example.com"})
        await run_jobs()

        query = select(jobs.Job).where(jobs.Job.name == FORGOT_PASSWORD_JOB)
        [job] = (await session.scalars(query.execution_options(populate_existing=True))).all()
        assert (job.status, job.payload) == (jobs.JobStatus.DONE, {})

    @pytest.mark.parametrize("status", ["closed", "disabled"])
    async def test_inactive_account_is_not_mailed(self, client, session, run_jobs, status):
        await create_user(session, "ann@example.com", status=status)
        assert (await client.post(FORGOT, json={"email": "ann@example.com"})).status_code == 202
        assert await run_jobs() == 1
        assert await mails(session) == []

    async def test_unverified_account_can_reset_and_is_then_verified(self, client, session, run_jobs):
        await create_user(session, "ann@example.com", verified=False)
        token = await reset_token(client, session, run_jobs)
        assert (
            await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})
        ).status_code == 204
        await sign_in(client, "ann@example.com", NEW_PASSWORD)
        # The emailed link proved the mailbox, as the verification link would have.
        assert (await client.get("/api/v1/me")).json()["email_verified"] is True

    async def test_asking_again_makes_the_earlier_link_stop_working(self, client, session, ann, run_jobs):
        first = await reset_token(client, session, run_jobs)
        second = await reset_token(client, session, run_jobs)
        assert first != second

        refused = await client.post(RESET, json={"token": first, "new_password": NEW_PASSWORD})
        assert_problem(refused, 403, "invalid-token")
        assert (
            await client.post(RESET, json={"token": second, "new_password": NEW_PASSWORD})
        ).status_code == 204

    @pytest.mark.parametrize(
        "content",
        [b'{"email": "ann@example.com"', b"email=ann@example.com"],
        ids=["truncated", "not-json"],
    )
    async def test_malformed_json_is_a_bad_request(self, client, session, ann, content):
        response = await client.post(FORGOT, content=content, headers={"content-type": "application/json"})
        assert_problem(response, 400, "malformed-json")
        assert await mails(session) == []

    @pytest.mark.parametrize(
        "body",
        [{}, {"email": "not-an-address"}, {"email": "ann@example.com", "redirect": "https://evil.example"}],
        ids=["missing", "invalid", "unknown-field"],
    )
    async def test_invalid_bodies_are_refused(self, client, session, ann, body):
        assert_problem(await client.post(FORGOT, json=body), 422, "validation")
        assert await mails(session) == []


class TestResetPassword:
    async def test_new_password_replaces_the_old_one(self, client, session, ann, run_jobs):
        token = await reset_token(client, session, run_jobs)

        response = await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})

        assert response.status_code == 204, response.text
        assert response.content == b""
        assert_problem(await login(client, PASSWORD), 401, "invalid-credentials")
        assert (await login(client, NEW_PASSWORD)).status_code == 200

    async def test_owner_is_told_and_the_reset_is_audited(self, client, session, ann, run_jobs):
        token = await reset_token(client, session, run_jobs)
        await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})

        [notice] = await mails(session, "password_changed")
        assert notice.to_address == "ann@example.com"
        assert NEW_PASSWORD not in notice.text_body
        [record] = (
            await session.scalars(select(AuditRecord).where(AuditRecord.action == "account.password_reset"))
        ).all()
        assert record.subject_id == str(ann.id) and record.fields == ["password"]

    async def test_every_existing_session_is_signed_out(self, client, make_client, session, ann, run_jobs):
        laptop, phone = make_client(), make_client()
        await sign_in(laptop, "ann@example.com")
        await sign_in(phone, "ann@example.com")
        assert (await laptop.get("/api/v1/me")).status_code == 200

        token = await reset_token(client, session, run_jobs)
        assert (
            await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})
        ).status_code == 204

        for browser in (laptop, phone):
            assert_problem(await browser.get("/api/v1/me"), 401, "not-authenticated")
        await sign_in(laptop, "ann@example.com", NEW_PASSWORD)
        assert (await laptop.get("/api/v1/me")).status_code == 200

    async def test_link_works_only_once(self, client, session, ann, run_jobs):
        token = await reset_token(client, session, run_jobs)
        assert (
            await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})
        ).status_code == 204

        again = await client.post(RESET, json={"token": token, "new_password": "someone elses passphrase"})

        assert_problem(again, 403, "invalid-token")
        assert (await login(client, NEW_PASSWORD)).status_code == 200

    async def test_link_works_within_the_hour(self, client, session, clock, ann, run_jobs):
        token = await reset_token(client, session, run_jobs)
        clock.advance(minutes=59)
        assert (
            await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})
        ).status_code == 204

    async def test_link_expires_after_one_hour(self, client, session, clock, ann, run_jobs):
        token = await reset_token(client, session, run_jobs)
        clock.advance(hours=2)

        response = await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})

        assert_problem(response, 403, "invalid-token")
        assert (await login(client, PASSWORD)).status_code == 200

    @pytest.mark.parametrize("token", ["x" * 43, "not-a-real-token-at-all"])
    async def test_unknown_token_is_refused(self, client, session, ann, token):
        response = await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})
        assert_problem(response, 403, "invalid-token")
        assert (await login(client, PASSWORD)).status_code == 200

    async def test_a_verification_link_cannot_reset_the_password(self, client, session):
        await create_user(session, "ann@example.com", verified=False)
        await client.post("/api/v1/auth/verify-email/resend", json={"email": "ann@example.com"})
        [verification] = await mails(session, "verify_email")

        response = await client.post(
            RESET, json={"token": link_token(verification), "new_password": NEW_PASSWORD}
        )

        assert_problem(response, 403, "invalid-token")
        assert (await login(client, PASSWORD)).status_code == 200

    @pytest.mark.parametrize(
        ("password", "message"),
        [
            ("x7!k" * 2 + "abc", "at least 12"),
            ("password1234", "too common"),
            ("Zz9!" * 32 + "x", "at most 128"),
        ],
        ids=["11-chars", "common", "129-chars"],
    )
    async def test_weak_new_password_is_refused_and_the_link_still_works(
        self, client, session, ann, run_jobs, password, message
    ):
        token = await reset_token(client, session, run_jobs)

        body = assert_problem(
            await client.post(RESET, json={"token": token, "new_password": password}), 422, "validation"
        )

        [error] = body["errors"]
        assert error["field"] == "new_password" and message in error["message"]
        assert (await login(client, PASSWORD)).status_code == 200
        assert (
            await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})
        ).status_code == 204

    @pytest.mark.parametrize(
        "body",
        [
            {"token": "x" * 43},
            {"new_password": NEW_PASSWORD},
            {"token": "short", "new_password": NEW_PASSWORD},
            {"token": "x" * 43, "new_password": NEW_PASSWORD, "email": "ann@example.com"},
        ],
        ids=["no-password", "no-token", "short-token", "unknown-field"],
    )
    async def test_invalid_bodies_are_refused(self, client, body):
        assert_problem(await client.post(RESET, json=body), 422, "validation")

    async def test_unknown_field_does_not_use_up_the_link(self, client, session, ann, run_jobs):
        token = await reset_token(client, session, run_jobs)
        body = {"token": token, "new_password": NEW_PASSWORD, "role": "admin"}
        assert_problem(await client.post(RESET, json=body), 422, "validation")
        assert (
            await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})
        ).status_code == 204
        [user] = (await session.scalars(select(User).execution_options(populate_existing=True))).all()
        assert user.role == "member"

    async def test_malformed_json_is_a_bad_request(self, client):
        response = await client.post(
            RESET, content=b'{"token": "abc", new_password}', headers={"content-type": "application/json"}
        )
        assert_problem(response, 400, "malformed-json")
