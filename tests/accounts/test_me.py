"""The signed-in user's own account: profile, email and password changes, closing the account."""

import re
from datetime import datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import select

from opmaestro.accounts.models import AccountToken, PersonalAccessToken, User, UserSession, UserStatus
from opmaestro.audit.models import AuditRecord
from opmaestro.notifications.models import OutboxMessage
from tests.factories import PASSWORD, create_user, sign_in
from tests.problems import assert_problem

NEW_PASSWORD = "violet kettle orbit tundra"


@pytest.fixture
async def member(session):
    return await create_user(
        session, "ann@example.com", name="Ann Lee", company="Acme Corp", job_title="Head of Sales"
    )


@pytest.fixture
async def browser(client, member):
    await sign_in(client, member.email)
    return client


async def reload(session, user) -> User:
    return await session.get(User, user.id, populate_existing=True)


async def mails(session, to: str) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.to_address == to).order_by(OutboxMessage.created_at)
    return list((await session.scalars(query)).all())


async def templates_sent(session, to: str) -> list[str]:
    return [message.template for message in await mails(session, to)]


async def audit_records(session, action: str) -> list[AuditRecord]:
    return list((await session.scalars(select(AuditRecord).where(AuditRecord.action == action))).all())


def link_token(message: OutboxMessage) -> str:
    match = re.search(r"[?&]token=([A-Za-z0-9_\-]+)", message.text_body)
    assert match, message.text_body
    return match.group(1)


def error_fields(body: dict) -> set[str]:
    return {error["field"] for error in body["errors"]}


class TestGetMe:
    async def test_returns_own_profile(self, browser, member):
        response = await browser.get("/api/v1/me")
        assert response.status_code == 200, response.text
        me = response.json()
        assert me["id"] == str(member.id)
        assert me["email"] == "ann@example.com"
        assert me["email_verified"] is True
        assert (me["name"], me["company"], me["job_title"]) == ("Ann Lee", "Acme Corp", "Head of Sales")
        assert (me["phone"], me["country"]) == (None, "US")
        assert (me["role"], me["status"], me["mfa_enabled"]) == ("member", "active", False)

    async def test_never_exposes_secrets(self, browser):
        me = (await browser.get("/api/v1/me")).json()
        assert not {"password_hash", "mfa_secret", "date_of_birth"} & set(me)

    async def test_shows_the_callers_profile_not_another_users(self, session, browser, make_client):
        bob = await create_user(session, "bob@example.com", name="Bob Roe")
        other = make_client()
        await sign_in(other, bob.email)
        assert (await other.get("/api/v1/me")).json()["email"] == "bob@example.com"
        assert (await browser.get("/api/v1/me")).json()["email"] == "ann@example.com"

    async def test_anonymous_caller_gets_401_problem(self, client):
        body = assert_problem(await client.get("/api/v1/me"), 401, "not-authenticated")
        assert body["title"]


class TestUpdateMe:
    async def test_changes_name_affiliation_and_country(self, session, browser, member):
        response = await browser.patch(
            "/api/v1/me",
            json={"name": "Ann Lee-Park", "company": "Globex", "job_title": "CRO", "country": "DE"},
        )
        assert response.status_code == 200, response.text
        me = response.json()
        assert (me["name"], me["company"], me["job_title"], me["country"]) == (
            "Ann Lee-Park",
            "Globex",
            "CRO",
            "DE",
        )
        stored = await reload(session, member)
        assert (stored.name, stored.company, stored.job_title, stored.country) == (
            "Ann Lee-Park",
            "Globex",
            "CRO",
            "DE",
        )

    async def test_fields_not_sent_are_left_alone(self, session, browser, member):
        response = await browser.patch("/api/v1/me", json={"job_title": "CRO"})
        assert response.status_code == 200, response.text
        stored = await reload(session, member)
        assert (stored.name, stored.company, stored.job_title) == ("Ann Lee", "Acme Corp", "CRO")

    @pytest.mark.parametrize(
        ("sent", "stored"),
        [
            ("+1 415 555 0132", "+14155550132"),
            ("(415) 555-0133", "+14155550133"),
            ("+49 30 901820", "+4930901820"),
        ],
    )
    async def test_phone_is_stored_in_e164(self, session, browser, member, sent, stored):
        response = await browser.patch("/api/v1/me", json={"phone": sent})
        assert response.status_code == 200, response.text
        assert response.json()["phone"] == stored
        assert (await reload(session, member)).phone == stored

    async def test_national_phone_number_is_read_in_the_new_country(self, session, browser, member):
        response = await browser.patch("/api/v1/me", json={"country": "DE", "phone": "030 901820"})
        assert response.status_code == 200, response.text
        assert (await reload(session, member)).phone == "+4930901820"

    @pytest.mark.parametrize("phone", ["12345", "not a phone", "+999 123"])
    async def test_invalid_phone_is_a_field_error(self, session, browser, member, phone):
        body = assert_problem(await browser.patch("/api/v1/me", json={"phone": phone}), 422, "validation")
        assert error_fields(body) == {"phone"}
        assert (await reload(session, member)).phone is None

    async def test_invalid_phone_changes_nothing_else_either(self, session, browser, member):
        response = await browser.patch("/api/v1/me", json={"name": "Changed", "phone": "12345"})
        assert_problem(response, 422)
        assert (await reload(session, member)).name == "Ann Lee"

    async def test_phone_can_be_removed(self, session, browser, member):
        await browser.patch("/api/v1/me", json={"phone": "+1 415 555 0132"})
        response = await browser.patch("/api/v1/me", json={"phone": None})
        assert response.status_code == 200, response.text
        assert (await reload(session, member)).phone is None

    @pytest.mark.parametrize("country", ["XX", "Germany", "D", "12", None])
    async def test_invalid_country_is_a_field_error(self, session, browser, member, country):
        body = assert_problem(await browser.patch("/api/v1/me", json={"country": country}), 422, "validation")
        assert body["errors"]
        assert (await reload(session, member)).country == "US"

    @pytest.mark.parametrize("name", ["", "   ", None])
    async def test_name_cannot_be_blanked(self, session, browser, member, name):
        assert_problem(await browser.patch("/api/v1/me", json={"name": name}), 422, "validation")
        assert (await reload(session, member)).name == "Ann Lee"

    @pytest.mark.parametrize(
        "extra",
        [
            {"role": "admin"},
            {"email": "mallory@example.com"},
            {"status": "active"},
            {"email_verified": True},
            {"password_hash": "x"},
        ],
    )
    async def test_unknown_field_is_refused_and_nothing_changes(self, session, browser, member, extra):
        response = await browser.patch("/api/v1/me", json={"name": "Changed", **extra})
        body = assert_problem(response, 422, "validation")
        assert error_fields(body) == set(extra)
        stored = await reload(session, member)
        assert (stored.name, stored.role, stored.email) == ("Ann Lee", "member", "ann@example.com")
        assert await audit_records(session, "profile.updated") == []

    async def test_empty_body_is_refused(self, browser):
        assert_problem(await browser.patch("/api/v1/me", json={}), 422, "validation")

    async def test_malformed_json_is_400(self, session, browser, member):
        response = await browser.patch(
            "/api/v1/me", content=b'{"name": "Ann', headers={"content-type": "application/json"}
        )
        assert_problem(response, 400, "malformed-json")
        assert (await reload(session, member)).name == "Ann Lee"

    async def test_oversized_body_is_413(self, session, browser, member):
        huge = b'{"name": "' + b"a" * (1024 * 1024) + b'"}'
        response = await browser.patch(
            "/api/v1/me", content=huge, headers={"content-type": "application/json"}
        )
        assert_problem(response, 413)
        assert (await reload(session, member)).name == "Ann Lee"

    async def test_oversized_body_without_a_length_is_413(self, session, browser, member):
        async def chunks():
            yield b'{"name": "'
            for _ in range(17):
                yield b"a" * 65536
            yield b'"}'

        response = await browser.patch(
            "/api/v1/me", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_problem(response, 413)
        assert (await reload(session, member)).name == "Ann Lee"

    async def test_needs_the_csrf_header(self, session, browser, member):
        del browser.headers["X-CSRF-Token"]
        assert_problem(await browser.patch("/api/v1/me", json={"name": "Changed"}), 403, "csrf-failed")
        assert (await reload(session, member)).name == "Ann Lee"

    async def test_anonymous_caller_gets_401(self, client):
        assert_problem(await client.patch("/api/v1/me", json={"name": "X"}), 401, "not-authenticated")

    async def test_audit_record_names_the_changed_fields_only(self, session, browser, member):
        response = await browser.patch(
            "/api/v1/me",
            json={"name": "Ann Lee", "company": "Globex", "phone": "+1 415 555 0132", "country": "US"},
        )
        assert response.status_code == 200, response.text
        [entry] = await audit_records(session, "profile.updated")
        assert entry.actor_id == member.id and entry.actor_kind == "user"
        assert (entry.subject_type, entry.subject_id) == ("user", str(member.id))
        assert entry.fields == ["company", "phone"]
        assert entry.reason is None
        recorded = " ".join(str(getattr(entry, column.key)) for column in AuditRecord.__table__.columns)
        for value in ("Globex", "4155550132", "Ann Lee", "ann@example.com"):
            assert value not in recorded

    async def test_resending_current_values_changes_and_records_nothing(self, session, browser, member):
        before = (await browser.get("/api/v1/me")).json()
        response = await browser.patch(
            "/api/v1/me", json={"name": "Ann Lee", "company": "Acme Corp", "country": "US"}
        )
        assert response.status_code == 200, response.text
        assert response.json() == before
        assert await audit_records(session, "profile.updated") == []


class TestChangeEmail:
    async def request_change(self, browser, new_email="ann.lee@newco.example", password=PASSWORD):
        return await browser.post("/api/v1/me/email", json={"new_email": new_email, "password": password})

    async def test_wrong_password_is_403_and_sends_nothing(self, session, browser):
        response = await self.request_change(browser, password="not my password at all")
        assert_problem(response, 403, "wrong-password")
        assert await mails(session, "ann.lee@newco.example") == []
        assert await mails(session, "ann@example.com") == []

    async def test_new_address_confirms_and_old_address_is_told(self, session, browser, member):
        response = await self.request_change(browser, "Ann.Lee@NewCo.example")
        assert response.status_code == 202, response.text
        assert await templates_sent(session, "ann.lee@newco.example") == ["confirm_email_change"]
        assert await templates_sent(session, "ann@example.com") == ["email_change_requested"]
        assert (await reload(session, member)).email == "ann@example.com"
        [entry] = await audit_records(session, "profile.email_change_requested")
        assert entry.actor_id == member.id and entry.fields == ["email"]
        assert "newco" not in " ".join(str(v) for v in (entry.fields, entry.reason, entry.subject_id))

    async def test_confirming_switches_the_address_and_tells_the_old_one(self, session, browser, member):
        await self.request_change(browser)
        [confirm] = await mails(session, "ann.lee@newco.example")
        response = await browser.post("/api/v1/auth/verify-email", json={"token": link_token(confirm)})
        assert response.status_code == 200, response.text
        assert response.json()["email"] == "ann.lee@newco.example"
        assert (await reload(session, member)).email == "ann.lee@newco.example"
        assert (await browser.get("/api/v1/me")).json()["email"] == "ann.lee@newco.example"
        assert "email_changed" in await templates_sent(session, "ann@example.com")

    async def test_signing_in_uses_the_new_address_afterwards(self, session, browser, make_client):
        await self.request_change(browser)
        [confirm] = await mails(session, "ann.lee@newco.example")
        await browser.post("/api/v1/auth/verify-email", json={"token": link_token(confirm)})
        fresh = make_client()
        old = await fresh.post("/api/v1/auth/login", json={"email": "ann@example.com", "password": PASSWORD})
        assert old.status_code == 401
        await sign_in(fresh, "ann.lee@newco.example")

    async def test_confirmation_link_works_once(self, session, browser, member):
        await self.request_change(browser)
        [confirm] = await mails(session, "ann.lee@newco.example")
        token = link_token(confirm)
        assert (await browser.post("/api/v1/auth/verify-email", json={"token": token})).status_code == 200
        again = await browser.post("/api/v1/auth/verify-email", json={"token": token})
        assert_problem(again, 403, "invalid-token")

    async def test_confirmation_link_expires_after_a_day(self, session, browser, member, clock):
        await self.request_change(browser)
        [confirm] = await mails(session, "ann.lee@newco.example")
        clock.advance(hours=24, seconds=1)
        response = await browser.post("/api/v1/auth/verify-email", json={"token": link_token(confirm)})
        assert_problem(response, 403, "invalid-token")
        assert (await reload(session, member)).email == "ann@example.com"

    async def test_a_newer_request_cancels_the_older_link(self, session, browser, member):
        await self.request_change(browser, "first@newco.example")
        await self.request_change(browser, "second@newco.example")
        [first] = await mails(session, "first@newco.example")
        response = await browser.post("/api/v1/auth/verify-email", json={"token": link_token(first)})
        assert_problem(response, 403, "invalid-token")
        assert (await reload(session, member)).email == "ann@example.com"

    async def test_taken_address_gets_the_same_answer_and_is_not_switched(self, session, browser, member):
        await create_user(session, "bob@example.com", name="Bob Roe")
        free = await self.request_change(browser, "ann.lee@newco.example")
        taken = await self.request_change(browser, "bob@example.com")
        assert (taken.status_code, taken.json()) == (free.status_code, free.json())
        assert "confirm_email_change" not in await templates_sent(session, "bob@example.com")
        change_tokens = await session.scalars(
            select(AccountToken).where(AccountToken.new_email == "bob@example.com")
        )
        assert change_tokens.all() == []
        assert (await reload(session, member)).email == "ann@example.com"

    async def test_the_taken_address_is_told_of_an_email_change_attempt_without_who(
        self, session, browser, member
    ):
        await create_user(session, "bob@example.com", name="Bob Roe")

        await self.request_change(browser, "bob@example.com")

        [notice] = await mails(session, "bob@example.com")
        assert notice.template == "email_change_address_taken"
        assert notice.subject == "Someone tried to use your address for another account"
        assert "asked to move that account to this email address" in notice.text_body
        assert "sign up" not in notice.subject + notice.text_body
        for who in ("ann@example.com", member.name, "Bob Roe"):
            assert who not in notice.text_body and who not in (notice.html_body or "")

    async def test_taken_address_cannot_be_told_apart_from_the_current_inbox(self, session, browser):
        # The requester reads the current inbox, so it must get the same notice either way.
        await create_user(session, "bob@example.com", name="Bob Roe")
        await self.request_change(browser, "ann.lee@newco.example")
        await self.request_change(browser, "bob@example.com")
        assert await templates_sent(session, "ann@example.com") == [
            "email_change_requested",
            "email_change_requested",
        ]

    async def test_address_taken_before_confirming_is_refused(self, session, browser, member):
        await self.request_change(browser)
        [confirm] = await mails(session, "ann.lee@newco.example")
        await create_user(session, "ann.lee@newco.example", name="Someone Else")
        response = await browser.post("/api/v1/auth/verify-email", json={"token": link_token(confirm)})
        assert_problem(response, 409, "email-taken")
        assert (await reload(session, member)).email == "ann@example.com"

    async def test_invalid_new_address_is_422(self, browser):
        assert_problem(await self.request_change(browser, "not-an-address"), 422, "validation")

    async def test_anonymous_caller_gets_401(self, client):
        assert_problem(await self.request_change(client), 401, "not-authenticated")


class TestChangePassword:
    async def change(self, browser, current=PASSWORD, new=NEW_PASSWORD):
        return await browser.post(
            "/api/v1/me/password", json={"current_password": current, "new_password": new}
        )

    async def test_wrong_current_password_is_403_and_keeps_the_old_one(self, session, browser, member):
        assert_problem(await self.change(browser, current="not the password"), 403, "wrong-password")
        assert (await browser.get("/api/v1/me")).status_code == 200
        assert await mails(session, member.email) == []

    @pytest.mark.parametrize("weak", ["short", "password1234", "aaaaaaaaaaaaaaaa"])
    async def test_weak_new_password_is_422(self, browser, make_client, weak):
        body = assert_problem(await self.change(browser, new=weak), 422, "validation")
        assert error_fields(body) == {"new_password"}
        await sign_in(make_client(), "ann@example.com", PASSWORD)

    async def test_new_password_replaces_the_old_one(self, browser, make_client):
        assert (await self.change(browser)).status_code == 200
        fresh = make_client()
        old = await fresh.post("/api/v1/auth/login", json={"email": "ann@example.com", "password": PASSWORD})
        assert_problem(old, 401, "invalid-credentials")
        await sign_in(fresh, "ann@example.com", NEW_PASSWORD)

    async def test_other_sessions_end_and_this_browser_gets_a_new_one(self, browser, make_client):
        laptop = make_client()
        await sign_in(laptop, "ann@example.com")
        old_cookie = browser.cookies["opm_session"]
        old_csrf = browser.headers["X-CSRF-Token"]

        response = await self.change(browser)
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["user"]["email"] == "ann@example.com"
        assert result["csrf_token"] != old_csrf
        assert browser.cookies["opm_session"] != old_cookie
        assert browser.cookies["opm_csrf"] == result["csrf_token"]

        assert_problem(await laptop.get("/api/v1/me"), 401)
        stolen = make_client()
        stolen.cookies.set("opm_session", old_cookie)
        assert_problem(await stolen.get("/api/v1/me"), 401)

        assert (await browser.get("/api/v1/me")).status_code == 200
        assert_problem(await browser.patch("/api/v1/me", json={"name": "X"}), 403, "csrf-failed")
        browser.headers["X-CSRF-Token"] = result["csrf_token"]
        assert (await browser.patch("/api/v1/me", json={"name": "Ann L."})).status_code == 200

    async def test_exactly_one_session_is_left(self, session, browser, member, make_client):
        await sign_in(make_client(), "ann@example.com")
        await self.change(browser)
        live = await session.scalars(
            select(UserSession).where(UserSession.user_id == member.id, UserSession.revoked_at.is_(None))
        )
        assert len(live.all()) == 1
        listed = (await browser.get("/api/v1/me/sessions")).json()["items"]
        assert [item["current"] for item in listed] == [True]

    async def test_user_is_mailed_and_change_is_audited(self, session, browser, member):
        await self.change(browser)
        assert await templates_sent(session, "ann@example.com") == ["password_changed"]
        [entry] = await audit_records(session, "account.password_changed")
        assert entry.actor_id == member.id and entry.fields == ["password"]
        assert (entry.subject_type, entry.subject_id) == ("user", str(member.id))

    async def test_anonymous_caller_gets_401(self, client):
        assert_problem(await self.change(client), 401, "not-authenticated")


class TestCloseAccount:
    async def close(self, browser, password=PASSWORD):
        return await browser.request("DELETE", "/api/v1/me", json={"password": password})

    async def test_wrong_password_is_403_and_account_stays_open(self, session, browser, member):
        assert_problem(await self.close(browser, "not the password"), 403, "wrong-password")
        stored = await reload(session, member)
        assert (stored.status, stored.deletion_due_at) == (UserStatus.ACTIVE, None)
        assert (await browser.get("/api/v1/me")).status_code == 200

    async def test_password_is_required(self, session, browser, member):
        assert_problem(await browser.request("DELETE", "/api/v1/me", json={}), 422, "validation")
        assert (await reload(session, member)).status == UserStatus.ACTIVE

    async def test_closes_and_schedules_deletion_after_the_grace_period(
        self, session, browser, member, settings, clock
    ):
        before = clock.now()
        response = await self.close(browser)
        after = clock.now()
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["status"] == "closed"

        stored = await reload(session, member)
        assert stored.status == UserStatus.CLOSED
        assert before <= stored.closed_at <= after
        grace = timedelta(days=settings.account_deletion_grace_days)
        assert stored.deletion_due_at == stored.closed_at + grace
        assert datetime.fromisoformat(body["deletion_due_at"]) == stored.deletion_due_at

    async def test_every_session_ends(self, session, browser, member, make_client):
        laptop = make_client()
        await sign_in(laptop, "ann@example.com")
        old_cookie = browser.cookies["opm_session"]
        await self.close(browser)
        assert_problem(await laptop.get("/api/v1/me"), 401)
        stolen = make_client()
        stolen.cookies.set("opm_session", old_cookie)
        assert_problem(await stolen.get("/api/v1/me"), 401)
        live = await session.scalars(
            select(UserSession).where(UserSession.user_id == member.id, UserSession.revoked_at.is_(None))
        )
        assert live.all() == []

    async def test_personal_tokens_stop_working(self, session, browser, member, make_client):
        created = await browser.post("/api/v1/me/tokens", json={"name": "CRM", "scopes": ["profile:read"]})
        secret = created.json()["token"]
        await self.close(browser)
        api = make_client()
        response = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert_problem(response, 401, "not-authenticated")
        token = await session.get(PersonalAccessToken, UUID(created.json()["id"]), populate_existing=True)
        assert token.revoked_at is not None

    async def test_confirmation_is_mailed_and_closing_is_audited(self, session, browser, member):
        await self.close(browser)
        [message] = await mails(session, "ann@example.com")
        assert message.template == "account_closed"
        due = (await reload(session, member)).deletion_due_at.date().isoformat()
        assert due in message.text_body
        [entry] = await audit_records(session, "account.closed")
        assert entry.actor_id == member.id and entry.fields == ["status"]

    async def test_pending_email_change_link_stops_working(self, session, browser, member):
        await browser.post(
            "/api/v1/me/email", json={"new_email": "ann.lee@newco.example", "password": PASSWORD}
        )
        [confirm] = await mails(session, "ann.lee@newco.example")
        await self.close(browser)
        response = await browser.post("/api/v1/auth/verify-email", json={"token": link_token(confirm)})
        assert_problem(response, 403, "invalid-token")
        assert (await reload(session, member)).email == "ann@example.com"

    async def test_session_cookies_are_cleared(self, browser):
        response = await self.close(browser)
        cleared = [header for header in response.headers.get_list("set-cookie") if "Max-Age=0" in header]
        assert {header.split("=", 1)[0] for header in cleared} == {"opm_session", "opm_csrf"}

    async def test_anonymous_caller_gets_401(self, client):
        assert_problem(await self.close(client), 401, "not-authenticated")
