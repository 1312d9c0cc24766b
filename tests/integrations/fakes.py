"""In-process fakes of Google, Gusto and Stripe, served over real HTTP on 127.0.0.1.

Each follows its provider's documented wire format for what we call: the authorization
redirect (with PKCE S256 checked at the token endpoint), the token endpoint (authorization code
and refresh; Gusto rotates refresh tokens, an old one is `invalid_grant`), revocation (Google
`/revoke`, Gusto `/oauth/revoke`, Stripe `/oauth/deauthorize` with the secret key as Basic
auth), and the reads: Google's OpenID userinfo and Calendar `events.list` (paged by
`nextPageToken`), Gusto's `/v1/token_info`, `/v1/companies/{id}` and its employees (paged by
`page`/`per`), Stripe's `/v1/account`.
"""

import asyncio
import base64
import hashlib
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import SecretStr

CLIENT_IDS = {
    "google": "google-client-id.apps.example",
    "gusto": "gusto-client-id",
    "stripe": "ca_TestClient",
}
CLIENT_SECRETS = {"google": "google-secret", "gusto": "gusto-secret", "stripe": "sk_test_platform"}
GOOGLE_SUB = "108234567890123456789"
GOOGLE_EMAIL = "ann.lee@gmail.example"
GUSTO_COMPANY = "c2b5a3c4-6f8d-4b7e-9a1f-3d2e1c0b9a87"
GUSTO_COMPANY_NAME = "Lee Bakery LLC"
STRIPE_ACCOUNT = "acct_1Nv0FGQ9RKHgCVdK"
STRIPE_BUSINESS = "Lee Bakery Online"
GOOGLE_SCOPE = " ".join(
    [
        "openid",
        "https://www.googleapis.com/auth/userinfo.email",
        "https://www.googleapis.com/auth/userinfo.profile",
        "https://www.googleapis.com/auth/calendar.readonly",
    ]
)


@dataclass
class Grant:
    provider: str
    scope: str
    refresh_token: str
    access_tokens: set[str] = field(default_factory=set)
    revoked: bool = False


@dataclass
class ProviderState:
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)  # by refresh token (current)
    access: dict[str, Grant] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    # Path -> how the next calls to it fail: "invalid_grant", "500", "hang", "401".
    failures: dict[str, str] = field(default_factory=dict)
    revoked_tokens: list[str] = field(default_factory=list)
    deauthorized: list[str] = field(default_factory=list)
    expires_in: int = 3599
    events: list[dict[str, Any]] = field(default_factory=list)
    employees: list[dict[str, Any]] = field(default_factory=list)
    # Scopes the fake grants instead of those asked for (a person unticking a box).
    granted_scope: dict[str, str] = field(default_factory=dict)

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]
        self.events = default_events()
        self.employees = default_employees()


def default_events() -> list[dict[str, Any]]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    events = [
        {
            "kind": "calendar#event",
            "id": f"evt{n:03d}",
            "status": "confirmed",
            "summary": f"Supplier call {n}",
            "description": "never imported",
            "attendees": [{"email": "someone@example.com"}],
            "start": {"dateTime": (start + timedelta(hours=n)).isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(hours=n, minutes=30)).isoformat(), "timeZone": "UTC"},
        }
        for n in range(3)
    ]
    events.append(
        {
            "kind": "calendar#event",
            "id": "evtallday",
            "status": "confirmed",
            "summary": "Inventory day",
            "start": {"date": (start + timedelta(days=2)).date().isoformat()},
            "end": {"date": (start + timedelta(days=3)).date().isoformat()},
        }
    )
    events.append({"kind": "calendar#event", "id": "evtcancelled", "status": "cancelled"})
    return events


def default_employees() -> list[dict[str, Any]]:
    return [
        {
            "uuid": f"e{n:03d}0000-0000-4000-8000-000000000000",
            "first_name": f"Worker{n}",
            "last_name": "Baker",
            "email": f"worker{n}@leebakery.example",
            "ssn": "never imported",
            "date_of_birth": "1990-01-01",
            "jobs": [
                {
                    "uuid": f"j{n}",
                    "title": "Pastry chef" if n % 2 else "Cashier",
                    "primary": True,
                    "rate": "20.00",
                }
            ],
            "terminated": False,
        }
        for n in range(3)
    ]


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _oauth_error(error: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": f"fake: {error}"}, status_code=status)


class FakeProviders:
    def __init__(self) -> None:
        self.state = ProviderState()
        self.state.reset()
        self.app = self._build()
        self.base_url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # The server -----------------------------------------------------------------------------

    def start(self, port: int) -> None:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            threading.Event().wait(0.02)
        self.base_url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def settings_overrides(self) -> dict[str, Any]:
        base = self.base_url
        return {
            "google_client_id": CLIENT_IDS["google"],
            "google_client_secret": SecretStr(CLIENT_SECRETS["google"]),
            "google_authorize_url": f"{base}/google/o/oauth2/v2/auth",
            "google_token_url": f"{base}/google/token",
            "google_revoke_url": f"{base}/google/revoke",
            "google_userinfo_url": f"{base}/google/v1/userinfo",
            "google_api_base_url": f"{base}/google/calendar/v3",
            "gusto_client_id": CLIENT_IDS["gusto"],
            "gusto_client_secret": SecretStr(CLIENT_SECRETS["gusto"]),
            "gusto_authorize_url": f"{base}/gusto/oauth/authorize",
            "gusto_token_url": f"{base}/gusto/oauth/token",
            "gusto_revoke_url": f"{base}/gusto/oauth/revoke",
            "gusto_api_base_url": f"{base}/gusto",
            "stripe_client_id": CLIENT_IDS["stripe"],
            "stripe_client_secret": SecretStr(CLIENT_SECRETS["stripe"]),
            "stripe_authorize_url": f"{base}/stripe/oauth/authorize",
            "stripe_token_url": f"{base}/stripe/oauth/token",
            "stripe_revoke_url": f"{base}/stripe/oauth/deauthorize",
            "stripe_api_base_url": f"{base}/stripe",
        }

    # Helpers ---------------------------------------------------------------------------------

    async def _maybe_fail(self, name: str) -> Response | None:
        self.state.calls[name] += 1
        failure = self.state.failures.get(name)
        if failure == "hang":
            await asyncio.sleep(60)
        if failure == "500":
            return Response("<html>upstream error</html>", status_code=500, media_type="text/html")
        if failure == "401":
            return JSONResponse({"error": {"message": "Invalid credentials"}}, status_code=401)
        if failure:
            return _oauth_error(failure)
        return None

    def _issue(self, provider: str, scope: str) -> dict[str, Any]:
        access = secrets.token_urlsafe(24)
        refresh = secrets.token_urlsafe(24)
        grant = Grant(provider, scope, refresh, {access})
        self.state.grants[refresh] = grant
        self.state.access[access] = grant
        return {"access_token": access, "refresh_token": refresh, "grant": grant}

    def _bearer(self, request: Request, provider: str) -> Grant | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        grant = self.state.access.get(header.split(" ", 1)[1])
        return grant if grant and grant.provider == provider and not grant.revoked else None

    def _authorize(self, provider: str, query: dict[str, str]) -> Response:
        if query.get("client_id") != CLIENT_IDS[provider] or query.get("response_type") != "code":
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return JSONResponse(
                {"error": "invalid_request", "error_description": "PKCE required"}, status_code=400
            )
        code = secrets.token_urlsafe(16)
        self.state.codes[code] = {
            "provider": provider,
            "redirect_uri": query.get("redirect_uri"),
            "challenge": query["code_challenge"],
            # Google answers with the scopes' full names (`email` becomes `.../userinfo.email`).
            "scope": self.state.granted_scope.get(provider)
            or (GOOGLE_SCOPE if provider == "google" else query.get("scope", "")),
        }
        params = {"code": code, "state": query.get("state", "")}
        if provider == "google":
            params["scope"] = self.state.codes[code]["scope"]
        return RedirectResponse(f"{query['redirect_uri']}?{urlencode(params)}", status_code=302)

    async def _token(self, provider: str, request: Request) -> Response:
        if (failed := await self._maybe_fail(f"{provider}.token")) is not None:
            return failed
        form = await request.form()
        if (
            form.get("client_id") != CLIENT_IDS[provider]
            or form.get("client_secret") != CLIENT_SECRETS[provider]
        ):
            return _oauth_error("invalid_client", 401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            pending = self.state.codes.pop(str(form.get("code")), None)
            if pending is None or pending["provider"] != provider:
                return _oauth_error("invalid_grant")
            if pending["redirect_uri"] != form.get("redirect_uri"):
                return _oauth_error("invalid_grant")
            if _challenge(str(form.get("code_verifier", ""))) != pending["challenge"]:
                return _oauth_error("invalid_grant")
            issued = self._issue(provider, pending["scope"])
            return JSONResponse(self._token_body(provider, issued))
        if grant_type == "refresh_token":
            grant = self.state.grants.get(str(form.get("refresh_token")))
            if grant is None or grant.provider != provider or grant.revoked:
                return _oauth_error("invalid_grant")
            access = secrets.token_urlsafe(24)
            grant.access_tokens.add(access)
            self.state.access[access] = grant
            body: dict[str, Any] = {
                "access_token": access,
                "token_type": "bearer",
                "expires_in": self.state.expires_in,
            }
            if provider == "gusto":
                # Gusto rotates: the old refresh token is spent, a new one comes back.
                del self.state.grants[grant.refresh_token]
                grant.refresh_token = secrets.token_urlsafe(24)
                self.state.grants[grant.refresh_token] = grant
                body |= {
                    "refresh_token": grant.refresh_token,
                    "scope": grant.scope,
                    "created_at": datetime.now(UTC).isoformat(),
                }
            elif provider == "google":
                body |= {"scope": grant.scope, "token_type": "Bearer"}
            else:
                body |= {
                    "refresh_token": grant.refresh_token,
                    "scope": grant.scope,
                    "stripe_user_id": STRIPE_ACCOUNT,
                }
            self.state.calls[f"{provider}.refresh"] += 1
            return JSONResponse(body)
        return _oauth_error("unsupported_grant_type")

    def _token_body(self, provider: str, issued: dict[str, Any]) -> dict[str, Any]:
        grant: Grant = issued["grant"]
        if provider == "google":
            return {
                "access_token": issued["access_token"],
                "expires_in": self.state.expires_in,
                "refresh_token": issued["refresh_token"],
                "scope": grant.scope,
                "token_type": "Bearer",
                "id_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
            }
        if provider == "gusto":
            return {
                "access_token": issued["access_token"],
                "token_type": "bearer",
                "expires_in": 7200,
                "refresh_token": issued["refresh_token"],
                "scope": grant.scope,
                "created_at": datetime.now(UTC).isoformat(),
            }
        return {
            "access_token": issued["access_token"],
            "livemode": False,
            "refresh_token": issued["refresh_token"],
            "token_type": "bearer",
            "stripe_publishable_key": "pk_test_fake",
            "stripe_user_id": STRIPE_ACCOUNT,
            "scope": grant.scope,
        }

    def _revoke_token(self, provider: str, token: str) -> bool:
        grant = self.state.grants.get(token) or self.state.access.get(token)
        if grant is None or grant.provider != provider:
            return False
        grant.revoked = True
        self.state.revoked_tokens.append(token)
        return True

    # The app ---------------------------------------------------------------------------------

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.get("/google/o/oauth2/v2/auth")
        async def google_authorize(request: Request) -> Response:
            return self._authorize("google", dict(request.query_params))

        @app.post("/google/token")
        async def google_token(request: Request) -> Response:
            return await self._token("google", request)

        @app.post("/google/revoke")
        async def google_revoke(request: Request) -> Response:
            if (failed := await self._maybe_fail("google.revoke")) is not None:
                return failed
            form = await request.form()
            if not self._revoke_token("google", str(form.get("token"))):
                return _oauth_error("invalid_token")
            return JSONResponse({})

        @app.get("/google/v1/userinfo")
        async def google_userinfo(request: Request) -> Response:
            if (failed := await self._maybe_fail("google.userinfo")) is not None:
                return failed
            if self._bearer(request, "google") is None:
                return JSONResponse({"error": "invalid_request"}, status_code=401)
            return JSONResponse(
                {
                    "sub": GOOGLE_SUB,
                    "email": GOOGLE_EMAIL,
                    "email_verified": True,
                    "name": "Ann Lee",
                    "picture": "https://example.com/a.png",
                }
            )

        @app.get("/google/calendar/v3/calendars/primary/events")
        async def google_events(request: Request) -> Response:
            if (failed := await self._maybe_fail("google.events")) is not None:
                return failed
            if self._bearer(request, "google") is None:
                return JSONResponse(
                    {"error": {"code": 401, "message": "Invalid Credentials"}}, status_code=401
                )
            query = request.query_params
            if query.get("singleEvents") != "true" or not query.get("timeMin") or not query.get("timeMax"):
                return JSONResponse({"error": {"code": 400, "message": "Bad Request"}}, status_code=400)
            start = int(query.get("pageToken") or 0)
            size = 2
            page = self.state.events[start : start + size]
            body: dict[str, Any] = {"kind": "calendar#events", "summary": GOOGLE_EMAIL, "items": page}
            if start + size < len(self.state.events):
                body["nextPageToken"] = str(start + size)
            return JSONResponse(body)

        @app.get("/gusto/oauth/authorize")
        async def gusto_authorize(request: Request) -> Response:
            return self._authorize("gusto", dict(request.query_params))

        @app.post("/gusto/oauth/token")
        async def gusto_token(request: Request) -> Response:
            return await self._token("gusto", request)

        @app.post("/gusto/oauth/revoke")
        async def gusto_revoke(request: Request) -> Response:
            if (failed := await self._maybe_fail("gusto.revoke")) is not None:
                return failed
            form = await request.form()
            if (
                form.get("client_id") != CLIENT_IDS["gusto"]
                or form.get("client_secret") != CLIENT_SECRETS["gusto"]
            ):
                return _oauth_error("invalid_client", 401)
            self._revoke_token("gusto", str(form.get("token")))
            return JSONResponse({})

        def gusto_grant(request: Request) -> Grant | None:
            if request.headers.get("x-gusto-api-version") is None:
                return None
            return self._bearer(request, "gusto")

        @app.get("/gusto/v1/token_info")
        async def gusto_token_info(request: Request) -> Response:
            if (failed := await self._maybe_fail("gusto.token_info")) is not None:
                return failed
            grant = gusto_grant(request)
            if grant is None:
                return JSONResponse({"message": "Unauthorized"}, status_code=401)
            return JSONResponse(
                {
                    "scope": grant.scope,
                    "resource": {"type": "Company", "uuid": GUSTO_COMPANY},
                    "resource_owner": {
                        "type": "CompanyAdmin",
                        "uuid": "a1b2c3d4-0000-4000-8000-000000000001",
                    },
                }
            )

        @app.get("/gusto/v1/companies/{company_id}")
        async def gusto_company(company_id: str, request: Request) -> Response:
            if gusto_grant(request) is None:
                return JSONResponse({"message": "Unauthorized"}, status_code=401)
            if company_id != GUSTO_COMPANY:
                return JSONResponse({"errors": [{"error_key": "company"}]}, status_code=404)
            return JSONResponse(
                {
                    "uuid": GUSTO_COMPANY,
                    "name": GUSTO_COMPANY_NAME,
                    "trade_name": "Lee's",
                    "ein": "00-0000000",
                }
            )

        @app.get("/gusto/v1/companies/{company_id}/employees")
        async def gusto_employees(company_id: str, request: Request) -> Response:
            if (failed := await self._maybe_fail("gusto.employees")) is not None:
                return failed
            if gusto_grant(request) is None:
                return JSONResponse({"message": "Unauthorized"}, status_code=401)
            page = int(request.query_params.get("page", "1"))
            per = int(request.query_params.get("per", "25"))
            return JSONResponse(self.state.employees[(page - 1) * per : page * per])

        @app.get("/stripe/oauth/authorize")
        async def stripe_authorize(request: Request) -> Response:
            return self._authorize("stripe", dict(request.query_params))

        @app.post("/stripe/oauth/token")
        async def stripe_token(request: Request) -> Response:
            return await self._token("stripe", request)

        @app.post("/stripe/oauth/deauthorize")
        async def stripe_deauthorize(request: Request) -> Response:
            if (failed := await self._maybe_fail("stripe.deauthorize")) is not None:
                return failed
            expected = "Basic " + base64.b64encode(f"{CLIENT_SECRETS['stripe']}:".encode()).decode()
            if request.headers.get("authorization") != expected:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            form = await request.form()
            if form.get("client_id") != CLIENT_IDS["stripe"] or form.get("stripe_user_id") != STRIPE_ACCOUNT:
                return _oauth_error("invalid_client")
            for grant in self.state.grants.values():
                if grant.provider == "stripe":
                    grant.revoked = True
            self.state.deauthorized.append(STRIPE_ACCOUNT)
            return JSONResponse({"stripe_user_id": STRIPE_ACCOUNT})

        @app.get("/stripe/v1/account")
        async def stripe_account(request: Request) -> Response:
            if (failed := await self._maybe_fail("stripe.account")) is not None:
                return failed
            if self._bearer(request, "stripe") is None:
                return JSONResponse(
                    {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}},
                    status_code=401,
                )
            return JSONResponse(
                {
                    "id": STRIPE_ACCOUNT,
                    "object": "account",
                    "business_profile": {"name": STRIPE_BUSINESS, "support_email": "never@imported.example"},
                    "email": "never@imported.example",
                    "settings": {"dashboard": {"display_name": "Lee Bakery"}},
                    "charges_enabled": True,
                }
            )

        return app
