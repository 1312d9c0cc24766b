"""Registering, changing, rotating and deleting webhook endpoints, for people and OAuth clients."""

import ipaddress
import uuid

import pytest
from sqlalchemy import select

from opmaestro.audit.models import AuditRecord
from opmaestro.webhooks.outbound import addresses
from opmaestro.webhooks.outbound.models import WebhookEndpoint
from tests.factories import PASSWORD, create_user, sign_in
from tests.problems import assert_problem
from tests.webhooks.outbound.conftest import CLIENT_ENDPOINTS, ME, PERSON_EVENTS, client_token, register


class TestRegister:
    async def test_the_secret_is_shown_once_and_stored_encrypted(self, ann, session, receiver):
        browser, user = ann
        created = await register(browser, receiver.url, ["consent.changed"])
        assert created["secret"].startswith("whsec_") and created["event_types"] == ["consent.changed"]
        assert created["enabled"] is True and created["description"] == ""
        listed = (await browser.get(ME)).json()
        assert [item["id"] for item in listed] == [created["id"]] and "secret" not in listed[0]
        one = await browser.get(f"{ME}/{created['id']}")
        assert one.status_code == 200 and "secret" not in one.json()
        stored = await session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.user_id == user.id))
        assert created["secret"] not in stored.secret_encrypted
        audited = await session.scalar(
            select(AuditRecord).where(AuditRecord.action == "webhook_endpoint.created")
        )
        assert audited.actor_id == user.id and audited.subject_id == created["id"]

    async def test_the_number_of_endpoints_is_limited(self, ann, app, receiver):
        browser, _ = ann
        limit = app.state.settings.webhook_max_endpoints
        for _ in range(limit):
            await register(browser, receiver.url)
        response = await browser.post(ME, json={"url": receiver.url, "event_types": PERSON_EVENTS})
        assert_problem(response, 409, "too-many-webhook-endpoints")

    @pytest.mark.parametrize(
        "body",
        [
            {"url": "ftp://hooks.example.com/x", "event_types": ["consent.changed"]},
            {"url": "https://hooks.example.com/" + "a" * 2100, "event_types": ["consent.changed"]},
            {"url": "https://hooks.example.com/x", "event_types": []},
            {"url": "https://hooks.example.com/x", "event_types": ["user.sneezed"]},
            {"url": "https://hooks.example.com/x", "event_types": ["consent.changed"], "secret": "mine"},
            {
                "url": "https://hooks.example.com/x",
                "event_types": ["consent.changed"],
                "description": "x" * 201,
            },
            {"url": "https://hooks.example.com/x", "event_types": "consent.changed"},
            {"url": 42, "event_types": ["consent.changed"]},
            {},
        ],
    )
    async def test_malformed_bodies_are_422(self, ann, body):
        browser, _ = ann
        assert_problem(await browser.post(ME, json=body), 422)

    async def test_a_body_that_is_not_json_is_a_problem(self, ann):
        browser, _ = ann
        response = await browser.post(ME, content=b"\xff{", headers={"Content-Type": "application/json"})
        assert_problem(response, 400)

    async def test_an_oversized_body_is_refused(self, ann):
        browser, _ = ann
        response = await browser.post(ME, json={"url": "https://a.example/", "description": "x" * 2_000_000})
        assert_problem(response, 413)

    @pytest.mark.parametrize(
        "url",
        [
            "https://user:pass@hooks.example.com/x",
            "https://hooks.example.com/x#frag",
            "https://hooks.example.com:99999/x",
            "https://hooks.example.com/a\x00b",
            "https://hooks.exa\x00mple.com/",
            "https://hooks.example.com/a b",
            "https:///nohost",
        ],
    )
    async def test_urls_we_never_send_to_are_refused(self, ann, url):
        browser, _ = ann
        response = await browser.post(ME, json={"url": url, "event_types": PERSON_EVENTS})
        assert_problem(response, 422, "webhook-url-refused")


class TestAccess:
    async def test_anonymous_callers_are_401(self, client):
        assert_problem(await client.get(ME), 401, "not-authenticated")
        assert_problem(await client.get(CLIENT_ENDPOINTS), 401, "not-authenticated")

    async def test_someone_elses_endpoint_is_not_found(self, ann, bob, receiver):
        created = await register(ann[0], receiver.url)
        browser, _ = bob
        path = f"{ME}/{created['id']}"
        assert_problem(await browser.get(path), 404, "webhook-endpoint-not-found")
        assert_problem(await browser.patch(path, json={"enabled": False}), 404, "webhook-endpoint-not-found")
        assert_problem(await browser.post(f"{path}/rotate-secret"), 404, "webhook-endpoint-not-found")
        assert_problem(await browser.get(f"{path}/deliveries"), 404, "webhook-endpoint-not-found")
        assert_problem(await browser.delete(path), 404, "webhook-endpoint-not-found")
        assert (await browser.get(ME)).json() == []
        assert (await ann[0].get(path)).status_code == 200

    async def test_an_unknown_or_malformed_id(self, ann):
        browser, _ = ann
        assert_problem(await browser.get(f"{ME}/{uuid.uuid4()}"), 404)
        assert_problem(await browser.get(f"{ME}/not-a-uuid"), 422)

    async def test_a_personal_token_needs_the_scope(self, ann, make_client, receiver):
        browser, _ = ann
        api = make_client()
        for scopes, expected in ((["profile:read"], 403), (["webhooks:manage"], 201)):
            made = await browser.post("/api/v1/me/tokens", json={"name": "ci", "scopes": scopes})
            assert made.status_code == 201, made.text
            api.headers["Authorization"] = f"Bearer {made.json()['token']}"
            response = await api.post(ME, json={"url": receiver.url, "event_types": PERSON_EVENTS})
            assert response.status_code == expected, response.text

    async def test_an_unverified_address_cannot_register(self, session, make_client, receiver):
        await create_user(session, "new@example.com", verified=False)
        browser = make_client()
        await sign_in(browser, "new@example.com")
        response = await browser.post(ME, json={"url": receiver.url, "event_types": PERSON_EVENTS})
        assert_problem(response, 403, "email-not-verified")
        assert_problem(await browser.get(ME), 403, "email-not-verified")

    async def test_a_session_without_csrf_header_is_refused(self, ann, receiver):
        browser, _ = ann
        del browser.headers["X-CSRF-Token"]
        response = await browser.post(ME, json={"url": receiver.url, "event_types": PERSON_EVENTS})
        assert_problem(response, 403, "csrf-failed")


class TestChange:
    async def test_patch_changes_only_what_is_sent(self, ann, receiver):
        browser, _ = ann
        created = await register(browser, receiver.url)
        response = await browser.patch(
            f"{ME}/{created['id']}", json={"event_types": ["account.closed"], "description": "CRM"}
        )
        assert response.status_code == 200, response.text
        changed = response.json()
        assert changed["event_types"] == ["account.closed"] and changed["description"] == "CRM"
        assert changed["url"] == receiver.url and changed["enabled"] is True

    async def test_a_new_url_is_checked_again(self, ann, receiver, app):
        browser, _ = ann
        created = await register(browser, receiver.url)
        response = await browser.patch(f"{ME}/{created['id']}", json={"url": "gopher://x.example/"})
        assert_problem(response, 422)
        app.state.settings.webhooks_allow_private_addresses = False
        try:
            response = await browser.patch(f"{ME}/{created['id']}", json={"url": "https://10.0.0.1/"})
        finally:
            app.state.settings.webhooks_allow_private_addresses = True
        assert_problem(response, 422, "webhook-url-refused")

    async def test_unknown_fields_are_refused(self, ann, receiver):
        browser, _ = ann
        created = await register(browser, receiver.url)
        response = await browser.patch(f"{ME}/{created['id']}", json={"secret": "whsec_x"})
        assert_problem(response, 422)

    async def test_rotation_shows_a_new_secret_and_keeps_the_old_one_for_a_while(self, ann, receiver):
        browser, _ = ann
        created = await register(browser, receiver.url)
        response = await browser.post(f"{ME}/{created['id']}/rotate-secret")
        assert response.status_code == 200, response.text
        rotated = response.json()
        assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
        assert rotated["previous_secret_expires_at"] is not None

    async def test_delete(self, ann, receiver):
        browser, _ = ann
        created = await register(browser, receiver.url)
        response = await browser.delete(f"{ME}/{created['id']}")
        assert response.status_code == 204
        assert_problem(await browser.get(f"{ME}/{created['id']}"), 404)

    async def test_the_delivery_log_is_paginated_and_refuses_a_bad_cursor(self, ann, receiver):
        browser, _ = ann
        created = await register(browser, receiver.url)
        page = await browser.get(f"{ME}/{created['id']}/deliveries", params={"limit": 10})
        assert page.status_code == 200 and page.json() == {"items": [], "next_cursor": None}
        bad = await browser.get(f"{ME}/{created['id']}/deliveries", params={"cursor": "nonsense"})
        assert_problem(bad, 400, "invalid-cursor")
        assert_problem(await browser.get(f"{ME}/{created['id']}/deliveries", params={"limit": 0}), 422)


class TestReauthentication:
    async def test_a_new_endpoint_or_url_needs_the_password_again(self, ann, receiver, clock):
        browser, _ = ann
        created = await register(browser, receiver.url, ["consent.changed"])
        clock.advance(minutes=11)
        body = {"url": receiver.url, "event_types": ["consent.changed"]}
        refused = assert_problem(await browser.post(ME, json=body), 403, "reauthentication-required")
        assert refused["reauthenticate"] == "/api/v1/me/reauthenticate"
        moved = await browser.patch(f"{ME}/{created['id']}", json={"url": receiver.url + "&moved=1"})
        assert_problem(moved, 403, "reauthentication-required")
        # A new secret would let a stale session sign events the receiver trusts.
        rotated = await browser.post(f"{ME}/{created['id']}/rotate-secret")
        assert_problem(rotated, 403, "reauthentication-required")
        # Other changes (switching it off, say) need nothing more.
        assert (await browser.patch(f"{ME}/{created['id']}", json={"enabled": False})).status_code == 200
        assert len((await browser.get(ME)).json()) == 1

        again = await browser.post("/api/v1/me/reauthenticate", json={"password": PASSWORD})
        assert again.status_code == 204, again.text
        assert (await browser.post(ME, json=body)).status_code == 201
        moved = await browser.patch(f"{ME}/{created['id']}", json={"url": receiver.url + "&moved=1"})
        assert moved.status_code == 200 and moved.json()["url"].endswith("&moved=1")
        assert (await browser.post(f"{ME}/{created['id']}/rotate-secret")).status_code == 200

    async def test_a_personal_token_needs_no_password(self, ann, make_client, receiver, clock):
        browser, _ = ann
        made = await browser.post("/api/v1/me/tokens", json={"name": "ci", "scopes": ["webhooks:manage"]})
        assert made.status_code == 201, made.text
        clock.advance(minutes=11)
        api = make_client()
        api.headers["Authorization"] = f"Bearer {made.json()['token']}"
        assert (
            await api.post(ME, json={"url": receiver.url, "event_types": ["consent.changed"]})
        ).status_code == 201


class TestPersonEvents:
    async def test_a_person_cannot_subscribe_to_what_they_can_never_receive(self, ann, receiver):
        browser, _ = ann
        refused = await browser.post(
            ME, json={"url": receiver.url, "event_types": ["consent.changed", "account.deleted"]}
        )
        [error] = assert_problem(refused, 422)["errors"]
        assert error["field"] == "event_types.1" and "account.deleted" not in error["message"]
        assert "account.closed" in error["message"]
        created = await register(browser, receiver.url, ["account.closed"])
        patched = await browser.patch(f"{ME}/{created['id']}", json={"event_types": ["account.deleted"]})
        assert_problem(patched, 422)
        assert (await browser.get(f"{ME}/{created['id']}")).json()["event_types"] == ["account.closed"]


class TestClientEndpoints:
    async def test_a_client_with_the_scope_manages_its_own_endpoints(self, crm, ann, receiver):
        created = await register(crm, receiver.url, path=CLIENT_ENDPOINTS)
        assert (await crm.get(CLIENT_ENDPOINTS)).json()[0]["id"] == created["id"]
        # People do not see a client's endpoints, nor clients a person's.
        assert (await ann[0].get(ME)).json() == []
        assert_problem(await ann[0].get(f"{ME}/{created['id']}"), 404)
        personal = await register(ann[0], receiver.url)
        assert_problem(await crm.get(f"{CLIENT_ENDPOINTS}/{personal['id']}"), 404)

    async def test_a_client_cannot_use_the_personal_routes(self, crm):
        assert_problem(await crm.get(ME), 403)

    async def test_people_cannot_use_the_client_routes(self, ann):
        assert_problem(await ann[0].get(CLIENT_ENDPOINTS), 403, "clients-only")

    async def test_each_event_type_needs_the_scope_that_reads_it(self, admin, make_client, receiver):
        api = make_client()
        token = await client_token(admin[0], api, ["webhooks:manage", "admin:users:read"])
        api.headers["Authorization"] = f"Bearer {token}"
        body = {"url": receiver.url, "event_types": ["consent.changed", "account.closed"]}
        refused = await api.post(CLIENT_ENDPOINTS, json=body)
        assert_problem(refused, 403, "webhook-event-scope-missing")
        assert refused.json()["missing_scopes"] == ["consents:read"]
        assert "consents:read" in refused.json()["detail"]
        created = await register(
            api, receiver.url, ["account.closed", "account.deleted"], path=CLIENT_ENDPOINTS
        )
        patched = await api.patch(
            f"{CLIENT_ENDPOINTS}/{created['id']}", json={"event_types": ["data_request.completed"]}
        )
        assert_problem(patched, 403, "webhook-event-scope-missing")
        assert patched.json()["missing_scopes"] == ["data_requests:read"]
        assert (await api.get(f"{CLIENT_ENDPOINTS}/{created['id']}")).json()["event_types"] == [
            "account.closed",
            "account.deleted",
        ]

    async def test_a_client_without_the_scope_is_refused(self, admin, make_client):
        api = make_client()
        api.headers["Authorization"] = f"Bearer {await client_token(admin[0], api, ['admin:users:read'])}"
        assert_problem(await api.get(CLIENT_ENDPOINTS), 403, "insufficient-scope")


@pytest.fixture
def strict(app):
    """The production rule: loopback and private addresses are refused."""
    app.state.settings.webhooks_allow_private_addresses = False
    yield app
    app.state.settings.webhooks_allow_private_addresses = True


class TestServerSideRequestForgery:
    @pytest.mark.parametrize(
        "url",
        [
            "https://127.0.0.1/hook",
            "https://10.0.0.1/hook",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]/hook",
            "https://[::ffff:127.0.0.1]/hook",
            "https://[fe80::1]/hook",
            "https://localhost/hook",
            "https://2130706433/hook",
            "https://0x7f000001/hook",
            "https://127.1/hook",
            "https://0.0.0.0/hook",
            "https://100.64.0.1/hook",
            "https://192.168.1.1/hook",
            "https://224.0.0.1/hook",
            "http://93.184.215.14/hook",
            "https://no-such-host.invalid/hook",
        ],
    )
    async def test_internal_and_unresolvable_addresses_are_refused(self, strict, ann, url):
        browser, _ = ann
        response = await browser.post(ME, json={"url": url, "event_types": PERSON_EVENTS})
        assert_problem(response, 422, "webhook-url-refused")

    async def test_a_name_that_resolves_to_loopback_is_refused(self, strict, ann, monkeypatch):
        async def resolver(host, port):
            return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("127.0.0.1")]

        monkeypatch.setattr(addresses, "system_resolver", resolver)
        browser, _ = ann
        response = await browser.post(
            ME, json={"url": "https://hooks.example.com/", "event_types": PERSON_EVENTS}
        )
        body = assert_problem(response, 422, "webhook-url-refused")
        # Refused without naming the address: the form must not be a lookup of internal names.
        assert "127.0.0.1" not in body["detail"] and "only to public addresses" in body["detail"]

    async def test_refusals_that_depend_on_dns_all_read_the_same(self, strict, ann):
        """Whether a name is internal or unknown must not be told apart: same words for both."""
        browser, _ = ann
        details = []
        for host in ("localhost", "no-such-host.invalid"):
            response = await browser.post(
                ME, json={"url": f"https://{host}/hook", "event_types": PERSON_EVENTS}
            )
            details.append(
                assert_problem(response, 422, "webhook-url-refused")["detail"].replace(host, "HOST")
            )
        assert details[0] == details[1]
        assert "resolve" in details[0] and "loopback" not in details[0]

    async def test_what_the_url_itself_shows_keeps_its_own_reason(self, strict, ann):
        browser, _ = ann
        literal = await browser.post(ME, json={"url": "https://127.0.0.1/hook", "event_types": PERSON_EVENTS})
        assert "loopback" in assert_problem(literal, 422, "webhook-url-refused")["detail"]
        plain = await browser.post(
            ME, json={"url": "http://hooks.example.com/", "event_types": PERSON_EVENTS}
        )
        assert "https://" in assert_problem(plain, 422, "webhook-url-refused")["detail"]

    async def test_a_name_that_resolves_to_public_addresses_is_accepted(self, strict, ann, monkeypatch):
        async def resolver(host, port):
            return [ipaddress.ip_address("93.184.215.14")]

        monkeypatch.setattr(addresses, "system_resolver", resolver)
        created = await register(ann[0], "https://hooks.example.com/opmaestro")
        assert created["url"] == "https://hooks.example.com/opmaestro"

    @pytest.mark.parametrize(
        ("address", "refused"),
        [
            ("8.8.8.8", False),
            ("2606:4700:4700::1111", False),
            ("127.0.0.53", True),
            ("10.1.2.3", True),
            ("172.16.0.1", True),
            ("169.254.169.254", True),
            ("100.100.100.200", True),
            ("198.18.0.1", True),
            ("255.255.255.255", True),
            ("::", True),
            ("fd00::1", True),
            ("ff02::1", True),
            ("::ffff:10.0.0.1", True),
            ("2002:7f00:1::", True),
        ],
    )
    def test_which_addresses_are_blocked(self, address, refused):
        assert addresses.blocked(ipaddress.ip_address(address)) is refused
