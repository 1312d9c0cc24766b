"""Connecting Google, Gusto and Stripe end to end against the fake providers: connect, callback,
import, list, sync, disconnect; what each import keeps; who may call what."""

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from opmaestro.audit.models import AuditRecord
from opmaestro.integrations.models import (
    IntegrationAuthorization,
    IntegrationCalendarEvent,
    IntegrationConnection,
    IntegrationEmployee,
)
from tests.factories import create_user, sign_in
from tests.integrations.conftest import authorize, connect, run_sync_jobs
from tests.integrations.fakes import (
    GOOGLE_EMAIL,
    GOOGLE_SCOPE,
    GOOGLE_SUB,
    GUSTO_COMPANY,
    GUSTO_COMPANY_NAME,
    STRIPE_ACCOUNT,
    STRIPE_BUSINESS,
)
from tests.problems import assert_problem

URL = "/api/v1/integrations"
PROVIDERS = ["google", "gusto", "stripe"]


def listed(response, provider: str) -> dict:
    assert response.status_code == 200, response.text
    return next(item for item in response.json()["items"] if item["provider"] == provider)


async def count(session, model, **where) -> int:
    statement = select(func.count()).select_from(model)
    for name, value in where.items():
        statement = statement.where(getattr(model, name) == value)
    return int(await session.scalar(statement) or 0)


class TestList:
    async def test_every_provider_is_listed_not_connected(self, browser):
        items = (await browser.get(URL)).json()["items"]
        assert [item["provider"] for item in items] == PROVIDERS
        assert all(item["status"] == "not_connected" and item["connection"] is None for item in items)
        google = items[0]
        assert "https://www.googleapis.com/auth/calendar.readonly" in google["requested_scopes"]
        assert items[2]["requested_scopes"] == ["read_only"]

    @pytest.mark.parametrize("overrides", [{"gusto_client_id": None}])
    async def test_a_provider_without_client_id_is_not_configured(self, browser):
        assert listed(await browser.get(URL), "gusto")["status"] == "not_configured"
        assert_problem(await browser.post(f"{URL}/gusto/connect"), 409, "integration-not-configured")

    async def test_signed_out_is_refused(self, client):
        assert_problem(await client.get(URL), 401)
        assert_problem(await client.post(f"{URL}/google/connect"), 401)
        assert_problem(await client.get(f"{URL}/google/callback?state=x&code=y"), 401)
        assert_problem(await client.post(f"{URL}/google/sync"), 401)
        assert_problem(await client.delete(f"{URL}/google"), 401)

    async def test_unsafe_methods_need_the_csrf_header(self, browser):
        del browser.headers["X-CSRF-Token"]
        assert_problem(await browser.post(f"{URL}/google/connect"), 403)
        assert_problem(await browser.delete(f"{URL}/google"), 403)

    async def test_a_personal_access_token_cannot_connect(self, browser, client, make_client):
        created = await browser.post("/api/v1/me/tokens", json={"name": "CRM", "scopes": ["profile:read"]})
        assert created.status_code == 201, created.text
        api = make_client()
        api.headers["Authorization"] = f"Bearer {created.json()['token']}"
        assert_problem(await api.get(URL), 403)
        assert_problem(await api.post(f"{URL}/google/connect"), 403)

    async def test_unknown_provider_is_a_problem(self, browser):
        assert_problem(await browser.post(f"{URL}/dropbox/connect"), 422)
        assert_problem(await browser.get(f"{URL}/dropbox/callback?state=a&code=b"), 422)
        assert_problem(await browser.delete(f"{URL}/dropbox"), 422)

    async def test_sync_and_disconnect_of_a_provider_never_connected_are_not_found(self, browser):
        assert_problem(await browser.post(f"{URL}/google/sync"), 404, "integration-not-connected")
        assert_problem(await browser.delete(f"{URL}/google"), 404, "integration-not-connected")


class TestConnect:
    async def test_the_authorization_url_carries_state_and_an_s256_challenge_only(
        self, browser, session, fake
    ):
        started = await browser.post(f"{URL}/google/connect")
        assert started.status_code == 200, started.text
        url = urlsplit(started.json()["authorization_url"])
        query = parse_qs(url.query)
        assert url.geturl().startswith(fake.base_url + "/google/o/oauth2/v2/auth")
        assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
        assert "code_verifier" not in query and query["response_type"] == ["code"]
        assert query["access_type"] == ["offline"] and query["redirect_uri"][0].endswith(
            "/api/v1/integrations/google/callback"
        )
        assert set(query["scope"][0].split()) == {
            "openid",
            "email",
            "profile",
            "https://www.googleapis.com/auth/calendar.readonly",
        }
        [pending] = (await session.scalars(select(IntegrationAuthorization))).all()
        # Kept here hashed and encrypted: neither the state nor the verifier in plain text.
        assert query["state"][0] not in (pending.state_hash, pending.code_verifier)
        assert len(pending.state_hash) == 64

    async def test_google_connect_import_sync_disconnect(
        self, browser, session, sessionmaker, integration_settings, fake
    ):
        callback = await connect(browser, "google", sessionmaker, integration_settings)
        assert urlsplit(callback.headers["location"]).path == "/settings/integrations"

        google = listed(await browser.get(URL), "google")
        assert google["status"] == "connected"
        connection = google["connection"]
        assert connection["account_email"] == GOOGLE_EMAIL and connection["subject"] == GOOGLE_SUB
        assert connection["granted_scopes"] == GOOGLE_SCOPE.split()
        assert connection["sync_status"] == "succeeded" and connection["last_synced_at"]
        # Three timed events and an all-day one over three pages; the cancelled one is skipped.
        assert connection["imported_items"] == 4 and fake.state.calls["google.events"] == 3
        events = (
            await session.scalars(
                select(IntegrationCalendarEvent).order_by(IntegrationCalendarEvent.starts_at)
            )
        ).all()
        assert [event.title for event in events] == [
            "Supplier call 0",
            "Supplier call 1",
            "Supplier call 2",
            "Inventory day",
        ]
        assert events[-1].all_day and not events[0].all_day
        assert (await count(session, IntegrationAuthorization)) == 0

        fake.state.events = fake.state.events[:1]
        synced = await browser.post(f"{URL}/google/sync")
        assert synced.status_code == 202 and synced.json()["sync_status"] == "pending"
        assert await run_sync_jobs(sessionmaker, integration_settings) == 1
        assert listed(await browser.get(URL), "google")["connection"]["imported_items"] == 1

        disconnected = await browser.delete(f"{URL}/google")
        assert disconnected.status_code == 200, disconnected.text
        assert disconnected.json() == {"provider": "google", "revoked_at_provider": True}
        assert len(fake.state.revoked_tokens) == 1
        assert listed(await browser.get(URL), "google")["status"] == "not_connected"
        assert await count(session, IntegrationConnection) == 0
        assert await count(session, IntegrationCalendarEvent) == 0
        actions = list(await session.scalars(select(AuditRecord.action).order_by(AuditRecord.created_at)))
        assert "integration.connected" in actions and actions[-1] == "integration.disconnected"

    async def test_gusto_imports_the_company_and_its_employees(
        self, browser, session, sessionmaker, integration_settings, fake
    ):
        await connect(browser, "gusto", sessionmaker, integration_settings)
        connection = listed(await browser.get(URL), "gusto")["connection"]
        assert connection["subject"] == GUSTO_COMPANY and connection["account_name"] == GUSTO_COMPANY_NAME
        assert connection["granted_scopes"] == ["companies:read", "employees:read"]
        employees = (
            await session.scalars(select(IntegrationEmployee).order_by(IntegrationEmployee.email))
        ).all()
        assert [(e.first_name, e.last_name, e.email, e.job_title) for e in employees] == [
            ("Worker0", "Baker", "worker0@leebakery.example", "Cashier"),
            ("Worker1", "Baker", "worker1@leebakery.example", "Pastry chef"),
            ("Worker2", "Baker", "worker2@leebakery.example", "Cashier"),
        ]

        disconnected = await browser.delete(f"{URL}/gusto")
        assert disconnected.json()["revoked_at_provider"] is True
        assert fake.state.calls["gusto.revoke"] == 1
        assert await count(session, IntegrationEmployee) == 0

    async def test_stripe_connect_reads_the_account_and_deauthorizes(
        self, browser, session, sessionmaker, integration_settings, fake
    ):
        await connect(browser, "stripe", sessionmaker, integration_settings)
        connection = listed(await browser.get(URL), "stripe")["connection"]
        assert connection["subject"] == STRIPE_ACCOUNT and connection["account_name"] == STRIPE_BUSINESS
        assert connection["granted_scopes"] == ["read_only"] and connection["account_email"] is None

        disconnected = await browser.delete(f"{URL}/stripe")
        assert disconnected.json()["revoked_at_provider"] is True
        assert fake.state.deauthorized == [STRIPE_ACCOUNT]

    async def test_the_scopes_actually_granted_are_stored(
        self, browser, sessionmaker, integration_settings, fake
    ):
        fake.state.granted_scope["google"] = "openid email"
        await connect(browser, "google", sessionmaker, integration_settings)
        assert listed(await browser.get(URL), "google")["connection"]["granted_scopes"] == ["openid", "email"]

    async def test_one_persons_connection_is_not_anothers(
        self, browser, session, sessionmaker, integration_settings, make_client
    ):
        await connect(browser, "google", sessionmaker, integration_settings)
        await create_user(session, "bob@example.com", name="Bob")
        bob = make_client()
        await sign_in(bob, "bob@example.com")
        assert listed(await bob.get(URL), "google")["status"] == "not_connected"
        assert_problem(await bob.post(f"{URL}/google/sync"), 404)
        assert_problem(await bob.delete(f"{URL}/google"), 404)
        assert await count(session, IntegrationConnection) == 1

    async def test_connecting_again_replaces_the_grant(
        self, browser, session, sessionmaker, integration_settings
    ):
        await connect(browser, "google", sessionmaker, integration_settings)
        first = await session.scalar(select(IntegrationConnection.access_token))
        await connect(browser, "google", sessionmaker, integration_settings)
        assert await count(session, IntegrationConnection) == 1
        session.expire_all()
        assert await session.scalar(select(IntegrationConnection.access_token)) != first
        assert await count(session, IntegrationCalendarEvent) == 4

    async def test_sync_while_one_is_queued_queues_no_second(
        self, browser, integration_settings, sessionmaker
    ):
        callback = await browser.get(await authorize(browser, "gusto"))
        assert callback.status_code == 303
        assert (await browser.post(f"{URL}/gusto/sync")).status_code == 202
        assert await run_sync_jobs(sessionmaker, integration_settings) == 1
