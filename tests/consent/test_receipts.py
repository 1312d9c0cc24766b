"""Consent receipts: signed JWS documents anyone can check with the published JWKS alone."""

import base64
import json
import uuid
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi.routing import APIRoute

from opmaestro.api import ROOT_ROUTERS
from opmaestro.core import jwt
from tests.consent.helpers import bearer, create_token, put_consent
from tests.factories import create_user, sign_in
from tests.problems import assert_problem
from tests.test_route_access import access_rules


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def b64int(part: str) -> int:
    return int.from_bytes(b64decode(part), "big")


async def verify_with_jwks(client, token: str) -> dict[str, Any]:
    """Check a compact JWS the way an outsider would: only the public JWKS document is used."""
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200, response.text
    keys = {key["kid"]: key for key in response.json()["keys"]}
    header_part, payload_part, signature_part = token.split(".")
    header = json.loads(b64decode(header_part))
    assert header["alg"] == "RS256"
    jwk = keys[header["kid"]]
    assert (jwk["kty"], jwk["alg"], jwk["use"]) == ("RSA", "RS256", "sig")
    public_key = rsa.RSAPublicNumbers(b64int(jwk["e"]), b64int(jwk["n"])).public_key()
    public_key.verify(
        b64decode(signature_part),
        f"{header_part}.{payload_part}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    claims: dict[str, Any] = json.loads(b64decode(payload_part))
    return claims


@pytest.fixture
async def ann(session):
    return await create_user(session, "ann@example.com", name="Ann Lee", country="FR")


@pytest.fixture
async def browser(client, ann):
    await sign_in(client, ann.email)
    return client


async def first_event_id(browser) -> str:
    items = (await browser.get("/api/v1/me/consents/events")).json()["items"]
    event_id: str = items[0]["id"]
    return event_id


async def receipt_of(browser, event_id: str, **kwargs: Any) -> dict[str, Any]:
    response = await browser.get(f"/api/v1/me/consents/events/{event_id}/receipt", **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestReceipt:
    async def test_verifies_with_the_published_keys_only(self, browser, ann, settings):
        await put_consent(browser, "marketing_email", True)
        event_id = await first_event_id(browser)
        body = await receipt_of(browser, event_id)
        claims = await verify_with_jwks(browser, body["receipt"])
        assert claims == body["claims"]
        assert claims["version"] == "KI-CR-v1.1.0"
        assert claims["consentReceiptID"] == event_id
        assert claims["piiPrincipalId"] == str(ann.id)
        assert (claims["jurisdiction"], claims["collectionMethod"], claims["action"]) == (
            "FR",
            "settings",
            "granted",
        )
        assert isinstance(claims["consentTimestamp"], int)
        [controller] = claims["piiControllers"]
        assert (
            controller["piiController"] == "OpMaestro"
            and controller["email"] == "no-reply@opmaestro.localhost"
        )
        assert claims["policyUrl"] == settings.public_base_url.rstrip("/") + "/privacy"
        assert claims["policyVersion"] == "2026-01"
        [service] = claims["services"]
        [purpose] = service["purposes"]
        assert purpose["purpose"] == "marketing_email" and purpose["consentType"] == "explicit"
        assert purpose["thirdPartyDisclosure"] is False and purpose["primaryPurpose"] is False
        assert claims["sensitive"] is False

    async def test_a_withdrawal_has_its_own_receipt(self, browser):
        await put_consent(browser, "analytics", True)
        await put_consent(browser, "analytics", False)
        body = await receipt_of(browser, await first_event_id(browser))
        assert (await verify_with_jwks(browser, body["receipt"]))["action"] == "withdrawn"

    async def test_tampered_receipt_fails_verification(self, browser):
        await put_consent(browser, "analytics", True)
        token = (await receipt_of(browser, await first_event_id(browser)))["receipt"]
        header, payload, signature = token.split(".")
        claims = json.loads(b64decode(payload)) | {"action": "denied"}
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        with pytest.raises(InvalidSignature):
            await verify_with_jwks(browser, f"{header}.{forged}.{signature}")

    async def test_old_receipts_verify_after_a_key_rotation(self, session, browser, settings):
        await put_consent(browser, "analytics", True)
        event_id = await first_event_id(browser)
        before = (await receipt_of(browser, event_id))["receipt"]
        await jwt.rotate(session, settings.secret_key.get_secret_value())
        await session.commit()
        after = (await receipt_of(browser, event_id))["receipt"]
        kid_of = [json.loads(b64decode(token.split(".")[0]))["kid"] for token in (before, after)]
        assert kid_of[0] != kid_of[1]
        assert (await verify_with_jwks(browser, before))["consentReceiptID"] == event_id
        assert (await verify_with_jwks(browser, after))["consentReceiptID"] == event_id

    async def test_token_with_consent_read_gets_receipts(self, browser, make_client):
        await put_consent(browser, "analytics", True)
        event_id = await first_event_id(browser)
        api = make_client()
        reader = await create_token(browser, "consent:read")
        body = await receipt_of(api, event_id, headers=bearer(reader))
        assert (await verify_with_jwks(api, body["receipt"]))["consentReceiptID"] == event_id
        profile = await create_token(browser, "profile:read")
        response = await api.get(f"/api/v1/me/consents/events/{event_id}/receipt", headers=bearer(profile))
        assert_problem(response, 403, "insufficient-scope")

    async def test_another_users_event_is_not_found(self, session, browser, make_client):
        await put_consent(browser, "analytics", True)
        event_id = await first_event_id(browser)
        bob = await create_user(session, "bob@example.com")
        other = make_client()
        await sign_in(other, bob.email)
        response = await other.get(f"/api/v1/me/consents/events/{event_id}/receipt")
        assert_problem(response, 404, "consent-event-not-found")

    async def test_unknown_event_is_404_and_malformed_id_422(self, browser):
        response = await browser.get(f"/api/v1/me/consents/events/{uuid.uuid4()}/receipt")
        assert_problem(response, 404, "consent-event-not-found")
        assert_problem(await browser.get("/api/v1/me/consents/events/nope/receipt"), 422, "validation")

    async def test_anonymous_is_401(self, client):
        response = await client.get(f"/api/v1/me/consents/events/{uuid.uuid4()}/receipt")
        assert_problem(response, 401, "not-authenticated")


class TestJwks:
    async def test_is_public_at_the_root(self, client):
        response = await client.get("/.well-known/jwks.json")
        assert response.status_code == 200, response.text
        assert "keys" in response.json()
        assert (await client.get("/api/v1/.well-known/jwks.json")).status_code == 404

    async def test_publishes_no_private_parts(self, browser):
        await put_consent(browser, "analytics", True)
        await receipt_of(browser, await first_event_id(browser))
        keys = (await browser.get("/.well-known/jwks.json")).json()["keys"]
        assert keys and all(not {"d", "p", "q", "dp", "dq", "qi"} & set(key) for key in keys)

    def test_root_routes_declare_exactly_one_access_rule(self):
        routes = [route for router in ROOT_ROUTERS for route in router.routes if isinstance(route, APIRoute)]
        assert routes
        for route in routes:
            rules = list(access_rules(route.dependant))
            assert len(rules) == 1 and rules[0].public, route.path
