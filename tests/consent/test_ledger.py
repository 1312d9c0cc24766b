"""The consent ledger: current state, history, hash chain, append-only rows and serialized writers."""

import asyncio
import base64
import hashlib
import itertools
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select, update

from opmaestro.accounts.models import Role
from opmaestro.audit.models import AuditRecord
from opmaestro.consent import ledger as consent
from opmaestro.consent.models import (
    AppendOnlyError,
    CollectionMethod,
    ConsentAction,
    ConsentChainHead,
    ConsentEvent,
    ConsentPurpose,
    ConsentState,
)
from opmaestro.core import jobs
from opmaestro.core.db import unit_of_work
from opmaestro.main import create_app
from opmaestro.policies.models import PolicyVersion
from tests.consent.helpers import SEEDED, bearer, consents_by_key, create_token, put_consent, sign_in_staff
from tests.databases import statements_on
from tests.factories import create_user, registration, sign_in
from tests.problems import assert_problem

LONG_AGENT = "Mozilla/5.0 " + "x" * 400


@pytest.fixture
async def ann(session):
    return await create_user(session, "ann@example.com", name="Ann Lee", country="DE")


@pytest.fixture
async def browser(client, ann):
    await sign_in(client, ann.email)
    return client


async def events_of(session, user_id) -> list[ConsentEvent]:
    query = select(ConsentEvent).where(ConsentEvent.subject_user_id == user_id).order_by(ConsentEvent.seq)
    return list((await session.scalars(query.execution_options(populate_existing=True))).all())


def cursor_of(raw: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


class TestCurrentConsents:
    async def test_every_purpose_starts_unanswered(self, browser):
        mine = await consents_by_key(browser)
        assert list(mine) == SEEDED
        assert all(
            (item["granted"], item["since"], item["method"], item["renewal_needed"])
            == (None, None, None, False)
            for item in mine.values()
        )

    async def test_grant_then_withdraw(self, browser):
        granted = await put_consent(browser, "analytics", True)
        assert (granted["granted"], granted["method"]) == (True, "settings")
        withdrawn = await put_consent(browser, "analytics", False)
        assert withdrawn["granted"] is False
        mine = await consents_by_key(browser)
        assert mine["analytics"]["granted"] is False and mine["analytics"]["since"] is not None
        actions = [e["action"] for e in (await browser.get("/api/v1/me/consents/events")).json()["items"]]
        assert actions == ["withdrawn", "granted"]

    async def test_refusing_what_was_never_granted_is_denied(self, browser):
        await put_consent(browser, "personalization", False)
        await put_consent(browser, "personalization", False)
        actions = [e["action"] for e in (await browser.get("/api/v1/me/consents/events")).json()["items"]]
        assert actions == ["denied", "denied"]

    async def test_reads_the_state_rows_never_the_history(self, session, browser):
        await put_consent(browser, "analytics", True)
        with statements_on(session) as seen:
            await consents_by_key(browser)
        consent_queries = [s for s in seen if "consent_" in s]
        assert consent_queries and all("consent_state" in s for s in consent_queries)
        assert not [s for s in seen if "consent_event" in s]

    async def test_is_granted_is_a_point_lookup(self, session, browser, ann):
        await put_consent(browser, "marketing_email", True)
        with statements_on(session) as seen:
            assert await consent.is_granted(session, ann.id, "marketing_email")
        [query] = [s for s in seen if s.startswith("SELECT")]
        assert "consent_state" in query and "consent_event" not in query
        assert not await consent.is_granted(session, ann.id, "analytics")

    async def test_state_follows_the_last_event(self, session, browser, ann):
        for granted in (True, False, True):
            await put_consent(browser, "marketing_email", granted)
        state = await session.scalar(select(ConsentState).where(ConsentState.user_id == ann.id))
        last = (await events_of(session, ann.id))[-1]
        assert (state.event_id, state.action, state.granted) == (last.id, "granted", True)


class TestChangeConsent:
    async def test_event_records_the_evidence(self, session, browser, ann):
        await browser.put(
            "/api/v1/me/consents/marketing_email",
            json={"granted": True},
            headers={"User-Agent": LONG_AGENT},
        )
        [entry] = await events_of(session, ann.id)
        policy = await session.scalar(select(PolicyVersion).where(PolicyVersion.kind == "privacy"))
        assert (entry.purpose_key, entry.purpose_version, entry.action, entry.method) == (
            "marketing_email",
            1,
            "granted",
            "settings",
        )
        assert (entry.policy_version, entry.policy_sha256) == (policy.version, policy.sha256)
        assert entry.policy_sha256 == hashlib.sha256(policy.body.encode()).hexdigest()
        assert entry.jurisdiction == "DE"
        assert entry.user_agent == LONG_AGENT[:300]
        assert entry.ip_address == "127.0.0.0"  # the ASGI test client's 127.0.0.1, truncated
        assert (entry.actor_id, entry.actor_kind) == (ann.id, "subject")
        assert entry.prev_hash == "0" * 64 and entry.hash == consent.event_hash(entry)
        [audited] = (
            await session.scalars(select(AuditRecord).where(AuditRecord.action == "consent.recorded"))
        ).all()
        assert audited.subject_id == str(entry.id) and audited.fields == ["marketing_email"]
        assert (audited.actor_id, audited.actor_kind) == (ann.id, "user")

    async def test_token_with_consent_write_records_method_api(self, session, browser, ann, make_client):
        token = await create_token(browser, "consent:read", "consent:write")
        api = make_client()
        changed = await put_consent(api, "analytics", True, headers=bearer(token))
        assert changed["method"] == "api"
        mine = await consents_by_key(api, headers=bearer(token))
        assert mine["analytics"]["granted"] is True

    async def test_read_scope_cannot_write_and_write_scope_cannot_read(self, browser, make_client):
        reader, writer = (
            await create_token(browser, "consent:read"),
            await create_token(browser, "consent:write"),
        )
        api = make_client()
        response = await api.put(
            "/api/v1/me/consents/analytics", json={"granted": True}, headers=bearer(reader)
        )
        assert "consent:write" in assert_problem(response, 403, "insufficient-scope")["detail"]
        for path in ("/api/v1/me/consents", "/api/v1/me/consents/events"):
            assert_problem(await api.get(path, headers=bearer(writer)), 403, "insufficient-scope")
        profile_only = await create_token(browser, "profile:read")
        assert_problem(await api.get("/api/v1/me/consents", headers=bearer(profile_only)), 403)

    async def test_anonymous_is_401(self, client):
        assert_problem(await client.get("/api/v1/me/consents"), 401, "not-authenticated")
        response = await client.put("/api/v1/me/consents/analytics", json={"granted": True})
        assert_problem(response, 401, "not-authenticated")

    async def test_needs_the_csrf_header(self, session, browser, ann):
        del browser.headers["X-CSRF-Token"]
        response = await browser.put("/api/v1/me/consents/analytics", json={"granted": True})
        assert_problem(response, 403, "csrf-failed")
        assert await events_of(session, ann.id) == []

    async def test_unknown_purpose_is_404(self, browser):
        response = await browser.put("/api/v1/me/consents/telepathy", json={"granted": True})
        assert_problem(response, 404, "purpose-not-found")

    @pytest.mark.parametrize("body", [{"granted": "yes"}, {"granted": 1}, {}, {"granted": True, "why": "x"}])
    async def test_invalid_body_is_422(self, browser, body):
        assert_problem(await browser.put("/api/v1/me/consents/analytics", json=body), 422, "validation")

    async def test_malformed_json_is_400(self, browser):
        response = await browser.put(
            "/api/v1/me/consents/analytics", content=b"{granted", headers={"content-type": "application/json"}
        )
        assert_problem(response, 400, "malformed-json")

    async def test_oversized_body_is_413(self, session, browser, ann):
        body = b'{"granted": true, "pad": "' + b"x" * 1_100_000 + b'"}'
        response = await browser.put(
            "/api/v1/me/consents/analytics", content=body, headers={"content-type": "application/json"}
        )
        assert_problem(response, 413)
        assert await events_of(session, ann.id) == []

    async def test_required_purpose_cannot_be_switched(self, session, browser):
        purpose = await session.scalar(select(ConsentPurpose).where(ConsentPurpose.key == "product_updates"))
        purpose.optional = False
        await session.commit()
        response = await browser.put("/api/v1/me/consents/product_updates", json={"granted": False})
        assert_problem(response, 409, "purpose-not-optional")


class TestHistory:
    async def test_pages_newest_first(self, browser):
        for granted in (True, False, True):
            await put_consent(browser, "analytics", granted)
        seen, cursor = [], None
        for _ in range(5):
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await browser.get("/api/v1/me/consents/events", params=params)).json()
            seen += [item["action"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == ["granted", "withdrawn", "granted"]

    @pytest.mark.parametrize(
        "cursor",
        ["garbage!", "bm9wZQ", cursor_of({"a": 1}), cursor_of(["2026-01-01T00:00:00", str(uuid.uuid4())])],
    )
    async def test_bad_cursor_is_400(self, browser, cursor):
        response = await browser.get("/api/v1/me/consents/events", params={"cursor": cursor})
        assert_problem(response, 400, "invalid-cursor")

    async def test_only_the_callers_events_are_listed(self, session, browser, make_client):
        await put_consent(browser, "analytics", True)
        bob = await create_user(session, "bob@example.com")
        other = make_client()
        await sign_in(other, bob.email)
        assert (await other.get("/api/v1/me/consents/events")).json()["items"] == []
        assert (await consents_by_key(other))["analytics"]["granted"] is None


class TestHashChain:
    async def test_chain_links_each_event_to_the_previous(self, session, browser, ann):
        await put_consent(browser, "analytics", True)
        await put_consent(browser, "marketing_email", True)
        await put_consent(browser, "analytics", False)
        entries = await events_of(session, ann.id)
        assert [e.seq for e in entries] == [1, 2, 3]
        assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
        head = await session.get(ConsentChainHead, consent.user_subject(ann.id))
        assert (head.seq, head.last_hash) == (3, entries[-1].hash)
        report = await consent.verify_chain(session, consent.user_subject(ann.id))
        assert (report.intact, report.events, report.first_broken_event_id) == (True, 3, None)

    async def test_orm_refuses_to_change_an_event(self, session, browser, ann):
        await put_consent(browser, "analytics", True)
        [entry] = await events_of(session, ann.id)
        entry.action = "denied"
        with pytest.raises(AppendOnlyError):
            await session.flush()

    async def test_orm_refuses_to_delete_an_event(self, session, browser, ann):
        await put_consent(browser, "analytics", True)
        [entry] = await events_of(session, ann.id)
        await session.delete(entry)
        with pytest.raises(AppendOnlyError):
            await session.flush()

    async def test_edited_row_is_found_by_verify(self, session, client, browser, ann, make_client):
        for granted in (True, False, True):
            await put_consent(browser, "marketing_email", granted)
        entries = await events_of(session, ann.id)
        connection = await session.connection()
        await connection.execute(
            update(ConsentEvent.__table__).where(ConsentEvent.id == entries[1].id).values(action="granted")
        )
        await session.commit()
        report = await consent.verify_chain(session, consent.user_subject(ann.id))
        assert (report.intact, report.events, report.first_broken_event_id) == (False, 2, entries[1].id)

        staff = make_client()
        await sign_in_staff(session, staff, "dpo@example.com", Role.PRIVACY_OFFICER)
        response = await staff.get("/api/v1/admin/consent/verify", params={"subject": str(ann.id)})
        assert response.status_code == 200, response.text
        assert response.json() == {"intact": False, "events": 2, "first_broken_event_id": str(entries[1].id)}

    async def test_removed_last_event_is_found_by_verify(self, session, browser, ann):
        await put_consent(browser, "analytics", True)
        await put_consent(browser, "analytics", False)
        last = (await events_of(session, ann.id))[-1]
        connection = await session.connection()
        await connection.execute(ConsentEvent.__table__.delete().where(ConsentEvent.id == last.id))
        report = await consent.verify_chain(session, consent.user_subject(ann.id))
        assert (report.intact, report.events) == (False, 1)

    async def test_verify_endpoint_reports_an_intact_chain_and_is_audited(
        self, session, browser, ann, make_client
    ):
        await put_consent(browser, "analytics", True)
        staff = make_client()
        admin = await sign_in_staff(session, staff, "root@example.com")
        response = await staff.get("/api/v1/admin/consent/verify", params={"subject": str(ann.id)})
        assert response.json() == {"intact": True, "events": 1, "first_broken_event_id": None}
        [entry] = (
            await session.scalars(select(AuditRecord).where(AuditRecord.action == "consent.chain_verified"))
        ).all()
        assert (entry.actor_id, entry.subject_id) == (admin.id, str(ann.id))

    async def test_verify_of_a_user_without_events_is_intact(self, session, client):
        await sign_in_staff(session, client, "root@example.com")
        response = await client.get("/api/v1/admin/consent/verify", params={"subject": str(uuid.uuid4())})
        assert response.json() == {"intact": True, "events": 0, "first_broken_event_id": None}

    async def test_verify_is_staff_only(self, browser, ann):
        response = await browser.get("/api/v1/admin/consent/verify", params={"subject": str(ann.id)})
        assert_problem(response, 403, "forbidden")

    async def test_verify_needs_a_user_id(self, session, client):
        await sign_in_staff(session, client, "root@example.com")
        response = await client.get("/api/v1/admin/consent/verify", params={"subject": "ann"})
        assert_problem(response, 422, "validation")

    def test_the_hashed_document_keeps_its_format(self):
        # Chains written since the first release verify only while this stays the same.
        fields = {
            "id": uuid.UUID("0190d6c2-7a5e-7c3b-9f1e-2b3c4d5e6f70"),
            "subject": "user:0190d6c2-0000-7000-8000-000000000001",
            "seq": 12,
            "subject_user_id": uuid.UUID("0190d6c2-0000-7000-8000-000000000001"),
            "device_id": None,
            "purpose_key": "marketing_email",
            "purpose_version": 3,
            "action": "withdrawn",
            "method": "settings",
            "policy_version": "2026-01",
            "policy_sha256": "ab" * 32,
            "jurisdiction": "FR",
            "ip_address": "203.0.113.0",
            "user_agent": 'Mozilla/5.0 "Zoë" \\ \u2603 "seq":-1,',
            "actor_id": uuid.UUID("0190d6c2-0000-7000-8000-000000000001"),
            "actor_kind": "subject",
            "created_at": datetime(2026, 11, 25, 22, 40, 1, 123456, tzinfo=UTC),
            "prev_hash": "cd" * 32,
        }
        assert (
            consent.event_hash(fields) == "a31873d0775cb944a07da8e59ca0f38e93c6cc761383da5a44fa24494aac8141"
        )

    @pytest.mark.parametrize(
        "user_agent",
        ['quoted "seq":-1, and \\ backslashes', "Zoë ☃ 𝄞 \t tab", "x" * 400, "bell \x07 and \u2028"],
    )
    async def test_hash_the_database_computes_is_the_one_verify_recomputes(
        self, settings, committed_sessionmaker, user_agent
    ):
        # Hashed from what the request carried, verified from what the database gives back.
        async with unit_of_work(committed_sessionmaker, None) as setup:
            user = await create_user(setup, "agent@example.com")
        app = create_app(settings, sessionmaker=committed_sessionmaker, job_backend=jobs.ExternalWorker())
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers={"User-Agent": user_agent.encode()}
        ) as browser:
            await sign_in(browser, user.email)
            for granted in (True, False, False):
                assert (await put_consent(browser, "analytics", granted))["granted"] is granted
        async with committed_sessionmaker() as session:
            entries = await events_of(session, user.id)
            report = await consent.verify_chain(session, consent.user_subject(user.id))
        assert [e.action for e in entries] == ["granted", "withdrawn", "denied"]
        # Header bytes reach the app as Latin-1, so UTF-8 arrives as non-ASCII characters.
        assert entries[0].user_agent == user_agent.encode().decode("latin-1")[: consent.USER_AGENT_LIMIT]
        assert all(consent.event_hash(e) == e.hash for e in entries)
        assert (report.intact, report.events) == (True, 3)

    async def test_a_refused_change_writes_nothing(self, settings, committed_sessionmaker):
        async with unit_of_work(committed_sessionmaker, None) as setup:
            user = await create_user(setup, "refused@example.com")
            required = await setup.scalar(
                select(ConsentPurpose).where(ConsentPurpose.key == "product_updates")
            )
            required.optional = False
        app = create_app(settings, sessionmaker=committed_sessionmaker, job_backend=jobs.ExternalWorker())
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
            await sign_in(browser, user.email)
            unknown = await browser.put("/api/v1/me/consents/telepathy", json={"granted": True})
            switched_off = await browser.put("/api/v1/me/consents/product_updates", json={"granted": False})
        assert_problem(unknown, 404, "purpose-not-found")
        assert_problem(switched_off, 409, "purpose-not-optional")
        async with committed_sessionmaker() as session:
            recorded = await session.scalars(
                select(AuditRecord).where(AuditRecord.action == "consent.recorded")
            )
            assert recorded.all() == []
            assert await events_of(session, user.id) == []


class TestIpTruncation:
    @pytest.mark.parametrize(
        ("raw", "kept"),
        [
            ("203.0.113.77", "203.0.113.0"),
            ("10.1.2.3", "10.1.2.0"),
            ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::"),
            ("::ffff:198.51.100.9", "198.51.100.0"),
            ("not an address", None),
            ("", None),
            (None, None),
        ],
    )
    def test_keeps_the_network_only(self, raw, kept):
        assert consent.truncate_ip(raw) == kept


class TestSignUp:
    @pytest.mark.parametrize(
        ("opt_in", "action"), [({"marketing_email_opt_in": True}, "granted"), ({}, "denied")]
    )
    async def test_signup_records_the_marketing_answer(self, session, client, opt_in, action):
        response = await client.post("/api/v1/auth/register", json=registration(**opt_in))
        assert response.status_code == 202, response.text
        user_id = (await session.scalars(select(ConsentEvent.subject_user_id))).one()
        [entry] = await events_of(session, user_id)
        assert (entry.purpose_key, entry.action, entry.method) == ("marketing_email", action, "signup")
        assert (entry.actor_id, entry.actor_kind, entry.jurisdiction) == (user_id, "subject", "US")
        assert await consent.is_granted(session, user_id, "marketing_email") is (action == "granted")

    async def test_existing_address_records_nothing(self, session, client):
        await create_user(session, "ann@example.com")
        response = await client.post("/api/v1/auth/register", json=registration(marketing_email_opt_in=True))
        assert response.status_code == 202, response.text
        assert (await session.scalars(select(ConsentEvent))).all() == []

    async def test_opt_in_must_be_a_boolean(self, client):
        response = await client.post("/api/v1/auth/register", json=registration(marketing_email_opt_in="yes"))
        assert_problem(response, 422, "validation")


class TestConcurrency:
    async def test_fifty_concurrent_toggles_keep_one_intact_chain(self, committed_sessionmaker):
        async with unit_of_work(committed_sessionmaker, None) as setup:
            user = await create_user(setup, "racer@example.com")

        async def toggle(n: int) -> None:
            async with unit_of_work(committed_sessionmaker, None) as session:
                await consent.record(
                    session,
                    user_id=user.id,
                    purpose_key="marketing_email",
                    action=ConsentAction.GRANTED if n % 2 else ConsentAction.WITHDRAWN,
                    method=CollectionMethod.API,
                    actor=None,
                    ip="192.0.2.1",
                    user_agent="racer",
                )

        await asyncio.gather(*(toggle(n) for n in range(50)))
        async with committed_sessionmaker() as session:
            entries = await events_of(session, user.id)
            report = await consent.verify_chain(session, consent.user_subject(user.id))
            state = await session.scalar(select(ConsentState).where(ConsentState.user_id == user.id))
        assert (report.intact, report.events) == (True, 50)
        assert [e.seq for e in entries] == list(range(1, 51))
        assert state.event_id == entries[-1].id and state.action == entries[-1].action

    async def test_fifty_concurrent_puts_over_http(self, settings, committed_sessionmaker):
        async with unit_of_work(committed_sessionmaker, None) as setup:
            user = await create_user(setup, "clicker@example.com")
        app = create_app(settings, sessionmaker=committed_sessionmaker, job_backend=jobs.ExternalWorker())
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as browser:
            await sign_in(browser, user.email)
            responses = await asyncio.gather(
                *(
                    browser.put("/api/v1/me/consents/analytics", json={"granted": n % 2 == 0})
                    for n in range(50)
                )
            )
            assert [r.status_code for r in responses] == [200] * 50
            current = (await consents_by_key(browser))["analytics"]
        async with committed_sessionmaker() as session:
            entries = await events_of(session, user.id)
            report = await consent.verify_chain(session, consent.user_subject(user.id))
        assert (report.intact, report.events) == (True, 50)
        assert current["granted"] == (entries[-1].action == "granted")
        # Each answer is decided on the one before it: a refusal after a grant is a withdrawal.
        for before, after in itertools.pairwise(entries):
            if after.action != "granted":
                assert after.action == ("withdrawn" if before.action == "granted" else "denied")


class TestCommandLine:
    async def test_verify_prints_the_report(self, committed_sessionmaker):
        async with unit_of_work(committed_sessionmaker, None) as setup:
            user = await create_user(setup, "cli@example.com")
            await consent.record(
                setup,
                user_id=user.id,
                purpose_key="analytics",
                action=ConsentAction.GRANTED,
                method=CollectionMethod.SETTINGS,
                actor=None,
                ip=None,
                user_agent=None,
            )
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "opmaestro.cli", "consent", "verify", "--subject", str(user.id)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"intact": True, "events": 1, "first_broken_event_id": None}
