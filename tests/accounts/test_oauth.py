"""OAuth 2.0 clients, the client-credentials grant and the JWTs it issues."""

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pyotp
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import select

from opmaestro.accounts.models import OAuthClient, Role
from opmaestro.audit.models import AuditRecord
from opmaestro.core import jwt
from opmaestro.core.clock import utcnow
from tests.factories import create_user, sign_in
from tests.problems import assert_problem as problem_of

CLIENTS = "/api/v1/admin/oauth-clients"
TOKEN = "/api/v1/oauth/token"
USERS = "/api/v1/admin/users?reason=nightly%20CRM%20sync"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(unb64url(header)), json.loads(unb64url(payload))


def signing_input(header: dict[str, Any], payload: dict[str, Any]) -> bytes:
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}".encode()


def rs256(private_key: rsa.RSAPrivateKey, header: dict[str, Any], payload: dict[str, Any]) -> str:
    data = signing_input(header, payload)
    signature = private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return f"{data.decode()}.{b64url(signature)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def admin(session, client):
    secret = pyotp.random_base32()
    user = await create_user(session, "admin@example.com", role=Role.ADMIN, mfa_secret=secret)
    await sign_in(client, user.email, otp_secret=secret)
    return user


@pytest.fixture
def third_party(make_client) -> httpx.AsyncClient:
    """The client application: no cookies, only what it sends."""
    return make_client()


async def register(client: httpx.AsyncClient, scopes: list[str], name: str = "Acme CRM") -> dict[str, Any]:
    response = await client.post(CLIENTS, json={"name": name, "scopes": scopes})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def request_token(api: httpx.AsyncClient, registered: dict[str, Any], **form: str) -> httpx.Response:
    body = {
        "grant_type": "client_credentials",
        "client_id": registered["client_id"],
        "client_secret": registered["client_secret"],
    } | form
    return await api.post(TOKEN, data=body)


async def access_token(api: httpx.AsyncClient, registered: dict[str, Any], **form: str) -> str:
    response = await request_token(api, registered, **form)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


class TestClientRegistration:
    async def test_admin_registers_a_client_and_sees_the_secret_once(self, client, admin, session):
        created = await register(client, ["profile:read", "admin:users:read"])

        assert created["client_id"].startswith("opm_ci_")
        assert created["client_secret"].startswith("opm_cs_")
        assert created["scopes"] == ["admin:users:read", "profile:read"]
        assert created["revoked_at"] is None
        listed = (await client.get(CLIENTS)).json()["items"]
        assert [item["client_id"] for item in listed] == [created["client_id"]]
        assert "client_secret" not in listed[0] and "secret_hash" not in listed[0]
        stored = await session.scalar(
            select(OAuthClient).where(OAuthClient.client_id == created["client_id"])
        )
        assert stored is not None and created["client_secret"] not in stored.secret_hash

    async def test_unknown_scopes_are_refused(self, client, admin):
        response = await client.post(CLIENTS, json={"name": "Acme", "scopes": ["everything"]})

        problem_of(response, 422, "validation")

    async def test_the_list_is_paginated_newest_first(self, client, admin):
        names = ["first", "second", "third"]
        for name in names:
            await register(client, ["profile:read"], name=name)

        first = (await client.get(CLIENTS, params={"limit": 2})).json()
        second = (await client.get(CLIENTS, params={"limit": 2, "cursor": first["next_cursor"]})).json()

        assert [item["name"] for item in first["items"]] == ["third", "second"]
        assert [item["name"] for item in second["items"]] == ["first"]
        assert second["next_cursor"] is None

    async def test_revoking_marks_the_client_and_a_second_revoke_is_not_found(self, client, admin):
        created = await register(client, ["profile:read"])

        assert (await client.delete(f"{CLIENTS}/{created['id']}")).status_code == 204

        listed = (await client.get(CLIENTS)).json()["items"]
        assert listed[0]["revoked_at"] is not None
        problem_of(await client.delete(f"{CLIENTS}/{created['id']}"), 404, "client-not-found")

    async def test_members_are_forbidden(self, client, session):
        member = await create_user(session)
        await sign_in(client, member.email)

        problem_of(
            await client.post(CLIENTS, json={"name": "x", "scopes": ["profile:read"]}), 403, "forbidden"
        )
        problem_of(await client.get(CLIENTS), 403, "forbidden")

    async def test_anonymous_callers_must_sign_in(self, client):
        problem_of(
            await client.post(CLIENTS, json={"name": "x", "scopes": ["profile:read"]}),
            401,
            "not-authenticated",
        )
        problem_of(await client.get(CLIENTS), 401, "not-authenticated")


class TestClientCredentialsGrant:
    async def test_form_credentials_get_a_signed_jwt(self, client, admin, third_party, session, settings):
        registered = await register(client, ["admin:users:read", "profile:read"])

        response = await request_token(third_party, registered)

        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == settings.oauth_token_minutes * 60
        assert body["scope"] == "admin:users:read profile:read"
        header, claims = parts(body["access_token"])
        assert header["alg"] == "RS256"
        assert header["kid"] in {key["kid"] for key in await jwt.public_keys(session)}
        assert claims["sub"] == registered["client_id"]
        assert claims["iss"] == settings.public_base_url
        assert claims["aud"] == settings.api_audience
        assert claims["exp"] - claims["iat"] == settings.oauth_token_minutes * 60

    async def test_http_basic_credentials_work_too(self, client, admin, third_party):
        registered = await register(client, ["profile:read"])

        response = await third_party.post(
            TOKEN,
            data={"grant_type": "client_credentials"},
            auth=(registered["client_id"], registered["client_secret"]),
        )

        assert response.status_code == 200, response.text
        assert response.json()["scope"] == "profile:read"

    async def test_basic_with_the_same_client_id_in_the_form_works(self, client, admin, third_party):
        registered = await register(client, ["profile:read"])

        response = await third_party.post(
            TOKEN,
            data={"grant_type": "client_credentials", "client_id": registered["client_id"]},
            auth=(registered["client_id"], registered["client_secret"]),
        )

        assert response.status_code == 200, response.text

    @pytest.mark.parametrize(
        "form",
        [
            pytest.param(lambda a, b: {"client_id": a["client_id"]}, id="another-clients-id"),
            pytest.param(lambda a, b: {"client_secret": b["client_secret"]}, id="the-secret-again"),
            pytest.param(lambda a, b: {"client_secret": a["client_secret"]}, id="another-clients-secret"),
            pytest.param(
                lambda a, b: {"client_id": a["client_id"], "client_secret": a["client_secret"]},
                id="another-clients-id-and-secret",
            ),
        ],
    )
    async def test_two_ways_of_authenticating_at_once_are_an_invalid_request(
        self, client, admin, third_party, form
    ):
        """RFC 6749 §2.3: a client must not use more than one authentication method in a request."""
        first = await register(client, ["profile:read"], name="First")
        second = await register(client, ["admin:users:read"], name="Second")

        response = await third_party.post(
            TOKEN,
            data={"grant_type": "client_credentials"} | form(first, second),
            auth=(second["client_id"], second["client_secret"]),
        )

        body = problem_of(response, 400, "invalid-request")
        assert body["error"] == "invalid_request"
        assert "access_token" not in body

    @pytest.mark.parametrize("repeated", ["client_id", "client_secret", "grant_type"])
    async def test_a_parameter_sent_twice_is_an_invalid_request(self, client, admin, third_party, repeated):
        """RFC 6749 §3.2: the last one must not quietly win (another client's id, a guessed secret)."""
        first = await register(client, ["profile:read"], name="First")
        second = await register(client, ["profile:read"], name="Second")
        pairs = [
            ("grant_type", "client_credentials"),
            ("client_id", second["client_id"]),
            ("client_secret", second["client_secret"]),
        ]
        earlier = {"client_id": first["client_id"], "client_secret": "wrong", "grant_type": "password"}
        body = [(repeated, earlier[repeated]), *pairs]

        response = await third_party.post(
            TOKEN, content=urlencode(body), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )

        problem = problem_of(response, 400, "invalid-request")
        assert problem["error"] == "invalid_request" and repeated in problem["detail"]

    async def test_a_requested_subset_of_scopes_is_all_the_token_gets(self, client, admin, third_party):
        registered = await register(client, ["admin:users:read", "profile:read"])

        response = await request_token(third_party, registered, scope="profile:read")

        assert response.json()["scope"] == "profile:read"
        token = response.json()["access_token"]
        problem_of(await third_party.get(USERS, headers=bearer(token)), 403, "insufficient-scope")

    @pytest.mark.parametrize(
        "scope", ["admin:users:write", "profile:read admin:users:write", "no-such:scope"]
    )
    async def test_scopes_beyond_the_clients_grant_are_invalid(self, client, admin, third_party, scope):
        registered = await register(client, ["profile:read"])

        response = await request_token(third_party, registered, scope=scope)

        body = problem_of(response, 400, "invalid-scope")
        assert body["error"] == "invalid_scope"

    @pytest.mark.parametrize(
        "credentials",
        [
            pytest.param(lambda r: {"client_secret": r["client_secret"] + "x"}, id="wrong-secret"),
            pytest.param(lambda r: {"client_id": "opm_ci_unknown"}, id="unknown-client"),
            pytest.param(lambda r: {"client_id": r["client_secret"]}, id="secret-as-id"),
        ],
    )
    async def test_bad_client_credentials_are_invalid_client(self, client, admin, third_party, credentials):
        registered = await register(client, ["profile:read"])

        response = await request_token(third_party, registered, **credentials(registered))

        body = problem_of(response, 401, "invalid-client")
        assert body["error"] == "invalid_client"
        assert response.headers["www-authenticate"].startswith("Basic")
        assert "access_token" not in body

    async def test_wrong_basic_secret_is_invalid_client(self, client, admin, third_party):
        registered = await register(client, ["profile:read"])

        response = await third_party.post(
            TOKEN, data={"grant_type": "client_credentials"}, auth=(registered["client_id"], "opm_cs_guess")
        )

        assert problem_of(response, 401, "invalid-client")["error"] == "invalid_client"

    async def test_a_malformed_basic_header_is_invalid_client(self, third_party):
        response = await third_party.post(
            TOKEN, data={"grant_type": "client_credentials"}, headers={"Authorization": "Basic !!not-base64"}
        )

        assert problem_of(response, 401, "invalid-client")["error"] == "invalid_client"

    async def test_missing_credentials_are_invalid_client(self, third_party):
        response = await third_party.post(TOKEN, data={"grant_type": "client_credentials"})

        assert problem_of(response, 401, "invalid-client")["error"] == "invalid_client"

    @pytest.mark.parametrize("grant_type", ["password", "authorization_code", "refresh_token"])
    async def test_other_grants_are_unsupported(self, client, admin, third_party, grant_type):
        registered = await register(client, ["profile:read"])

        response = await request_token(third_party, registered, grant_type=grant_type)

        assert problem_of(response, 400, "unsupported-grant-type")["error"] == "unsupported_grant_type"

    async def test_a_revoked_client_gets_no_token_and_its_tokens_stop_working(
        self, client, admin, third_party
    ):
        registered = await register(client, ["admin:users:read"])
        token = await access_token(third_party, registered)
        assert (await third_party.get(USERS, headers=bearer(token))).status_code == 200

        assert (await client.delete(f"{CLIENTS}/{registered['id']}")).status_code == 204

        problem_of(await request_token(third_party, registered), 401, "invalid-client")
        problem_of(await third_party.get(USERS, headers=bearer(token)), 401, "not-authenticated")


class TestBearerAccess:
    async def test_the_token_reads_users_with_its_scope_and_the_read_is_audited(
        self, client, admin, third_party, session
    ):
        registered = await register(client, ["admin:users:read"])
        token = await access_token(third_party, registered)

        response = await third_party.get(USERS, headers=bearer(token))

        assert response.status_code == 200, response.text
        assert "admin@example.com" in [user["email"] for user in response.json()["items"]]
        record = await session.scalar(select(AuditRecord).where(AuditRecord.action == "admin.users.searched"))
        assert record is not None
        assert (record.actor_kind, str(record.actor_id)) == ("client", registered["id"])
        assert record.reason == "nightly CRM sync"

    async def test_a_token_without_the_scope_is_forbidden(self, client, admin, third_party):
        registered = await register(client, ["profile:read"])
        token = await access_token(third_party, registered)

        problem_of(await third_party.get(USERS, headers=bearer(token)), 403, "insufficient-scope")

    async def test_client_tokens_cannot_act_for_a_user(self, client, admin, third_party):
        registered = await register(client, ["profile:read", "admin:users:write"])
        token = await access_token(third_party, registered)

        problem_of(await third_party.get("/api/v1/me", headers=bearer(token)), 403, "forbidden")
        response = await third_party.patch(
            f"/api/v1/admin/users/{admin.id}",
            json={"role": "member", "reason": "client tries to demote"},
            headers=bearer(token),
        )
        problem_of(response, 403, "forbidden")


@dataclass
class Forger:
    """What an attacker (or a careless client) could put together, next to one valid token."""

    valid: str
    kid: str
    private_key: rsa.RSAPrivateKey
    public_pem: bytes
    claims: dict[str, Any]

    def signed(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        return rs256(self.private_key, {"alg": "RS256", "typ": "JWT", "kid": kid or self.kid}, claims)


@pytest.fixture
async def forger(client, admin, third_party, session, settings) -> Forger:
    registered = await register(client, ["admin:users:read"])
    token = await access_token(third_party, registered)
    header, claims = parts(token)
    key = await session.get(jwt.SigningKey, header["kid"])
    assert key is not None
    pem = jwt._fernet(settings.secret_key.get_secret_value()).decrypt(key.private_key.encode())
    private_key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Forger(token, header["kid"], private_key, public_pem, claims)


def alg_none(f: Forger) -> str:
    return signing_input({"alg": "none", "typ": "JWT", "kid": f.kid}, f.claims).decode() + "."


def hs256_with_public_key(f: Forger) -> str:
    data = signing_input({"alg": "HS256", "typ": "JWT", "kid": f.kid}, f.claims)
    return f"{data.decode()}.{b64url(hmac.new(f.public_pem, data, hashlib.sha256).digest())}"


def tampered_scope(f: Forger) -> str:
    header, _, signature = f.valid.split(".")
    payload = b64url(json.dumps(f.claims | {"scope": "admin:users:read admin:users:write"}).encode())
    return f"{header}.{payload}.{signature}"


def other_rsa_key_same_kid(f: Forger) -> str:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return rs256(stranger, {"alg": "RS256", "typ": "JWT", "kid": f.kid}, f.claims)


def without(claim: str) -> Callable[[Forger], str]:
    return lambda f: f.signed({k: v for k, v in f.claims.items() if k != claim})


FORGERIES = [
    pytest.param(alg_none, id="alg-none"),
    pytest.param(hs256_with_public_key, id="hs256-key-confusion"),
    pytest.param(tampered_scope, id="tampered-payload"),
    pytest.param(other_rsa_key_same_kid, id="other-key-same-kid"),
    pytest.param(lambda f: f.signed(f.claims, kid="no-such-key"), id="unknown-kid"),
    pytest.param(
        lambda f: f.signed(f.claims | {"aud": "https://elsewhere.example/api"}), id="wrong-audience"
    ),
    pytest.param(lambda f: f.signed(f.claims | {"iss": "https://evil.example"}), id="wrong-issuer"),
    pytest.param(without("exp"), id="missing-exp"),
    pytest.param(without("aud"), id="missing-aud"),
    pytest.param(without("iss"), id="missing-iss"),
    pytest.param(lambda f: f.valid + "x", id="garbled-signature"),
    pytest.param(lambda f: "not.a.jwt", id="garbage"),
]


class TestRefusedTokens:
    async def test_the_untouched_token_works(self, forger, third_party):
        assert (await third_party.get(USERS, headers=bearer(forger.valid))).status_code == 200

    async def test_a_token_re_signed_with_the_real_key_works(self, forger, third_party):
        """Guards the forgeries below: they fail for the one thing they change."""
        assert (await third_party.get(USERS, headers=bearer(forger.signed(forger.claims)))).status_code == 200

    @pytest.mark.parametrize("forge", FORGERIES)
    async def test_forged_or_misdirected_tokens_are_refused(self, forger, third_party, forge):
        response = await third_party.get(USERS, headers=bearer(forge(forger)))

        problem_of(response, 401, "not-authenticated")
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


class TestLifetime:
    async def test_a_token_past_its_lifetime_is_refused(self, client, admin, third_party, clock, settings):
        registered = await register(client, ["admin:users:read"])
        lifetime = settings.oauth_token_minutes
        clock.advance(minutes=-(lifetime + 2))
        expired = await access_token(third_party, registered)
        clock.advance(minutes=lifetime + 2)

        problem_of(await third_party.get(USERS, headers=bearer(expired)), 401, "not-authenticated")

    async def test_a_token_near_the_end_of_its_lifetime_still_works(
        self, client, admin, third_party, clock, settings
    ):
        registered = await register(client, ["admin:users:read"])
        lifetime = settings.oauth_token_minutes
        clock.advance(minutes=-(lifetime - 2))
        ageing = await access_token(third_party, registered)
        clock.advance(minutes=lifetime - 2)

        assert (await third_party.get(USERS, headers=bearer(ageing))).status_code == 200

    async def test_the_application_clock_governs_expiry(self, client, admin, third_party, clock, settings):
        registered = await register(client, ["admin:users:read"])
        token = await access_token(third_party, registered)

        clock.advance(minutes=settings.oauth_token_minutes + 2)

        problem_of(await third_party.get(USERS, headers=bearer(token)), 401, "not-authenticated")


class TestKeyRotation:
    async def test_tokens_from_the_previous_key_verify_until_they_expire(
        self, client, admin, third_party, session, settings, clock
    ):
        registered = await register(client, ["admin:users:read"])
        lifetime = settings.oauth_token_minutes
        clock.advance(minutes=-(lifetime + 2))
        old_expired = await access_token(third_party, registered)
        clock.advance(minutes=lifetime + 2)
        old_live = await access_token(third_party, registered)

        new_key = await jwt.rotate(session, settings.secret_key.get_secret_value())
        await session.commit()
        new = await access_token(third_party, registered)

        assert parts(old_live)[0]["kid"] != new_key.kid
        assert parts(new)[0]["kid"] == new_key.kid
        assert (await third_party.get(USERS, headers=bearer(old_live))).status_code == 200
        assert (await third_party.get(USERS, headers=bearer(new))).status_code == 200
        problem_of(await third_party.get(USERS, headers=bearer(old_expired)), 401, "not-authenticated")
        published = {key["kid"] for key in await jwt.public_keys(session)}
        assert {parts(old_live)[0]["kid"], new_key.kid} <= published

    async def test_the_retired_key_no_longer_signs(self, client, admin, third_party, session, settings):
        registered = await register(client, ["admin:users:read"])
        before = parts(await access_token(third_party, registered))[0]["kid"]

        await jwt.rotate(session, settings.secret_key.get_secret_value())
        await session.commit()

        retired = await session.get(jwt.SigningKey, before)
        assert retired is not None and retired.retired_at is not None
        assert retired.retired_at <= utcnow()
        assert parts(await access_token(third_party, registered))[0]["kid"] != before
