"""Signing up: registration, policy versions, email verification and what unverified users may do."""

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from opmaestro.accounts.models import User
from opmaestro.audit.models import AuditRecord
from opmaestro.notifications.models import OutboxMessage
from opmaestro.policies.models import PolicyAcceptance
from tests.factories import POLICY_VERSION, create_user, registration, sign_in
from tests.problems import assert_problem

REGISTER = "/api/v1/auth/register"
VERIFY = "/api/v1/auth/verify-email"
RESEND = "/api/v1/auth/verify-email/resend"
PROBLEM_JSON = "application/problem+json"


def error_fields(body: dict) -> set[str]:
    return {error["field"] for error in body["errors"]}


async def users(session, email: str | None = None) -> list[User]:
    query = select(User).execution_options(populate_existing=True)
    if email is not None:
        query = query.where(User.email == email)
    return list((await session.scalars(query)).all())


async def mails(session, to: str | None = None, template: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.created_at)
    if to is not None:
        query = query.where(OutboxMessage.to_address == to)
    if template is not None:
        query = query.where(OutboxMessage.template == template)
    return list((await session.scalars(query)).all())


def link_token(message: OutboxMessage) -> str:
    found = re.search(r"[?&]token=([A-Za-z0-9_-]+)", message.text_body)
    assert found, message.text_body
    return found.group(1)


async def verification_token(session, email: str = "ann@example.com") -> str:
    *_, newest = await mails(session, to=email, template="verify_email")
    return link_token(newest)


def on_clock(clock, when: datetime) -> None:
    """Pin the app's clock near `when` (it keeps ticking from there)."""
    clock.offset = when - datetime.now(UTC)


class TestRegister:
    async def test_new_account_is_stored_with_its_profile(self, client, session):
        response = await client.post(REGISTER, json=registration(email="Ann@Example.COM"))

        assert response.status_code == 202, response.text
        assert response.json() == {
            "status": "verification_sent",
            "detail": "If the address can be used, a verification link is on its way to it.",
        }
        [user] = await users(session)
        assert user.email == "ann@example.com"
        assert (user.name, user.company, user.job_title) == ("Ann Lee", "Acme Corp", "Head of Sales")
        assert (user.phone, user.country) == ("+14155550132", "US")
        assert user.role == "member" and user.status == "active"
        assert user.email_verified_at is None and user.age_attested_at is not None
        assert user.password_hash.startswith("$argon2id$")

    async def test_registering_does_not_sign_in(self, client):
        await client.post(REGISTER, json=registration())
        assert not client.cookies
        assert (await client.get("/api/v1/me")).status_code == 401

    async def test_policy_acceptances_are_recorded_with_version_and_time(self, client, session):
        before = datetime.now(UTC)
        await client.post(REGISTER, json=registration())
        after = datetime.now(UTC)

        [user] = await users(session)
        rows = (
            await session.scalars(select(PolicyAcceptance).where(PolicyAcceptance.user_id == user.id))
        ).all()
        assert sorted(row.kind for row in rows) == ["privacy", "terms", "us_transfer_notice"]
        for row in rows:
            assert row.version == POLICY_VERSION and row.method == "signup"
            assert before <= row.accepted_at <= after

    async def test_verification_link_is_written_to_the_outbox(self, client, session, settings):
        await client.post(REGISTER, json=registration())

        [message] = await mails(session)
        assert message.to_address == "ann@example.com" and message.template == "verify_email"
        assert message.status == "queued" and message.category == "service"
        assert f"{settings.public_base_url.rstrip('/')}/verify-email?token=" in message.text_body
        assert link_token(message) in message.html_body

    async def test_registration_is_audited_without_the_password(self, client, session):
        await client.post(REGISTER, json=registration())

        [user] = await users(session)
        [record] = (
            await session.scalars(select(AuditRecord).where(AuditRecord.subject_id == str(user.id)))
        ).all()
        assert record.action == "account.registered" and record.subject_type == "user"
        assert record.actor_id is None
        assert "email" in record.fields and "password" not in record.fields

    async def test_optional_fields_may_be_left_out(self, client, session):
        body = registration()
        for optional in ("company", "job_title", "phone"):
            del body[optional]
        assert (await client.post(REGISTER, json=body)).status_code == 202
        [user] = await users(session)
        assert (user.company, user.job_title, user.phone) == (None, None, None)

    @pytest.mark.parametrize(
        ("phone", "country", "stored"),
        [
            ("+44 20 7946 0958", "US", "+442079460958"),
            ("030 1234567", "DE", "+49301234567"),
            ("(415) 555-0132", "US", "+14155550132"),
        ],
    )
    async def test_phone_is_stored_in_e164(self, client, session, phone, country, stored):
        response = await client.post(REGISTER, json=registration(phone=phone, country=country))
        assert response.status_code == 202, response.text
        [user] = await users(session)
        assert user.phone == stored and user.country == country

    async def test_country_code_is_normalised_to_upper_case(self, client, session):
        assert (await client.post(REGISTER, json=registration(country="de", phone=None))).status_code == 202
        [user] = await users(session)
        assert user.country == "DE"

    async def test_adult_date_of_birth_is_accepted_on_the_eighteenth_birthday(self, client, session, clock):
        on_clock(clock, datetime(2026, 6, 15, 12, tzinfo=UTC))
        response = await client.post(REGISTER, json=registration(date_of_birth="2008-06-15"))
        assert response.status_code == 202, response.text
        [user] = await users(session)
        assert user.date_of_birth.isoformat() == "2008-06-15"


class TestRegisterValidation:
    async def test_under_18_is_refused_with_a_field_error_and_nothing_stored(self, client, session, clock):
        on_clock(clock, datetime(2026, 6, 15, 12, tzinfo=UTC))
        response = await client.post(REGISTER, json=registration(date_of_birth="2008-06-16"))

        body = assert_problem(response, 422, "validation")
        assert "date_of_birth" in error_fields(body)
        assert any("18 or older" in error["message"] for error in body["errors"])
        assert await users(session) == []
        assert await mails(session) == []

    @pytest.mark.parametrize("attestation", [False, "true", 1, None])
    async def test_age_attestation_must_be_a_true_boolean(self, client, session, attestation):
        response = await client.post(REGISTER, json=registration(confirms_age_18_or_over=attestation))
        body = assert_problem(response, 422, "validation")
        assert "confirms_age_18_or_over" in error_fields(body)
        assert await users(session) == []

    async def test_missing_age_attestation_is_refused(self, client, session):
        body = registration()
        del body["confirms_age_18_or_over"]
        problem = assert_problem(await client.post(REGISTER, json=body), 422, "validation")
        [error] = problem["errors"]
        assert (error["location"], error["field"], error["code"]) == (
            "body",
            "confirms_age_18_or_over",
            "missing",
        )
        assert await users(session) == []

    @pytest.mark.parametrize("phone", ["+1 555", "12345", "not a phone", "+44 20 7946 09581234"])
    async def test_invalid_phone_is_refused_on_the_phone_field(self, client, session, phone):
        body = assert_problem(await client.post(REGISTER, json=registration(phone=phone)), 422, "validation")
        assert error_fields(body) == {"phone"}
        assert await users(session) == []

    @pytest.mark.parametrize("country", ["XX", "USA", "", "U1"])
    async def test_invalid_country_is_refused(self, client, session, country):
        body = assert_problem(
            await client.post(REGISTER, json=registration(country=country)), 422, "validation"
        )
        assert "country" in error_fields(body)
        assert await users(session) == []

    @pytest.mark.parametrize(
        ("password", "message"),
        [
            ("x7!k" * 2 + "abc", "at least 12"),
            ("password1234", "too common"),
            ("abababababababab", "too common"),
            ("Zz9!" * 32 + "x", "at most 128"),
        ],
        ids=["11-chars", "common", "repetitive", "129-chars"],
    )
    async def test_weak_or_overlong_password_is_refused(self, client, session, password, message):
        body = assert_problem(
            await client.post(REGISTER, json=registration(password=password)), 422, "validation"
        )
        [error] = body["errors"]
        assert error["field"] == "password"
        assert message in error["message"]
        assert password not in repr(body)
        assert await users(session) == []

    @pytest.mark.parametrize("length", [12, 128])
    async def test_password_length_limits_are_inclusive(self, client, length):
        password = ("Zq8!vR3#mW5&" * 11)[:length]
        response = await client.post(REGISTER, json=registration(password=password))
        assert response.status_code == 202, response.text

    @pytest.mark.parametrize(
        ("field", "kind", "detail"),
        [
            ("accepted_terms_version", "terms", "The terms of service have"),
            ("accepted_privacy_version", "privacy", "The privacy policy has"),
            (
                "acknowledged_us_transfer_notice_version",
                "us_transfer_notice",
                "The notice on transfers to the US has",
            ),
        ],
    )
    async def test_stale_policy_version_names_the_current_one(self, client, session, field, kind, detail):
        response = await client.post(REGISTER, json=registration(**{field: "2025-06"}))

        body = assert_problem(response, 409, "policy-version-mismatch")
        assert body["kind"] == kind and body["current_version"] == POLICY_VERSION
        assert body["detail"] == f"{detail} changed; read the current version."
        assert await users(session) == []
        assert await mails(session) == []

    async def test_missing_policy_version_is_a_validation_error(self, client, session):
        body = registration()
        del body["accepted_privacy_version"]
        problem = assert_problem(await client.post(REGISTER, json=body), 422, "validation")
        assert error_fields(problem) == {"accepted_privacy_version"}

    async def test_unknown_field_is_refused(self, client, session):
        response = await client.post(REGISTER, json=registration(role="admin"))
        body = assert_problem(response, 422, "validation")
        assert error_fields(body) == {"role"}
        assert await users(session) == []

    async def test_invalid_email_is_refused(self, client, session):
        body = assert_problem(
            await client.post(REGISTER, json=registration(email="ann@example")), 422, "validation"
        )
        assert error_fields(body) == {"email"}

    async def test_malformed_json_is_a_bad_request(self, client, session):
        response = await client.post(
            REGISTER, content=b'{"name": "Ann", ', headers={"content-type": "application/json"}
        )
        assert_problem(response, 400, "malformed-json")
        assert await users(session) == []

    async def test_body_that_is_not_an_object_is_refused(self, client):
        assert_problem(await client.post(REGISTER, json=[registration()]), 422, "validation")

    async def test_body_over_one_mebibyte_is_refused(self, client, session):
        response = await client.post(REGISTER, json=registration(name="x" * (1024 * 1024)))
        assert_problem(response, 413)
        assert await users(session) == []


class TestRegisterExistingAddress:
    async def test_answer_is_the_same_as_for_a_new_address(self, client, session):
        fresh = await client.post(REGISTER, json=registration(email="new@example.com"))
        await create_user(session, "ann@example.com")
        taken = await client.post(REGISTER, json=registration(email="ANN@example.com", name="Someone Else"))

        assert taken.status_code == fresh.status_code == 202
        assert taken.json() == fresh.json()
        assert taken.headers["content-type"] == fresh.headers["content-type"]
        assert "set-cookie" not in taken.headers

    async def test_owner_is_told_and_no_second_account_is_made(self, client, session, settings):
        owner = await create_user(session, "ann@example.com", name="Ann Original")
        await client.post(REGISTER, json=registration(name="Someone Else"))

        [user] = await users(session, "ann@example.com")
        assert user.id == owner.id and user.name == "Ann Original"
        assert await session.scalar(select(func.count()).select_from(User)) == 1
        [message] = await mails(session, to="ann@example.com")
        assert message.template == "account_exists"
        assert "Ann Original" in message.text_body and "Someone Else" not in message.text_body
        assert "tried to create an OpMaestro account" in message.text_body
        assert f"{settings.public_base_url}/forgot-password" in message.text_body
        assert (
            await session.scalar(
                select(func.count()).select_from(PolicyAcceptance).where(PolicyAcceptance.user_id == owner.id)
            )
            == 0
        )

    async def test_the_original_password_still_works(self, client, session):
        await create_user(session, "ann@example.com")
        await client.post(REGISTER, json=registration(password="a different long password"))
        response = await client.post(
            "/api/v1/auth/login", json={"email": "ann@example.com", "password": "a different long password"}
        )
        assert_problem(response, 401, "invalid-credentials")
        await sign_in(client, "ann@example.com")


class TestPolicies:
    @pytest.mark.parametrize("kind", ["terms", "privacy", "us_transfer_notice"])
    async def test_current_version_is_published(self, client, kind):
        response = await client.get(f"/api/v1/policies/{kind}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["kind"] == kind and body["version"] == POLICY_VERSION
        assert body["title"] and body["body"] and len(body["sha256"]) == 64
        assert body["effective_at"].startswith("2026-01-01")

    async def test_published_version_is_the_one_registration_accepts(self, client):
        versions = {
            kind: (await client.get(f"/api/v1/policies/{kind}")).json()["version"]
            for kind in ("terms", "privacy", "us_transfer_notice")
        }
        body = registration(
            accepted_terms_version=versions["terms"],
            accepted_privacy_version=versions["privacy"],
            acknowledged_us_transfer_notice_version=versions["us_transfer_notice"],
        )
        assert (await client.post(REGISTER, json=body)).status_code == 202

    async def test_unknown_kind_is_a_problem(self, client):
        response = await client.get("/api/v1/policies/cookies")
        assert response.status_code in (404, 422), response.text
        assert response.headers["content-type"] == PROBLEM_JSON


class TestVerifyEmail:
    async def test_link_verifies_the_address(self, client, session):
        await client.post(REGISTER, json=registration())
        response = await client.post(VERIFY, json={"token": await verification_token(session)})

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["email"] == "ann@example.com" and body["email_verified"] is True
        assert "password_hash" not in body
        [user] = await users(session)
        assert user.email_verified_at is not None
        actions = (
            await session.scalars(select(AuditRecord.action).where(AuditRecord.subject_id == str(user.id)))
        ).all()
        assert "account.email_verified" in actions

    async def test_link_works_only_once(self, client, session):
        await client.post(REGISTER, json=registration())
        token = await verification_token(session)
        assert (await client.post(VERIFY, json={"token": token})).status_code == 200

        assert_problem(await client.post(VERIFY, json={"token": token}), 403, "invalid-token")

    async def test_link_works_for_24_hours(self, client, session, clock):
        await client.post(REGISTER, json=registration())
        token = await verification_token(session)
        clock.advance(hours=23)
        assert (await client.post(VERIFY, json={"token": token})).status_code == 200

    async def test_link_expires_after_24_hours(self, client, session, clock):
        await client.post(REGISTER, json=registration())
        token = await verification_token(session)
        clock.advance(hours=25)

        assert_problem(await client.post(VERIFY, json={"token": token}), 403, "invalid-token")
        [user] = await users(session)
        assert user.email_verified_at is None

    @pytest.mark.parametrize("token", ["x" * 43, "not-a-real-token-at-all", "../../etc/passwd"])
    async def test_unknown_token_is_refused(self, client, session, token):
        await client.post(REGISTER, json=registration())
        assert_problem(await client.post(VERIFY, json={"token": token}), 403, "invalid-token")
        [user] = await users(session)
        assert user.email_verified_at is None

    @pytest.mark.parametrize("body", [{}, {"token": "short"}, {"token": "t" * 201}, {"token": 12345678901}])
    async def test_malformed_token_is_a_validation_error(self, client, body):
        assert_problem(await client.post(VERIFY, json=body), 422, "validation")

    async def test_unknown_field_and_malformed_json_are_refused(self, client):
        assert_problem(
            await client.post(VERIFY, json={"token": "x" * 43, "email": "a@b.co"}), 422, "validation"
        )
        response = await client.post(VERIFY, content=b"{token}", headers={"content-type": "application/json"})
        assert_problem(response, 400, "malformed-json")

    async def test_a_password_reset_link_does_not_verify(self, client, session, run_jobs):
        await client.post(REGISTER, json=registration())
        await client.post("/api/v1/auth/password/forgot", json={"email": "ann@example.com"})
        await run_jobs()
        [reset] = await mails(session, template="reset_password")

        assert_problem(await client.post(VERIFY, json={"token": link_token(reset)}), 403, "invalid-token")
        [user] = await users(session)
        assert user.email_verified_at is None


class TestResendVerification:
    async def test_unverified_user_gets_a_new_link_and_the_old_one_stops_working(self, client, session):
        await client.post(REGISTER, json=registration())
        first = await verification_token(session)

        response = await client.post(RESEND, json={"email": "ANN@example.com"})

        assert response.status_code == 202, response.text
        assert response.json()["status"] == "accepted"
        second = await verification_token(session)
        assert second != first
        assert_problem(await client.post(VERIFY, json={"token": first}), 403, "invalid-token")
        assert (await client.post(VERIFY, json={"token": second})).status_code == 200

    async def test_resent_link_has_a_fresh_24_hours(self, client, session, clock):
        await client.post(REGISTER, json=registration())
        clock.advance(hours=20)
        await client.post(RESEND, json={"email": "ann@example.com"})
        clock.advance(hours=20)
        assert (
            await client.post(VERIFY, json={"token": await verification_token(session)})
        ).status_code == 200

    async def test_answer_reveals_nothing_and_only_unverified_accounts_are_mailed(self, client, session):
        await create_user(session, "verified@example.com")
        await create_user(session, "pending@example.com", verified=False)
        await create_user(session, "closed@example.com", verified=False, status="closed")

        answers = [
            await client.post(RESEND, json={"email": email})
            for email in (
                "nobody@example.com",
                "verified@example.com",
                "closed@example.com",
                "pending@example.com",
            )
        ]

        assert {response.status_code for response in answers} == {202}
        assert len({response.text for response in answers}) == 1
        [message] = await mails(session)
        assert (message.to_address, message.template) == ("pending@example.com", "verify_email")

    async def test_malformed_bodies_are_refused(self, client, session):
        assert_problem(await client.post(RESEND, json={"email": "nope"}), 422, "validation")
        assert_problem(await client.post(RESEND, json={"email": "a@example.com", "x": 1}), 422, "validation")
        response = await client.post(RESEND, content=b"{", headers={"content-type": "application/json"})
        assert_problem(response, 400, "malformed-json")
        assert await mails(session) == []


class TestUnverifiedUser:
    async def test_can_sign_in_and_read_the_profile(self, client, session):
        await client.post(REGISTER, json=registration())
        await sign_in(client, "ann@example.com")

        response = await client.get("/api/v1/me")
        assert response.status_code == 200
        assert response.json()["email_verified"] is False

    async def test_cannot_create_an_api_token_until_verified(self, client, session):
        await client.post(REGISTER, json=registration())
        token = await verification_token(session)
        await sign_in(client, "ann@example.com")
        body = {"name": "CRM sync", "scopes": ["profile:read"]}

        assert_problem(await client.post("/api/v1/me/tokens", json=body), 403, "email-not-verified")

        assert (await client.post(VERIFY, json={"token": token})).status_code == 200
        assert (await client.post("/api/v1/me/tokens", json=body)).status_code == 201
