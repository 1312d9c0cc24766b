"""A new password (reset or changed) or a new address ends what the old credential could reach:
sessions, personal access tokens and the links already mailed."""

import re
from uuid import uuid4

import pytest
from sqlalchemy import select

from opmaestro.accounts.models import PersonalAccessToken, User
from opmaestro.audit.models import AuditRecord
from opmaestro.notifications.models import OutboxMessage
from tests.factories import PASSWORD, create_user, sign_in
from tests.problems import assert_problem

NEW_PASSWORD = "violet kettle orbit tundra"
FORGOT = "/api/v1/auth/password/forgot"
RESET = "/api/v1/auth/password/reset"
VERIFY = "/api/v1/auth/verify-email"
NEW_ADDRESS = "ann.lee@newco.example"


@pytest.fixture
async def ann(session) -> User:
    return await create_user(session, "ann@example.com", name="Ann Lee")


@pytest.fixture
async def browser(client, ann):
    await sign_in(client, ann.email)
    return client


async def mails(session, template: str, to: str = "ann@example.com") -> list[OutboxMessage]:
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.template == template, OutboxMessage.to_address == to)
        .order_by(OutboxMessage.created_at)
    )
    return list((await session.scalars(query)).all())


def link_token(message: OutboxMessage) -> str:
    found = re.search(r"[?&]token=([A-Za-z0-9_-]+)", message.text_body)
    assert found, message.text_body
    return found.group(1)


async def new_token(browser, name: str) -> tuple[str, str]:
    """A personal access token made from the browser; returns its id and secret."""
    response = await browser.post(
        "/api/v1/me/tokens", json={"name": name, "scopes": ["profile:read", "profile:write"]}
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["token"]


async def as_token(make_client, secret: str):
    api = make_client()
    api.headers["Authorization"] = f"Bearer {secret}"
    return api


async def pending_email_change(session, browser) -> str:
    response = await browser.post("/api/v1/me/email", json={"new_email": NEW_ADDRESS, "password": PASSWORD})
    assert response.status_code == 202, response.text
    [confirm] = await mails(session, "confirm_email_change", to=NEW_ADDRESS)
    return link_token(confirm)


async def reset_link(client, session, run_jobs, email: str = "ann@example.com") -> str:
    assert (await client.post(FORGOT, json={"email": email})).status_code == 202
    assert await run_jobs() == 1
    *_, newest = await mails(session, "reset_password", to=email)
    return link_token(newest)


async def reset(client, token: str):
    return await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})


async def records(session, reason: str) -> dict[str, list[str]]:
    """Audit records written with this reason: action -> subject ids."""
    found: dict[str, list[str]] = {}
    for record in await session.scalars(select(AuditRecord).where(AuditRecord.reason == reason)):
        found.setdefault(record.action, []).append(record.subject_id)
    return found


class TestPasswordReset:
    async def test_a_token_made_before_the_reset_can_no_longer_read_or_edit_the_profile(
        self, client, session, browser, make_client, run_jobs
    ):
        _, secret = await new_token(browser, "Script")
        api = await as_token(make_client, secret)
        assert (await api.get("/api/v1/me")).status_code == 200
        token = await reset_link(make_client(), session, run_jobs)

        assert (
            await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})
        ).status_code == 204

        assert_problem(await api.get("/api/v1/me"), 401, "not-authenticated")
        assert_problem(await api.patch("/api/v1/me", json={"name": "Mallory"}), 401, "not-authenticated")

    async def test_a_pending_email_change_link_no_longer_moves_the_account(
        self, client, session, browser, ann, run_jobs
    ):
        change = await pending_email_change(session, browser)
        token = await reset_link(client, session, run_jobs)

        assert (
            await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})
        ).status_code == 204

        assert_problem(await client.post(VERIFY, json={"token": change}), 403, "invalid-token")
        assert (await session.get(User, ann.id, populate_existing=True)).email == "ann@example.com"

    async def test_a_pending_verification_link_is_cancelled(self, client, session, run_jobs):
        await create_user(session, "ann@example.com", verified=False)
        await client.post("/api/v1/auth/verify-email/resend", json={"email": "ann@example.com"})
        [verification] = await mails(session, "verify_email")
        token = await reset_link(client, session, run_jobs)

        assert (
            await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})
        ).status_code == 204

        assert_problem(
            await client.post(VERIFY, json={"token": link_token(verification)}), 403, "invalid-token"
        )

    async def test_the_notice_and_the_audit_log_say_what_was_revoked(
        self, client, session, browser, make_client, ann, run_jobs
    ):
        await sign_in(make_client(), ann.email)
        first_id, _ = await new_token(browser, "Nightly export")
        second_id, _ = await new_token(browser, "CRM sync")
        await pending_email_change(session, browser)
        token = await reset_link(make_client(), session, run_jobs)

        await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})

        [notice] = await mails(session, "password_changed")
        assert "2 signed-in sessions elsewhere: signed out" in notice.text_body
        assert "API tokens revoked: “CRM sync”, “Nightly export”" in notice.text_body
        assert "1 pending emailed link: cancelled" in notice.text_body
        assert "CRM sync" in notice.html_body and "1 pending emailed link: cancelled" in notice.html_body
        logged = await records(session, "password reset")
        assert sorted(logged) == ["account_token.cancelled", "session.revoked", "token.revoked"]
        assert sorted(logged["token.revoked"]) == sorted([first_id, second_id])
        assert len(logged["session.revoked"]) == 2 and len(logged["account_token.cancelled"]) == 1


class TestPasswordChange:
    async def change(self, browser, **extra):
        return await browser.post(
            "/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD} | extra,
        )

    async def test_every_token_is_revoked_by_default(self, session, browser, make_client):
        _, secret = await new_token(browser, "Script")
        api = await as_token(make_client, secret)

        assert (await self.change(browser)).status_code == 200

        assert_problem(await api.get("/api/v1/me"), 401, "not-authenticated")

    async def test_tokens_listed_to_keep_keep_working_and_the_others_do_not(
        self, session, browser, make_client
    ):
        kept_id, kept_secret = await new_token(browser, "Keep me")
        _, dropped_secret = await new_token(browser, "Drop me")

        assert (await self.change(browser, keep_token_ids=[kept_id])).status_code == 200

        assert (await (await as_token(make_client, kept_secret)).get("/api/v1/me")).status_code == 200
        assert_problem(await (await as_token(make_client, dropped_secret)).get("/api/v1/me"), 401)
        [notice] = await mails(session, "password_changed")
        assert "“Drop me”" in notice.text_body and "Keep me" not in notice.text_body

    async def test_pending_links_are_cancelled(self, client, session, browser, ann, make_client, run_jobs):
        change = await pending_email_change(session, browser)
        reset = await reset_link(make_client(), session, run_jobs)

        assert (await self.change(browser)).status_code == 200

        assert_problem(await client.post(VERIFY, json={"token": change}), 403, "invalid-token")
        refused = await client.post(RESET, json={"token": reset, "new_password": "a third passphrase 2026"})
        assert_problem(refused, 403, "invalid-token")
        [notice] = await mails(session, "password_changed")
        assert "2 pending emailed links: cancelled" in notice.text_body

    async def test_the_notice_counts_only_the_other_sessions_and_the_audit_log_names_each(
        self, session, browser, make_client, ann
    ):
        await sign_in(make_client(), ann.email)
        token_id, _ = await new_token(browser, "Script")

        assert (await self.change(browser)).status_code == 200

        [notice] = await mails(session, "password_changed")
        assert "1 signed-in session elsewhere: signed out" in notice.text_body
        assert "API tokens revoked: “Script”" in notice.text_body
        logged = await records(session, "password changed")
        assert logged["token.revoked"] == [token_id]
        # Both sessions: the other browser's, and this one's, which was replaced by a new one.
        assert len(logged["session.revoked"]) == 2

    @pytest.mark.parametrize("whose", ["another-users", "revoked", "expired", "unknown"])
    async def test_keeping_a_token_that_is_not_a_working_one_of_yours_is_422_and_changes_nothing(
        self, session, browser, make_client, clock, whose
    ):
        own_id, own_secret = await new_token(browser, "Mine")
        if whose == "another-users":
            await create_user(session, "bob@example.com")
            bob = make_client()
            await sign_in(bob, "bob@example.com")
            other_id, _ = await new_token(bob, "Bob's")
        elif whose == "revoked":
            other_id, _ = await new_token(browser, "Old")
            assert (await browser.delete(f"/api/v1/me/tokens/{other_id}")).status_code == 204
        elif whose == "expired":
            expired = PersonalAccessToken(
                user_id=(await session.scalar(select(User.id).where(User.email == "ann@example.com"))),
                name="Expired",
                token_hash="e" * 64,
                hint="eeee",
                scopes=["profile:read"],
                expires_at=clock.now(),
            )
            session.add(expired)
            await session.commit()
            other_id = str(expired.id)
        else:
            other_id = str(uuid4())

        response = await self.change(browser, keep_token_ids=[own_id, other_id])

        body = assert_problem(response, 422, "validation")
        [error] = body["errors"]
        assert error["field"] == "keep_token_ids" and other_id in error["message"]
        assert (await (await as_token(make_client, own_secret)).get("/api/v1/me")).status_code == 200
        await sign_in(make_client(), "ann@example.com", PASSWORD)

    @pytest.mark.parametrize(
        "keep",
        [["not-a-uuid"], "all", [str(uuid4()) for _ in range(101)]],
        ids=["not-a-uuid", "not-a-list", "too-many"],
    )
    async def test_malformed_keep_lists_are_422(self, browser, keep):
        body = assert_problem(await self.change(browser, keep_token_ids=keep), 422, "validation")
        assert {error["field"] for error in body["errors"]} <= {"keep_token_ids"} | {
            f"keep_token_ids.{index}" for index in range(101)
        }


class TestEmailChange:
    async def test_confirming_a_new_address_cancels_reset_links_sent_to_the_old_one(
        self, client, session, browser, make_client, run_jobs
    ):
        change = await pending_email_change(session, browser)
        reset = await reset_link(make_client(), session, run_jobs)

        assert (await client.post(VERIFY, json={"token": change})).status_code == 200

        refused = await client.post(RESET, json={"token": reset, "new_password": NEW_PASSWORD})
        assert_problem(refused, 403, "invalid-token")
        await sign_in(make_client(), NEW_ADDRESS, PASSWORD)
