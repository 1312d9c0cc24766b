"""The clients' consent API: OAuth clients reading people's consents and the change feed
(`consents:read`) and recording consents collected elsewhere (`consents:write`)."""

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opmaestro.accounts.deps import AuthMethod, Principal
from opmaestro.accounts.models import OAuthClient, PersonalAccessToken, Role, User, UserStatus
from opmaestro.audit.models import AuditRecord
from opmaestro.consent import clients, ledger
from opmaestro.consent.exceptions import IdempotencyConflict
from opmaestro.consent.models import (
    CollectionMethod,
    ConsentAction,
    ConsentEvent,
    ConsentEvidence,
    ConsentFeedEntry,
    user_subject,
)
from opmaestro.consent.schemas import ConsentRecordCreate
from opmaestro.core import jobs
from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.security import hash_token, new_token
from opmaestro.main import create_app
from opmaestro.notifications.models import OutboxMessage
from tests.consent.helpers import bearer, create_token, sign_in_staff
from tests.factories import create_user, sign_in
from tests.problems import assert_problem

API = "/api/v1/consents"
SUBJECTS = f"{API}/subjects"
LOOKUP = f"{API}/lookup"
CHANGES = f"{API}/changes"
RECORDS = f"{API}/records"
TOKEN = "/api/v1/oauth/token"
FEED_FIELDS = {
    "event_id",
    "user_id",
    "purpose",
    "purpose_version",
    "action",
    "granted",
    "method",
    "actor_kind",
    "recorded_at",
}


@pytest.fixture
def overrides() -> dict[str, Any]:
    """Settings a test changes (parametrize this fixture)."""
    return {}


@pytest.fixture
def app(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], overrides: dict[str, Any]):  # type: ignore[no-untyped-def]
    return create_app(
        settings.model_copy(update=overrides), sessionmaker=sessionmaker, job_backend=jobs.ExternalWorker()
    )


async def register_client(
    session: AsyncSession, *scopes: str, name: str = "Acme CRM"
) -> tuple[OAuthClient, str]:
    """A registered OAuth client and its secret, straight in the database."""
    secret = new_token("opm_cs_")
    client = OAuthClient(
        client_id=new_token("opm_ci_", nbytes=12),
        name=name,
        secret_hash=hash_token(secret),
        scopes=list(scopes),
    )
    session.add(client)
    await session.commit()
    return client, secret


async def client_api(
    make_client: Callable[[], httpx.AsyncClient], registered: OAuthClient, secret: str, **form: str
) -> httpx.AsyncClient:
    """An HTTP client holding an access token of the client-credentials grant."""
    api = make_client()
    body = {"grant_type": "client_credentials", "client_id": registered.client_id, "client_secret": secret}
    response = await api.post(TOKEN, data=body | form)
    assert response.status_code == 200, response.text
    api.headers.update(bearer(response.json()["access_token"]))
    return api


@pytest.fixture
async def crm(session: AsyncSession) -> tuple[OAuthClient, str]:
    return await register_client(session, "consents:read", "consents:write")


@pytest.fixture
async def reader(make_client, crm) -> httpx.AsyncClient:
    return await client_api(make_client, *crm, scope="consents:read")


@pytest.fixture
async def writer(make_client, crm) -> httpx.AsyncClient:
    return await client_api(make_client, *crm)


@pytest.fixture
async def ann(session: AsyncSession) -> User:
    return await create_user(session, "ann@example.com", name="Ann Lee")


async def record_event(session: AsyncSession, user: User, purpose: str, granted: bool) -> ConsentEvent:
    event = await ledger.record(
        session,
        user_id=user.id,
        purpose_key=purpose,
        action=ConsentAction.GRANTED if granted else ConsentAction.WITHDRAWN,
        method=CollectionMethod.SETTINGS,
        actor=None,
        ip="203.0.113.9",
        user_agent="Firefox",
    )
    await session.commit()
    return event


def record_body(user: User | UUID, **changes: Any) -> dict[str, Any]:
    user_id = user if isinstance(user, UUID) else user.id
    return {
        "user_id": str(user_id),
        "purpose": "marketing_email",
        "granted": True,
        "collected_at": (utcnow() - timedelta(hours=1)).isoformat(),
        "source": "Trade show sign-up form, Berlin",
        "notice_version": "2026-10 newsletter notice",
    } | changes


def key(value: str = "") -> dict[str, str]:
    return {"Idempotency-Key": value or str(uuid4())}


async def count(session: AsyncSession, model: Any, *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def audit_actions(session: AsyncSession, client: OAuthClient) -> list[str]:
    rows = await session.scalars(
        select(AuditRecord.action)
        .where(AuditRecord.actor_id == client.id, AuditRecord.actor_kind == "client")
        .order_by(AuditRecord.created_at)
    )
    return list(rows)


def by_purpose(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["purpose"]: entry for entry in body["consents"]}


def cursor_of(document: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


async def read_feed(api: httpx.AsyncClient, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
    response = await api.get(CHANGES, params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def read_whole_feed(
    api: httpx.AsyncClient, cursor: str | None = None, limit: int = 2
) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    while True:
        page = await read_feed(api, cursor, limit)
        items += page["items"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return items, cursor


class TestScopes:
    async def test_the_scopes_are_listed_for_clients_only(self, client):
        scopes = {scope["name"]: scope for scope in (await client.get("/api/v1/scopes")).json()}
        assert scopes["consents:read"]["clients_only"] and scopes["consents:write"]["clients_only"]
        assert not scopes["consent:read"]["clients_only"]

    async def test_staff_grant_them_to_a_client(self, client, session):
        await sign_in_staff(session, client, "admin@example.com")
        response = await client.post(
            "/api/v1/admin/oauth-clients", json={"name": "CRM", "scopes": ["consents:read", "consents:write"]}
        )
        assert response.status_code == 201, response.text
        assert response.json()["scopes"] == ["consents:read", "consents:write"]

    @pytest.mark.parametrize("scope", ["consents:read", "consents:write"])
    async def test_a_personal_token_cannot_hold_them(self, client, session, scope):
        staff = await sign_in_staff(session, client, "admin@example.com")
        response = await client.post("/api/v1/me/tokens", json={"name": "CRM", "scopes": [scope]})
        assert_problem(response, 403, "scope-not-allowed")
        assert await count(session, PersonalAccessToken, PersonalAccessToken.user_id == staff.id) == 0

    async def test_the_spec_names_oauth_clients_as_the_only_callers(self, client):
        spec = (await client.get("/api/v1/openapi.json")).json()
        flows = spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["scopes"]
        assert {"consents:read", "consents:write"} <= set(flows)
        operations = {
            ("get", "/api/v1/consents/subjects/{user_id}"): "consents:read",
            ("post", "/api/v1/consents/lookup"): "consents:read",
            ("get", "/api/v1/consents/changes"): "consents:read",
            ("post", "/api/v1/consents/records"): "consents:write",
        }
        for (method, path), scope in operations.items():
            operation = spec["paths"][path][method]
            assert operation["security"] == [{"oauth2": [scope]}]
            for status in ("401", "403", "429", "422"):
                assert "application/problem+json" in operation["responses"][status]["content"]


class TestWhoMayCall:
    async def test_anonymous_callers_must_authenticate(self, client, ann):
        assert_problem(await client.get(f"{SUBJECTS}/{ann.id}"), 401, "not-authenticated")
        assert_problem(await client.post(LOOKUP, json={"email": ann.email}), 401, "not-authenticated")
        assert_problem(await client.get(CHANGES), 401, "not-authenticated")
        assert_problem(await client.post(RECORDS, json=record_body(ann), headers=key()), 401)

    async def test_a_client_without_the_scope_is_refused(self, make_client, session, ann):
        other, secret = await register_client(session, "admin:users:read", name="Directory sync")
        api = await client_api(make_client, other, secret)
        assert_problem(await api.get(f"{SUBJECTS}/{ann.id}"), 403, "insufficient-scope")
        assert_problem(await api.post(LOOKUP, json={"email": ann.email}), 403, "insufficient-scope")
        assert_problem(await api.get(CHANGES), 403, "insufficient-scope")
        assert_problem(
            await api.post(RECORDS, json=record_body(ann), headers=key()), 403, "insufficient-scope"
        )

    async def test_reading_does_not_allow_writing(self, reader, session, ann):
        assert_problem(
            await reader.post(RECORDS, json=record_body(ann), headers=key()), 403, "insufficient-scope"
        )
        assert await count(session, ConsentEvidence) == 0

    async def test_a_token_asked_for_fewer_scopes_has_only_those(self, make_client, crm, ann):
        api = await client_api(make_client, *crm, scope="consents:write")
        assert_problem(await api.get(f"{SUBJECTS}/{ann.id}"), 403, "insufficient-scope")

    async def test_a_revoked_client_is_refused(self, reader, crm, session, ann):
        crm[0].revoked_at = utcnow()
        await session.commit()
        assert_problem(await reader.get(f"{SUBJECTS}/{ann.id}"), 401, "not-authenticated")

    async def test_a_signed_in_person_is_refused_even_staff(self, client, session, ann):
        await sign_in_staff(session, client, "officer@example.com", Role.PRIVACY_OFFICER)
        assert_problem(await client.get(f"{SUBJECTS}/{ann.id}"), 403, "forbidden")
        assert_problem(await client.post(LOOKUP, json={"email": ann.email}), 403, "forbidden")
        assert_problem(await client.get(CHANGES), 403, "forbidden")
        assert_problem(await client.post(RECORDS, json=record_body(ann), headers=key()), 403, "forbidden")

    async def test_a_personal_token_is_refused_even_with_the_scope(self, client, make_client, session, ann):
        await sign_in(client, ann.email)
        # A token holding the scope cannot be created; one put in the database still gets nowhere.
        secret = await create_token(client, "consent:read", "consent:write")
        token = await session.scalar(select(PersonalAccessToken).where(PersonalAccessToken.user_id == ann.id))
        token.scopes = ["consent:read", "consents:read", "consents:write"]
        await session.commit()
        api = make_client()
        api.headers.update(bearer(secret))
        assert_problem(await api.get(f"{SUBJECTS}/{ann.id}"), 403, "forbidden")
        assert_problem(await api.post(LOOKUP, json={"email": ann.email}), 403, "forbidden")
        assert_problem(await api.get(CHANGES), 403, "forbidden")
        assert_problem(await api.post(RECORDS, json=record_body(ann), headers=key()), 403, "forbidden")
        # Their own consents stay on the /me routes.
        assert (await api.get("/api/v1/me/consents")).status_code == 200


class TestReadOnePerson:
    async def test_each_purpose_with_the_current_answer(self, reader, session, ann):
        event = await record_event(session, ann, "marketing_email", True)
        response = await reader.get(f"{SUBJECTS}/{ann.id}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["user_id"] == str(ann.id)
        assert body["marketing_email"] == {"allowed": True, "reason": None}
        marketing = by_purpose(body)["marketing_email"]
        assert marketing["granted"] is True and marketing["method"] == "settings"
        assert marketing["event_id"] == str(event.id) and marketing["action"] == "granted"
        assert marketing["policy_version"] == event.policy_version and marketing["since"]
        assert by_purpose(body)["analytics"]["granted"] is None
        # Nothing beyond the answers: no address, name or device.
        assert "ann@example.com" not in response.text and "203.0.113" not in response.text

    async def test_marketing_follows_the_send_time_rule(self, reader, session, ann):
        await record_event(session, ann, "marketing_email", True)
        await record_event(session, ann, "marketing_email", False)
        body = (await reader.get(f"{SUBJECTS}/{ann.id}")).json()
        assert body["marketing_email"]["allowed"] is False
        assert "not consented" in body["marketing_email"]["reason"]
        assert by_purpose(body)["marketing_email"]["action"] == "withdrawn"

    async def test_a_closed_account_may_not_be_emailed_whatever_it_said(self, reader, session, ann):
        await record_event(session, ann, "marketing_email", True)
        ann.status = UserStatus.CLOSED
        await session.commit()
        body = (await reader.get(f"{SUBJECTS}/{ann.id}")).json()
        assert body["marketing_email"]["allowed"] is False
        assert by_purpose(body)["marketing_email"]["granted"] is True

    async def test_an_unverified_address_may_not_be_emailed_whatever_it_said(self, reader, session, ann):
        # Someone signed this address up and ticked the box; its owner never confirmed it.
        await record_event(session, ann, "marketing_email", True)
        ann.email_verified_at = None
        await session.commit()
        body = (await reader.get(f"{SUBJECTS}/{ann.id}")).json()
        assert body["marketing_email"] == {
            "allowed": False,
            "reason": "suppressed: the recipient has not verified the address",
        }
        assert by_purpose(body)["marketing_email"]["granted"] is True

    async def test_an_unknown_person_is_not_found(self, reader):
        assert_problem(await reader.get(f"{SUBJECTS}/{uuid4()}"), 404, "person-not-found")

    async def test_an_erased_person_is_not_found(self, reader, session, ann):
        await record_event(session, ann, "marketing_email", True)
        ann.status = UserStatus.ERASED
        await session.commit()
        assert_problem(await reader.get(f"{SUBJECTS}/{ann.id}"), 404, "person-not-found")
        assert_problem(await reader.post(LOOKUP, json={"email": ann.email}), 404, "person-not-found")

    @pytest.mark.parametrize("user_id", ["not-a-uuid", "1", "x" * 5000])
    async def test_a_malformed_id_is_invalid(self, reader, user_id):
        assert_problem(await reader.get(f"{SUBJECTS}/{user_id}"), 422, "validation")

    async def test_an_unknown_query_parameter_is_refused(self, reader, ann):
        assert_problem(await reader.get(f"{SUBJECTS}/{ann.id}", params={"email": ann.email}), 422)

    async def test_the_read_is_audited_with_the_client_as_actor(self, reader, crm, session, ann):
        await reader.get(f"{SUBJECTS}/{ann.id}")
        record = await session.scalar(select(AuditRecord).where(AuditRecord.action == "consent.client_read"))
        assert (record.actor_id, record.actor_kind, record.subject_id) == (crm[0].id, "client", str(ann.id))


class TestLookupByEmail:
    async def test_finds_the_person_whatever_the_case(self, reader, session, ann):
        await record_event(session, ann, "marketing_email", True)
        response = await reader.post(LOOKUP, json={"email": "  Ann@Example.COM "})
        assert response.status_code == 200, response.text
        assert response.json()["user_id"] == str(ann.id)
        assert response.json()["marketing_email"]["allowed"] is True

    async def test_an_unknown_address_is_not_found(self, reader, ann):
        assert_problem(
            await reader.post(LOOKUP, json={"email": "nobody@example.com"}), 404, "person-not-found"
        )

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"email": ""},
            {"email": "a" * 400 + "@example.com"},
            {"email": 5},
            {"email": "a@b\n.com"},
            {"email": "ann@example.com", "user_id": "x"},
            [],
            "ann@example.com",
        ],
    )
    async def test_malformed_bodies_are_invalid(self, reader, body):
        assert_problem(await reader.post(LOOKUP, json=body), 422)

    async def test_a_body_that_is_not_json_is_refused(self, reader):
        response = await reader.post(
            LOOKUP,
            content=b"email=ann@example.com",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code in (400, 415, 422)
        assert response.headers["content-type"] == "application/problem+json"
        broken = await reader.post(
            LOOKUP, content=b'{"email": ', headers={"Content-Type": "application/json"}
        )
        assert_problem(broken, 400)

    async def test_an_oversized_body_is_refused(self, reader):
        response = await reader.post(
            LOOKUP,
            content=b'{"email": "' + b"a" * 2_000_000 + b'"}',
            headers={"Content-Type": "application/json"},
        )
        assert_problem(response, 413)

    async def test_the_lookup_is_audited(self, reader, crm, session, ann):
        await reader.post(LOOKUP, json={"email": ann.email})
        assert await audit_actions(session, crm[0]) == ["consent.client_lookup"]


class TestChangeFeed:
    async def test_pages_through_every_persons_event_once_in_order(self, reader, session, ann):
        bob = await create_user(session, "bob@example.com")
        written = [
            await record_event(session, person, purpose, granted)
            for person, purpose, granted in [
                (ann, "marketing_email", True),
                (bob, "analytics", True),
                (ann, "marketing_email", False),
                (bob, "personalization", True),
                (ann, "analytics", True),
            ]
        ]
        items, _ = await read_whole_feed(reader, limit=2)
        assert [item["event_id"] for item in items] == [str(event.id) for event in written]
        assert all(set(item) == FEED_FIELDS for item in items)
        assert items[2] | {"recorded_at": None} == {
            "event_id": str(written[2].id),
            "user_id": str(ann.id),
            "purpose": "marketing_email",
            "purpose_version": 1,
            "action": "withdrawn",
            "granted": False,
            "method": "settings",
            "actor_kind": "system",
            "recorded_at": None,
        }

    async def test_events_written_between_pages_come_later_without_gaps_or_repeats(
        self, reader, session, ann
    ):
        seen: list[str] = []
        first = [await record_event(session, ann, "analytics", granted) for granted in (True, False, True)]
        page = await read_feed(reader, limit=2)
        seen += [item["event_id"] for item in page["items"]]
        assert page["has_more"]
        later = [await record_event(session, ann, "personalization", granted) for granted in (True, False)]
        items, cursor = await read_whole_feed(reader, page["next_cursor"], limit=2)
        seen += [item["event_id"] for item in items]
        assert seen == [str(event.id) for event in first + later]
        # Caught up: the cursor waits where it is, and picks up the next event.
        empty = await read_feed(reader, cursor)
        assert empty["items"] == [] and empty["next_cursor"] == cursor and not empty["has_more"]
        last = await record_event(session, ann, "analytics", False)
        assert [item["event_id"] for item in (await read_feed(reader, cursor))["items"]] == [str(last.id)]

    async def test_a_browsers_own_cookie_choices_are_not_in_it(self, reader, make_client, session):
        browser = make_client()
        banner = await browser.post(
            "/api/v1/cookie-consents", json={"revision": 1, "accepted": ["analytics"]}
        )
        assert banner.status_code in (200, 201), banner.text
        assert await count(session, ConsentEvent) > 0
        assert (await read_feed(reader))["items"] == []

    async def test_the_feed_carries_no_device_or_contact_data(self, reader, session, ann):
        await record_event(session, ann, "marketing_email", True)
        response = await reader.get(CHANGES)
        assert "203.0.113" not in response.text and "Firefox" not in response.text
        assert ann.email not in response.text

    @pytest.mark.parametrize(
        "cursor",
        [
            "not-a-cursor!",
            "%%%",
            cursor_of([1]),
            cursor_of({"feed": "people", "after": -1}),
            cursor_of({"feed": "people", "after": True}),
            cursor_of({"feed": "people", "after": "5"}),
            cursor_of({"feed": "people", "after": 2**70}),
            cursor_of({"feed": "devices", "after": 1}),
            base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        ],
    )
    async def test_a_cursor_it_did_not_hand_out_is_refused(self, reader, cursor):
        assert_problem(await reader.get(CHANGES, params={"cursor": cursor}), 400, "invalid-cursor")

    @pytest.mark.parametrize("params", [{"cursor": "a" * 201}, {"limit": 0}, {"limit": 201}, {"limit": "x"}])
    async def test_oversized_or_malformed_paging_is_invalid(self, reader, params):
        assert_problem(await reader.get(CHANGES, params=params), 422, "validation")

    async def test_reading_is_audited(self, reader, crm, session, ann):
        await record_event(session, ann, "marketing_email", True)
        await read_feed(reader)
        assert await audit_actions(session, crm[0]) == ["consent.feed_read"]


class TestRecord:
    async def test_appends_to_the_persons_ledger_as_the_client(self, writer, crm, session, ann):
        body = record_body(ann, reference="crm-lead-4711")
        response = await writer.post(RECORDS, json=body, headers=key())
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["method"] == "api" and created["action"] == "granted" and not created["replayed"]
        assert created["reference"] == "crm-lead-4711" and created["source"] == body["source"]
        event = await session.get(ConsentEvent, UUID(created["event_id"]))
        assert (event.method, event.actor_kind, event.actor_id) == ("api", "client", crm[0].id)
        assert event.ip_address is None and event.user_agent is None
        assert await ledger.is_granted(session, ann.id, "marketing_email")
        evidence = await session.scalar(select(ConsentEvidence).where(ConsentEvidence.event_id == event.id))
        assert evidence.client_id == crm[0].id and evidence.notice_version == body["notice_version"]
        assert "consent.recorded" in await audit_actions(session, crm[0])

    async def test_the_chain_still_verifies_and_the_person_gets_a_receipt(self, writer, client, session, ann):
        await record_event(session, ann, "analytics", True)
        created = (await writer.post(RECORDS, json=record_body(ann), headers=key())).json()
        withdrawn = (
            await writer.post(
                RECORDS,
                json=record_body(ann, granted=False, collected_at=utcnow().isoformat()),
                headers=key(),
            )
        ).json()
        assert withdrawn["action"] == "withdrawn"
        report = await ledger.verify_chain(session, user_subject(ann.id))
        assert report.intact and report.events == 3
        await sign_in(client, ann.email)
        receipt = await client.get(f"/api/v1/me/consents/events/{created['event_id']}/receipt")
        assert receipt.status_code == 200, receipt.text
        assert receipt.json()["claims"]["collectionMethod"] == "api"

    async def test_the_person_sees_it_and_the_feed_carries_it(self, writer, reader, client, session, ann):
        created = (await writer.post(RECORDS, json=record_body(ann), headers=key())).json()
        await sign_in(client, ann.email)
        mine = {c["key"]: c for c in (await client.get("/api/v1/me/consents")).json()}
        assert mine["marketing_email"]["granted"] is True and mine["marketing_email"]["method"] == "api"
        [item] = (await read_feed(reader))["items"]
        assert (item["event_id"], item["method"], item["actor_kind"]) == (
            created["event_id"],
            "api",
            "client",
        )

    async def test_the_person_is_told_by_mail_once(self, writer, crm, session, ann):
        headers = key("told-once")
        body = record_body(ann, granted=False, collected_at="2026-11-30T10:00:00+00:00")
        for _ in range(2):
            assert (await writer.post(RECORDS, json=body, headers=headers)).status_code == 201
        [mail] = (await session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == ann.id))).all()
        assert mail.to_address == ann.email and mail.category == "service"
        assert mail.subject == f"{crm[0].name} recorded your Marketing email choice"
        assert "declined or withdrew" in mail.text_body and "on 2026-11-30" in mail.text_body
        assert body["source"] in mail.text_body
        assert "http://127.0.0.1:8000/privacy/consents" in mail.text_body

    async def test_the_evidence_is_in_the_persons_data(self, writer, client, session, ann):
        await writer.post(RECORDS, json=record_body(ann, reference="lead-1"), headers=key())
        await sign_in(client, ann.email)
        categories = {e["category"]: e for e in (await client.get("/api/v1/me/data")).json()["categories"]}
        tables = {column["table"] for column in categories["consent"]["columns"]}
        assert "consent_evidence" in tables

    async def test_a_retry_with_the_same_key_records_once(self, writer, crm, session, ann):
        headers = key("retry-1")
        first = await writer.post(
            RECORDS, json=record_body(ann, collected_at="2026-11-30T10:00:00+00:00"), headers=headers
        )
        again = await writer.post(
            RECORDS, json=record_body(ann, collected_at="2026-11-30T10:00:00+00:00"), headers=headers
        )
        assert first.status_code == again.status_code == 201, again.text
        assert again.json() == first.json() | {"replayed": True}
        assert await count(session, ConsentEvent, ConsentEvent.subject_user_id == ann.id) == 1
        assert (await audit_actions(session, crm[0]))[-1] == "consent.record_replayed"

    async def test_a_retry_with_the_same_reference_records_once(self, writer, session, ann):
        body = record_body(ann, reference="crm-99")
        first = (await writer.post(RECORDS, json=body)).json()
        again = (await writer.post(RECORDS, json=body, headers=key())).json()
        assert again["event_id"] == first["event_id"] and again["replayed"]
        assert await count(session, ConsentEvent, ConsentEvent.subject_user_id == ann.id) == 1

    async def test_a_key_reused_for_another_record_is_refused(self, writer, session, ann):
        headers = key("reused")
        assert (await writer.post(RECORDS, json=record_body(ann), headers=headers)).status_code == 201
        response = await writer.post(RECORDS, json=record_body(ann, purpose="analytics"), headers=headers)
        assert_problem(response, 422, "idempotency-key-reused")
        assert await count(session, ConsentEvent, ConsentEvent.subject_user_id == ann.id) == 1

    async def test_keys_belong_to_one_client(self, writer, make_client, session, ann):
        other = await client_api(
            make_client, *await register_client(session, "consents:write", name="Mailer")
        )
        body = record_body(ann, reference="same-ref")
        first = (await writer.post(RECORDS, json=body, headers=key("same-key"))).json()
        second = (await other.post(RECORDS, json=body, headers=key("same-key"))).json()
        assert not second["replayed"] and second["event_id"] != first["event_id"]

    async def test_a_retry_is_answered_even_after_its_collection_time_grew_old(
        self, make_client, crm, session, ann, clock
    ):
        body = record_body(ann, collected_at=(utcnow() - timedelta(days=89)).isoformat())
        writer = await client_api(make_client, *crm)
        first = (await writer.post(RECORDS, json=body, headers=key("late-retry"))).json()
        clock.advance(days=2)
        writer = await client_api(make_client, *crm)
        again = await writer.post(RECORDS, json=body, headers=key("late-retry"))
        assert again.status_code == 201, again.text
        assert again.json()["event_id"] == first["event_id"] and again.json()["replayed"]
        fresh = await writer.post(RECORDS, json=body, headers=key("new-key"))
        assert_problem(fresh, 422, "validation")

    async def test_a_key_or_reference_is_required(self, writer, session, ann):
        assert_problem(await writer.post(RECORDS, json=record_body(ann)), 400, "idempotency-key-required")
        assert await count(session, ConsentEvent) == 0

    async def test_an_answer_older_than_the_current_one_is_refused(self, writer, session, ann):
        await record_event(session, ann, "marketing_email", False)
        stale = record_body(ann, collected_at=(utcnow() - timedelta(days=1)).isoformat())
        assert_problem(await writer.post(RECORDS, json=stale, headers=key()), 409, "consent-superseded")
        assert not await ledger.is_granted(session, ann.id, "marketing_email")

    async def test_a_later_api_answer_is_compared_by_when_it_was_collected(self, writer, session, ann):
        newer = record_body(ann, collected_at=(utcnow() - timedelta(hours=1)).isoformat())
        older = record_body(ann, granted=False, collected_at=(utcnow() - timedelta(hours=2)).isoformat())
        assert (await writer.post(RECORDS, json=newer, headers=key())).status_code == 201
        assert_problem(await writer.post(RECORDS, json=older, headers=key()), 409, "consent-superseded")

    async def test_a_purpose_that_cannot_be_refused_is_refused(self, writer, session, ann):
        body = record_body(ann, purpose="necessary_cookies", granted=False)
        assert_problem(await writer.post(RECORDS, json=body, headers=key()), 409, "purpose-not-optional")
        assert await count(session, ConsentEvent) == 0

    async def test_an_unknown_purpose_is_a_field_problem(self, writer, ann):
        body = assert_problem(
            await writer.post(RECORDS, json=record_body(ann, purpose="telepathy"), headers=key()), 422
        )
        assert body["errors"][0]["field"] == "purpose"

    async def test_an_unknown_or_closed_person_is_not_found(self, writer, session, ann):
        assert_problem(
            await writer.post(RECORDS, json=record_body(uuid4()), headers=key()), 404, "person-not-found"
        )
        ann.status = UserStatus.CLOSED
        await session.commit()
        assert_problem(
            await writer.post(RECORDS, json=record_body(ann), headers=key()), 404, "person-not-found"
        )

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"collected_at": (utcnow() + timedelta(hours=1)).isoformat()}, "collected_at"),
            ({"collected_at": (utcnow() - timedelta(days=91)).isoformat()}, "collected_at"),
            ({"collected_at": "2026-11-30T10:00:00"}, "collected_at"),
            ({"collected_at": "0001-01-01T00:00:00+14:00"}, "collected_at"),
            ({"collected_at": "9999-12-31T23:59:59-14:00"}, "collected_at"),
            ({"collected_at": "yesterday"}, "collected_at"),
            ({"granted": "yes"}, "granted"),
            ({"source": ""}, "source"),
            ({"source": "form\r\nX-Injected: 1"}, "source"),
            ({"source": "x" * 201}, "source"),
            ({"notice_version": None}, ""),
            ({"notice_text": "a" * 4001}, "notice_text"),
            ({"notice_text": "null\x00byte"}, "notice_text"),
            ({"reference": "has space"}, "reference"),
            ({"reference": "r" * 101}, "reference"),
            ({"purpose": "Marketing Email"}, "purpose"),
            ({"user_id": "not-a-uuid"}, "user_id"),
            ({"method": "signup"}, "method"),
            ({"actor_id": str(uuid4())}, "actor_id"),
        ],
    )
    async def test_bad_evidence_is_refused_with_the_field(self, writer, session, ann, changes, field):
        body = assert_problem(
            await writer.post(RECORDS, json=record_body(ann, **changes), headers=key()), 422
        )
        assert any(field in error["field"] for error in body["errors"]), body
        assert await count(session, ConsentEvent) == 0

    @pytest.mark.parametrize("header", ["", "a" * 256, "has space", "tab\tkey", "ключ"])
    async def test_a_malformed_idempotency_key_is_refused(self, writer, ann, header):
        sent = {"Idempotency-Key": header.encode()}
        response = await writer.post(RECORDS, json=record_body(ann), headers=sent)
        assert_problem(response, 422, "validation")

    async def test_the_wording_shown_may_be_sent_instead_of_a_version(self, writer, session, ann):
        body = record_body(
            ann, notice_version=None, notice_text="Yes, send me product news.\nUnsubscribe any time."
        )
        del body["notice_version"]
        response = await writer.post(RECORDS, json=body, headers=key())
        assert response.status_code == 201, response.text
        evidence = await session.scalar(select(ConsentEvidence))
        assert evidence.notice_text.startswith("Yes, send me") and evidence.notice_version is None


class TestRateLimit:
    @pytest.mark.parametrize("overrides", [{"consent_api_requests_per_client": 2}])
    async def test_each_client_has_its_own_quota(self, reader, make_client, session, ann, overrides):
        assert (await reader.get(f"{SUBJECTS}/{ann.id}")).status_code == 200
        assert (await reader.get(CHANGES)).status_code == 200
        refused = assert_problem(
            await reader.post(LOOKUP, json={"email": ann.email}), 429, "too-many-requests"
        )
        assert refused["detail"]
        response = await reader.get(CHANGES)
        assert int(response.headers["retry-after"]) >= 1
        other = await client_api(make_client, *await register_client(session, "consents:read", name="Other"))
        assert (await other.get(f"{SUBJECTS}/{ann.id}")).status_code == 200


@pytest.fixture
async def committed(
    settings: Settings, committed_sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], httpx.AsyncClient, User]]:
    """An app whose requests really commit, a client reading the feed, and a person."""
    async with committed_sessionmaker() as session:
        person = await create_user(session, "carol@example.com")
        registered, secret = await register_client(session, "consents:read")
    app = create_app(settings, sessionmaker=committed_sessionmaker, job_backend=jobs.ExternalWorker())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
        body = {
            "grant_type": "client_credentials",
            "client_id": registered.client_id,
            "client_secret": secret,
        }
        token = (await api.post(TOKEN, data=body)).json()["access_token"]
        api.headers.update(bearer(token))
        yield committed_sessionmaker, api, person


class TestFeedWhileWriting:
    async def test_an_event_committed_after_a_later_one_is_not_skipped(self, committed, database_url):
        if database_url.startswith("sqlite"):
            pytest.skip("SQLite has one writer at a time: transactions cannot commit out of order")
        sessionmaker, api, person = committed
        async with sessionmaker() as setup:
            dan = await create_user(setup, "dan@example.com")
        async with sessionmaker() as slow, sessionmaker() as fast:
            early = await ledger.record(
                slow,
                user_id=person.id,
                purpose_key="analytics",
                action=ConsentAction.GRANTED,
                method=CollectionMethod.SETTINGS,
                actor=None,
                ip=None,
                user_agent=None,
            )
            late = await ledger.record(
                fast,
                user_id=dan.id,
                purpose_key="analytics",
                action=ConsentAction.GRANTED,
                method=CollectionMethod.SETTINGS,
                actor=None,
                ip=None,
                user_agent=None,
            )
            await fast.commit()
            page = await read_feed(api)
            assert [item["event_id"] for item in page["items"]] == [str(late.id)]
            await slow.commit()
        rest = await read_feed(api, page["next_cursor"])
        assert [item["event_id"] for item in rest["items"]] == [str(early.id)]

    async def test_pages_read_while_events_commit_see_each_once(self, committed):
        sessionmaker, api, person = committed
        written: list[str] = []
        seen: list[str] = []
        cursor = None
        for round_ in range(4):
            async with sessionmaker() as writer_session:
                for granted in (True, False, True):
                    event = await ledger.record(
                        writer_session,
                        user_id=person.id,
                        purpose_key="analytics",
                        action=ConsentAction.GRANTED if granted else ConsentAction.WITHDRAWN,
                        method=CollectionMethod.SETTINGS,
                        actor=None,
                        ip=None,
                        user_agent=None,
                    )
                    written.append(str(event.id))
                await writer_session.commit()
            page = await read_feed(api, cursor, limit=2 + round_ % 2)
            seen += [item["event_id"] for item in page["items"]]
            cursor = page["next_cursor"]
        items, _ = await read_whole_feed(api, cursor)
        seen += [item["event_id"] for item in items]
        assert seen == written
        async with sessionmaker() as check:
            assert await count(check, ConsentFeedEntry, ConsentFeedEntry.position.is_(None)) == 0
            assert (await ledger.verify_chain(check, user_subject(person.id))).intact


async def until_a_transaction_waits_on_a_lock(session: AsyncSession) -> None:
    """Return once another connection of this database waits on a lock (bounded, never a timing check)."""
    for _ in range(2000):
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        await session.rollback()
        if waiting:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the second request never waited for the first")


class TestSimultaneousRetries:
    @pytest.fixture
    async def crm_principal(self, database_url, committed_sessionmaker):
        if database_url.startswith("sqlite"):
            pytest.skip("SQLite has one writer at a time: two requests cannot overlap")
        async with committed_sessionmaker() as setup:
            registered, _ = await register_client(setup, "consents:write")
            erin = await create_user(setup, "erin@example.com")
            finn = await create_user(setup, "finn@example.com")
        principal = Principal(AuthMethod.CLIENT, frozenset({"consents:write"}), client=registered)
        return committed_sessionmaker, principal, erin, finn

    async def test_the_same_request_twice_at_once_records_once(self, crm_principal, settings):
        sessionmaker, principal, erin, _ = crm_principal
        body = ConsentRecordCreate.model_validate(record_body(erin))
        async with sessionmaker() as first, sessionmaker() as second, sessionmaker() as watcher:
            recorded = await clients.record(first, principal, settings, body, "same-moment")
            retry = asyncio.create_task(clients.record(second, principal, settings, body, "same-moment"))
            await until_a_transaction_waits_on_a_lock(watcher)
            await first.commit()
            replayed = await retry
            await second.commit()
            assert replayed.replayed and replayed.event_id == recorded.event_id
            assert await count(watcher, ConsentEvent, ConsentEvent.subject_user_id == erin.id) == 1

    async def test_one_key_for_two_people_at_once_records_the_first(self, crm_principal, settings):
        sessionmaker, principal, erin, finn = crm_principal
        for_erin = ConsentRecordCreate.model_validate(record_body(erin))
        for_finn = ConsentRecordCreate.model_validate(record_body(finn))
        async with sessionmaker() as first, sessionmaker() as second, sessionmaker() as watcher:
            await clients.record(first, principal, settings, for_erin, "one-key")
            clash = asyncio.create_task(clients.record(second, principal, settings, for_finn, "one-key"))
            await until_a_transaction_waits_on_a_lock(watcher)
            await first.commit()
            with pytest.raises(IdempotencyConflict):
                await clash
            await second.rollback()
            assert await count(watcher, ConsentEvent, ConsentEvent.subject_user_id == finn.id) == 0
            assert (await ledger.verify_chain(watcher, user_subject(finn.id))).intact
