"""Two-factor authentication: staff must enrol before anything else, then sign in with a code;
members may turn it on and off."""

from datetime import timedelta

import httpx
import pyotp
import pytest
from sqlalchemy import select

from opmaestro.accounts.models import RecoveryCode, Role
from opmaestro.audit.models import AuditRecord
from opmaestro.core.clock import utcnow
from opmaestro.notifications.models import OutboxMessage
from tests.factories import PASSWORD, create_user, sign_in
from tests.problems import assert_problem as problem_of

LOGIN = "/api/v1/auth/login"
ENROL = "/api/v1/me/mfa/totp"
CONFIRM = "/api/v1/me/mfa/totp/confirm"
DISABLE = "/api/v1/me/mfa/totp"
USERS = "/api/v1/admin/users?reason=checking%20a%20ticket"
STAFF_ROLES = [Role.SUPPORT, Role.PRIVACY_OFFICER, Role.ADMIN]


async def outbox(session, to: str, template: str) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.to_address == to, OutboxMessage.template == template)
    return list((await session.scalars(query)).all())


async def audits(session, action: str) -> list[AuditRecord]:
    return list((await session.scalars(select(AuditRecord).where(AuditRecord.action == action))).all())


def wrong_code(secret: str) -> str:
    """A six-digit code that none of the accepted time steps would produce."""
    totp, now = pyotp.TOTP(secret), utcnow()
    accepted = {totp.at(now + timedelta(seconds=step * 30)) for step in (-2, -1, 0, 1, 2)}
    return next(code for code in (f"{n:06d}" for n in range(1_000_000)) if code not in accepted)


async def enrol(client: httpx.AsyncClient) -> tuple[str, list[str]]:
    """Turn two-factor on for the signed-in user; returns the secret and the recovery codes."""
    started = await client.post(ENROL)
    assert started.status_code == 200, started.text
    secret: str = started.json()["secret"]
    confirmed = await client.post(CONFIRM, json={"code": pyotp.TOTP(secret).at(utcnow())})
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]


async def login(client: httpx.AsyncClient, email: str, otp: str | None = None) -> httpx.Response:
    body = {"email": email, "password": PASSWORD} | ({"otp": otp} if otp is not None else {})
    return await client.post(LOGIN, json=body)


class TestStaffWithoutTwoFactor:
    @pytest.mark.parametrize("role", STAFF_ROLES)
    async def test_can_sign_in_and_read_their_profile_but_nothing_else(self, client, session, role):
        staff = await create_user(session, "staff@example.com", role=role)
        await sign_in(client, staff.email)

        me = await client.get("/api/v1/me")
        assert me.status_code == 200, me.text
        assert me.json()["mfa_enabled"] is False
        body = problem_of(await client.get(USERS), 403, "mfa-enrollment-required")
        assert "two-factor" in body["detail"]

    async def test_an_admin_cannot_manage_clients_before_enrolling(self, client, session):
        admin = await create_user(session, "admin@example.com", role=Role.ADMIN)
        await sign_in(client, admin.email)

        problem_of(await client.get("/api/v1/admin/oauth-clients"), 403, "mfa-enrollment-required")


class TestEnrollment:
    async def test_start_returns_a_secret_and_an_otpauth_uri_for_the_account(self, client, session):
        staff = await create_user(session, "support@example.com", role=Role.SUPPORT)
        await sign_in(client, staff.email)

        response = await client.post(ENROL)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["otpauth_uri"].startswith("otpauth://totp/")
        parsed = pyotp.parse_uri(body["otpauth_uri"])
        assert parsed.secret == body["secret"]
        assert parsed.issuer == "OpMaestro"
        assert parsed.name == "support@example.com"

    async def test_confirming_with_a_current_code_turns_it_on_and_opens_staff_pages(self, client, session):
        staff = await create_user(session, "support@example.com", role=Role.SUPPORT)
        await sign_in(client, staff.email)

        _, codes = await enrol(client)

        assert len(codes) == 10 and len(set(codes)) == 10
        assert (await client.get("/api/v1/me")).json()["mfa_enabled"] is True
        assert (await client.get(USERS)).status_code == 200
        stored = (await session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == staff.id))).all()
        assert len(stored) == 10
        assert not set(codes) & {row.code_hash for row in stored}

    async def test_a_wrong_code_leaves_two_factor_off(self, client, session):
        staff = await create_user(session, "support@example.com", role=Role.SUPPORT)
        await sign_in(client, staff.email)
        secret = (await client.post(ENROL)).json()["secret"]

        response = await client.post(CONFIRM, json={"code": wrong_code(secret)})

        problem_of(response, 400, "invalid-otp")
        assert (await client.get("/api/v1/me")).json()["mfa_enabled"] is False
        problem_of(await client.get(USERS), 403, "mfa-enrollment-required")

    @pytest.mark.parametrize("code", ["abcdef", "12345", "123456789"])
    async def test_a_code_that_is_not_six_to_eight_digits_is_invalid_input(self, client, session, code):
        staff = await create_user(session, "support@example.com", role=Role.SUPPORT)
        await sign_in(client, staff.email)
        await client.post(ENROL)

        problem_of(await client.post(CONFIRM, json={"code": code}), 422, "validation")

    async def test_confirming_before_starting_is_refused(self, client, session):
        staff = await create_user(session, "support@example.com", role=Role.SUPPORT)
        await sign_in(client, staff.email)

        problem_of(await client.post(CONFIRM, json={"code": "123456"}), 409, "mfa-not-started")

    async def test_enrolling_twice_is_a_conflict(self, client, session):
        staff = await create_user(session, "support@example.com", role=Role.SUPPORT)
        await sign_in(client, staff.email)
        secret, _ = await enrol(client)

        problem_of(await client.post(ENROL), 409, "mfa-already-enabled")
        again = await client.post(CONFIRM, json={"code": pyotp.TOTP(secret).now()})
        problem_of(again, 409, "mfa-already-enabled")

    async def test_a_session_signed_in_before_enrolment_gets_no_staff_access(self, make_client, session):
        """Enrolling in one browser must not upgrade another password-only session."""
        staff = await create_user(session, "support@example.com", role=Role.SUPPORT)
        password_only, enrolling = make_client(), make_client()
        await sign_in(password_only, staff.email)
        await sign_in(enrolling, staff.email)

        await enrol(enrolling)

        assert (await enrolling.get(USERS)).status_code == 200
        assert (await password_only.get(USERS)).status_code in (401, 403)


class TestSignInWithTwoFactor:
    @pytest.fixture
    async def staff(self, session):
        secret = pyotp.random_base32()
        user = await create_user(session, "officer@example.com", role=Role.PRIVACY_OFFICER, mfa_secret=secret)
        return user, secret

    async def test_without_a_code_the_code_is_asked_for_and_no_session_starts(self, client, staff):
        user, _ = staff

        response = await login(client, user.email)

        problem_of(response, 401, "mfa-required")
        assert "set-cookie" not in response.headers
        problem_of(await client.get("/api/v1/me"), 401, "not-authenticated")

    async def test_a_wrong_code_is_refused(self, client, staff):
        user, secret = staff

        response = await login(client, user.email, wrong_code(secret))

        problem_of(response, 401, "invalid-credentials")
        assert "set-cookie" not in response.headers

    async def test_the_current_code_signs_in_with_staff_access(self, client, staff):
        user, secret = staff

        response = await login(client, user.email, pyotp.TOTP(secret).now())

        assert response.status_code == 200, response.text
        assert response.json()["user"]["mfa_enabled"] is True
        assert (await client.get(USERS)).status_code == 200

    async def test_a_wrong_password_with_a_right_code_is_refused(self, client, staff):
        user, secret = staff

        response = await client.post(
            LOGIN,
            json={"email": user.email, "password": "wrong " + PASSWORD, "otp": pyotp.TOTP(secret).now()},
        )

        problem_of(response, 401, "invalid-credentials")

    async def test_a_recovery_code_works_once(self, make_client, session):
        staff = await create_user(session, "support@example.com", role=Role.SUPPORT)
        enrolling = make_client()
        await sign_in(enrolling, staff.email)
        _, codes = await enrol(enrolling)

        first = await login(make_client(), staff.email, codes[0])
        replayed = await login(make_client(), staff.email, codes[0])
        another = await login(make_client(), staff.email, codes[1].upper())

        assert first.status_code == 200, first.text
        problem_of(replayed, 401, "invalid-credentials")
        assert another.status_code == 200, another.text

    async def test_members_are_not_asked_for_a_code(self, client, session):
        member = await create_user(session)

        response = await login(client, member.email)

        assert response.status_code == 200, response.text
        assert (await client.get("/api/v1/me")).status_code == 200

    async def test_members_who_turned_it_on_are_asked_for_a_code(self, client, make_client, session):
        member = await create_user(session, "careful@example.com")
        enrolling = make_client()
        await sign_in(enrolling, member.email)
        secret, _ = await enrol(enrolling)

        problem_of(await login(client, member.email), 401, "mfa-required")
        assert (await login(client, member.email, wrong_code(secret))).status_code == 401


class TestCodeReplay:
    """RFC 6238 §5.2: a code that was accepted once is refused afterwards."""

    async def test_a_code_used_to_sign_in_cannot_sign_in_again(self, make_client, session, clock):
        secret = pyotp.random_base32()
        staff = await create_user(
            session, "officer@example.com", role=Role.PRIVACY_OFFICER, mfa_secret=secret
        )
        code = pyotp.TOTP(secret).at(utcnow())

        first = await login(make_client(), staff.email, code)
        replayed = await login(make_client(), staff.email, code)
        clock.advance(seconds=30)
        next_step = await login(make_client(), staff.email, pyotp.TOTP(secret).at(utcnow()))

        assert first.status_code == 200, first.text
        problem_of(replayed, 401, "invalid-credentials")
        assert next_step.status_code == 200, next_step.text

    async def test_an_older_code_is_refused_once_a_newer_one_was_used(self, make_client, session, clock):
        secret = pyotp.random_base32()
        staff = await create_user(
            session, "officer@example.com", role=Role.PRIVACY_OFFICER, mfa_secret=secret
        )
        totp = pyotp.TOTP(secret)
        newer, older = totp.at(utcnow()), totp.at(utcnow() - timedelta(seconds=30))

        assert (await login(make_client(), staff.email, newer)).status_code == 200
        problem_of(await login(make_client(), staff.email, older), 401, "invalid-credentials")

    async def test_the_enrolment_code_cannot_be_replayed_to_sign_in(self, make_client, session):
        staff = await create_user(session, "support@example.com", role=Role.SUPPORT)
        enrolling = make_client()
        await sign_in(enrolling, staff.email)
        started = await enrolling.post(ENROL)
        secret = started.json()["secret"]
        code = pyotp.TOTP(secret).at(utcnow())
        assert (await enrolling.post(CONFIRM, json={"code": code})).status_code == 200

        problem_of(await login(make_client(), staff.email, code), 401, "invalid-credentials")


class TestMembersTurningTwoFactorOff:
    """Members may turn two-factor on, and off again with their password and a code; staff may not."""

    @pytest.fixture
    async def member(self, client, session):
        member = await create_user(session, "member@example.com")
        await sign_in(client, member.email)
        return member

    @staticmethod
    def next_code(secret: str, clock) -> str:
        """A code of the next time step: the one that turned two-factor on cannot be used again."""
        clock.advance(seconds=30)
        return pyotp.TOTP(secret).at(utcnow())

    async def test_with_the_password_and_a_code_it_is_off_and_sign_in_needs_no_code(
        self, client, make_client, session, member, clock
    ):
        secret, _ = await enrol(client)
        problem_of(await login(make_client(), member.email), 401, "mfa-required")

        response = await client.request(
            "DELETE", DISABLE, json={"password": PASSWORD, "code": self.next_code(secret, clock)}
        )

        assert response.status_code == 204, response.text
        assert (await client.get("/api/v1/me")).json()["mfa_enabled"] is False
        assert (await login(make_client(), member.email)).status_code == 200
        codes = await session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == member.id))
        assert codes.all() == []
        await session.refresh(member)
        assert (member.mfa_secret, member.mfa_enabled_at) == (None, None)
        [mail] = await outbox(session, member.email, "mfa_disabled")
        assert "turned off" in mail.subject
        [record] = await audits(session, "account.mfa_disabled")
        assert record.subject_id == str(member.id)

    async def test_a_recovery_code_does_instead_of_an_app_code(self, client, member):
        _, recovery_codes = await enrol(client)

        response = await client.request(
            "DELETE", DISABLE, json={"password": PASSWORD, "code": recovery_codes[0].upper()}
        )

        assert response.status_code == 204, response.text
        assert (await client.get("/api/v1/me")).json()["mfa_enabled"] is False

    @pytest.mark.parametrize(
        ("wrong", "status", "slug"), [("password", 403, "wrong-password"), ("code", 400, "invalid-otp")]
    )
    async def test_a_wrong_password_or_code_leaves_it_on_and_changes_nothing(
        self, client, session, member, clock, wrong, status, slug
    ):
        secret, _ = await enrol(client)
        body = {"password": PASSWORD, "code": self.next_code(secret, clock)}
        body[wrong] = "not the right password" if wrong == "password" else wrong_code(secret)

        problem_of(await client.request("DELETE", DISABLE, json=body), status, slug)

        assert (await client.get("/api/v1/me")).json()["mfa_enabled"] is True
        codes = await session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == member.id))
        assert len(codes.all()) == 10
        assert await outbox(session, member.email, "mfa_disabled") == []

    async def test_it_must_be_on_to_be_turned_off(self, client, member):
        response = await client.request("DELETE", DISABLE, json={"password": PASSWORD, "code": "123456"})

        problem_of(response, 409, "mfa-not-enabled")

    @pytest.mark.parametrize("role", STAFF_ROLES)
    async def test_staff_must_keep_it(self, client, session, clock, role):
        secret = pyotp.random_base32()
        staff = await create_user(session, "staff@example.com", role=role, mfa_secret=secret)
        await sign_in(client, staff.email, otp_secret=secret)

        response = await client.request(
            "DELETE", DISABLE, json={"password": PASSWORD, "code": self.next_code(secret, clock)}
        )

        problem_of(response, 409, "mfa-required-for-staff")
        assert (await client.get("/api/v1/me")).json()["mfa_enabled"] is True

    @pytest.mark.parametrize(
        "body",
        [
            {"password": PASSWORD},
            {"code": "123456"},
            {"password": PASSWORD, "code": "12345"},
            {"password": PASSWORD, "code": "1" * 21},
            {"password": PASSWORD, "code": "123456", "also": "this"},
        ],
    )
    async def test_malformed_bodies_are_invalid_input(self, client, member, body):
        await enrol(client)

        problem_of(await client.request("DELETE", DISABLE, json=body), 422, "validation")
        assert (await client.get("/api/v1/me")).json()["mfa_enabled"] is True

    async def test_a_personal_access_token_cannot_turn_it_off(self, client, make_client, member, clock):
        secret, _ = await enrol(client)
        created = await client.post("/api/v1/me/tokens", json={"name": "CRM", "scopes": ["profile:write"]})
        assert created.status_code == 201, created.text
        program = make_client()
        program.headers["Authorization"] = f"Bearer {created.json()['token']}"

        response = await program.request(
            "DELETE", DISABLE, json={"password": PASSWORD, "code": self.next_code(secret, clock)}
        )

        problem_of(response, 403)
        assert (await client.get("/api/v1/me")).json()["mfa_enabled"] is True

    async def test_without_the_csrf_header_it_is_refused(self, client, member, clock):
        secret, _ = await enrol(client)
        del client.headers["X-CSRF-Token"]

        response = await client.request(
            "DELETE", DISABLE, json={"password": PASSWORD, "code": self.next_code(secret, clock)}
        )

        problem_of(response, 403, "csrf-failed")


class TestTurningItOnNeedsTheOwner:
    """A browser left signed in must not be able to lock its owner out: turning two-factor on
    needs the password entered recently in that browser, and the owner is told."""

    @pytest.fixture
    async def member(self, client, session):
        member = await create_user(session, "member@example.com")
        await sign_in(client, member.email)
        return member

    async def test_a_sign_in_twelve_minutes_ago_cannot_start_it(self, client, make_client, member, clock):
        clock.advance(minutes=12)

        body = problem_of(await client.post(ENROL), 403, "reauthentication-required")

        assert body["reauthenticate"] == "/api/v1/me/reauthenticate"
        assert (await login(make_client(), member.email)).status_code == 200

    async def test_a_sign_in_twelve_minutes_ago_cannot_confirm_it(
        self, client, make_client, session, member, clock
    ):
        secret = (await client.post(ENROL)).json()["secret"]
        clock.advance(minutes=12)

        response = await client.post(CONFIRM, json={"code": pyotp.TOTP(secret).at(utcnow())})

        problem_of(response, 403, "reauthentication-required")
        assert (await client.get("/api/v1/me")).json()["mfa_enabled"] is False
        assert (await login(make_client(), member.email)).status_code == 200
        assert await outbox(session, member.email, "mfa_enabled") == []

    async def test_entering_the_password_again_allows_it(self, client, member, clock):
        clock.advance(minutes=12)
        again = await client.post("/api/v1/me/reauthenticate", json={"password": PASSWORD})
        assert again.status_code == 204, again.text

        await enrol(client)

        assert (await client.get("/api/v1/me")).json()["mfa_enabled"] is True

    async def test_the_owner_is_emailed_and_it_is_audited(self, client, session, member):
        await enrol(client)

        [mail] = await outbox(session, member.email, "mfa_enabled")
        assert mail.subject == "Two-factor authentication was turned on"
        assert "turned on for your OpMaestro account on " in mail.text_body
        assert "UTC" in mail.text_body
        assert "If it was not you" in mail.text_body and "support" in mail.text_body
        [record] = await audits(session, "account.mfa_enabled")
        assert record.subject_id == str(member.id)

    async def test_the_other_sessions_are_signed_out_and_this_one_stays(
        self, client, make_client, session, member
    ):
        elsewhere = make_client()
        await sign_in(elsewhere, member.email)

        await enrol(client)

        problem_of(await elsewhere.get("/api/v1/me"), 401, "not-authenticated")
        assert (await client.get("/api/v1/me")).status_code == 200
        [mail] = await outbox(session, member.email, "mfa_enabled")
        assert "1 other signed-in session was signed out" in mail.text_body
        revoked = await audits(session, "session.revoked")
        assert [record.reason for record in revoked] == ["two-factor turned on"]
