"""The three providers: their settings, the OAuth 2 calls (Authlib's httpx client) and the reads.

Every call to a provider goes through `AsyncOAuth2Client`; its failures (an OAuth error such as
`invalid_grant`, a 5xx, a timeout, an answer that is not JSON) become `ProviderFailed`.
"""

import re
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import httpx
from authlib.integrations.base_client import OAuthError

# Authlib 1.9 prefers the `httpx2` package and warns, once, when it falls back to `httpx`. The
# project uses `httpx` everywhere (and catches its errors below), so the fallback is deliberate;
# left alone, the warning would also be the one line of the server log that is not JSON.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from opmaestro.core.clock import utcnow
from opmaestro.core.config import Settings
from opmaestro.core.links import public_url
from opmaestro.integrations.models import Provider

GOOGLE_SCOPES = ("openid", "email", "profile", "https://www.googleapis.com/auth/calendar.readonly")
GUSTO_SCOPES = ("companies:read", "employees:read")
STRIPE_SCOPES = ("read_only",)
# Upper bounds on one import, so a huge calendar or company cannot fill the database.
MAX_EVENTS = 2500
MAX_EMPLOYEES = 5000
GOOGLE_PAGE = 250
GUSTO_PAGE = 100
T = TypeVar("T")
# The client secret goes in the form body: what Google, Gusto and Stripe all accept.
CLIENT_AUTH = "client_secret_post"


class ProviderFailed(Exception):
    """A provider refused or could not answer; `code` is ours and safe to show, never its text."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class ProviderConfig:
    provider: Provider
    name: str
    client_id: str | None
    client_secret: str | None
    authorize_url: str
    token_url: str
    revoke_url: str
    api_base_url: str
    scopes: tuple[str, ...]
    authorize_params: dict[str, str] = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)


def config_of(settings: Settings, provider: Provider) -> ProviderConfig:
    """The provider's endpoints and credentials, from the settings."""
    prefix = provider.value
    secret = getattr(settings, f"{prefix}_client_secret")
    common: dict[str, Any] = {
        "provider": provider,
        "client_id": getattr(settings, f"{prefix}_client_id") or None,
        "client_secret": secret.get_secret_value() if secret else None,
        "authorize_url": getattr(settings, f"{prefix}_authorize_url"),
        "token_url": getattr(settings, f"{prefix}_token_url"),
        "revoke_url": getattr(settings, f"{prefix}_revoke_url"),
        "api_base_url": getattr(settings, f"{prefix}_api_base_url").rstrip("/"),
    }
    if provider is Provider.GOOGLE:
        # Offline access and a consent prompt, or Google sends no refresh token on a reconnect.
        return ProviderConfig(
            name="Google",
            scopes=GOOGLE_SCOPES,
            authorize_params={"access_type": "offline", "prompt": "consent"},
            **common,
        )
    if provider is Provider.GUSTO:
        return ProviderConfig(name="Gusto", scopes=GUSTO_SCOPES, **common)
    return ProviderConfig(name="Stripe", scopes=STRIPE_SCOPES, **common)


def redirect_uri(settings: Settings, provider: Provider) -> str:
    return public_url(settings, f"/api/v1/integrations/{provider.value}/callback")


@asynccontextmanager
async def oauth_client(
    settings: Settings, config: ProviderConfig, token: dict[str, Any] | None = None
) -> AsyncIterator[AsyncOAuth2Client]:
    async with AsyncOAuth2Client(
        client_id=config.client_id,
        client_secret=config.client_secret,
        token_endpoint_auth_method=CLIENT_AUTH,
        revocation_endpoint_auth_method=CLIENT_AUTH,
        redirect_uri=redirect_uri(settings, config.provider),
        code_challenge_method="S256",
        token=token,
        timeout=settings.integration_http_timeout_seconds,
        follow_redirects=False,
    ) as client:
        yield client


_SAFE_CODE = re.compile(r"[^A-Za-z0-9_.-]")


async def _guarded(call: Awaitable[T], what: str) -> T:
    try:
        return await call
    except OAuthError as error:
        # The provider chooses this text, and it reaches the page, the audit log and the logs:
        # only an OAuth error code's characters (RFC 6749 section 5.2) are kept.
        code = _SAFE_CODE.sub("", str(error.error or ""))[:64] or "oauth_error"
        raise ProviderFailed(code, f"The provider refused the {what} ({code}).") from None
    except httpx.TimeoutException:
        raise ProviderFailed("timeout", f"The provider did not answer the {what} in time.") from None
    except httpx.HTTPStatusError as error:
        status = error.response.status_code
        raise ProviderFailed(f"http_{status}", f"The provider answered the {what} with {status}.") from None
    except httpx.HTTPError:
        raise ProviderFailed("unreachable", f"The provider could not be reached for the {what}.") from None
    except (ValueError, KeyError, TypeError):
        raise ProviderFailed(
            "bad_response", f"The provider's answer to the {what} was not understood."
        ) from None


def authorization_url(settings: Settings, config: ProviderConfig, state: str, code_verifier: str) -> str:
    """Where to send the browser: the provider's consent page with our state and PKCE challenge."""
    client = AsyncOAuth2Client(
        client_id=config.client_id,
        redirect_uri=redirect_uri(settings, config.provider),
        scope=" ".join(config.scopes),
        code_challenge_method="S256",
    )
    url, _ = client.create_authorization_url(
        config.authorize_url, state=state, code_verifier=code_verifier, **config.authorize_params
    )
    return str(url)


async def exchange_code(
    settings: Settings, config: ProviderConfig, code: str, code_verifier: str
) -> dict[str, Any]:
    """The token response for an authorization code (with the PKCE verifier)."""
    async with oauth_client(settings, config) as client:
        token = await _guarded(
            client.fetch_token(
                config.token_url, grant_type="authorization_code", code=code, code_verifier=code_verifier
            ),
            "authorization code",
        )
    if not isinstance(token, dict) or not token.get("access_token"):
        raise ProviderFailed("bad_response", "The provider's token answer had no access token.")
    return dict(token)


async def refresh(settings: Settings, config: ProviderConfig, refresh_token: str) -> dict[str, Any]:
    """A new token for a refresh token (Gusto's answer carries a new refresh token too)."""
    async with oauth_client(settings, config) as client:
        token = await _guarded(client.refresh_token(config.token_url, refresh_token=refresh_token), "refresh")
    if not isinstance(token, dict) or not token.get("access_token"):
        raise ProviderFailed("bad_response", "The provider's refresh answer had no access token.")
    return dict(token)


async def revoke(
    settings: Settings,
    config: ProviderConfig,
    *,
    subject: str,
    access_token: str | None,
    refresh_token: str | None,
) -> None:
    """End the grant at the provider: Google and Gusto revoke the token, Stripe deauthorizes."""
    async with oauth_client(settings, config) as client:
        if config.provider is Provider.STRIPE:
            response = await _guarded(
                client.post(
                    config.revoke_url,
                    data={"client_id": config.client_id or "", "stripe_user_id": subject},
                    auth=(config.client_secret or "", ""),
                ),
                "deauthorization",
            )
        else:
            token = refresh_token or access_token
            if not token:
                return
            hint = "refresh_token" if refresh_token else "access_token"
            revocation = client.revoke_token(  # type: ignore[no-untyped-call]
                config.revoke_url, token=token, token_type_hint=hint
            )
            response = await _guarded(revocation, "revocation")
        if response.status_code >= 400:
            raise ProviderFailed(
                f"http_{response.status_code}",
                f"The provider answered the revocation with {response.status_code}.",
            )


@dataclass
class Identity:
    """Who the grant is for at the provider."""

    subject: str
    email: str | None = None
    name: str | None = None


@dataclass
class CalendarEvent:
    external_id: str
    title: str | None
    starts_at: datetime
    ends_at: datetime
    all_day: bool


@dataclass
class Employee:
    external_id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    job_title: str | None


@dataclass
class Slice:
    """Everything one import reads: the identity, and the provider's rows."""

    identity: Identity
    events: list[CalendarEvent] = field(default_factory=list)
    employees: list[Employee] = field(default_factory=list)


async def _get_json(client: AsyncOAuth2Client, url: str, what: str, **options: Any) -> Any:
    response = await _guarded(client.get(url, **options), what)
    if response.status_code >= 400:
        raise ProviderFailed(
            f"http_{response.status_code}", f"The provider answered the {what} with {response.status_code}."
        )
    return await _guarded(_json(response), what)


async def _json(response: httpx.Response) -> Any:
    return response.json()


def _text(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if isinstance(value, str) and value else None


def _when(value: dict[str, Any]) -> tuple[datetime, bool]:
    if value.get("dateTime"):
        parsed = datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ValueError("a dateTime without an offset")
        return parsed.astimezone(UTC), False
    return datetime.combine(date.fromisoformat(str(value["date"])), time(0), UTC), True


async def _google(
    client: AsyncOAuth2Client, settings: Settings, config: ProviderConfig, identity_only: bool
) -> Slice:
    info = await _get_json(client, settings.google_userinfo_url, "profile read")
    if not isinstance(info, dict) or not info.get("sub"):
        raise ProviderFailed("bad_response", "The provider's profile answer had no account id.")
    found = Slice(
        Identity(str(info["sub"])[:255], _text(info.get("email"), 320), _text(info.get("name"), 300))
    )
    if identity_only:
        return found
    now = utcnow()
    params: dict[str, Any] = {
        "timeMin": now.isoformat().replace("+00:00", "Z"),
        "timeMax": (now + timedelta(days=settings.integration_calendar_days))
        .isoformat()
        .replace("+00:00", "Z"),
        "singleEvents": "true",
        "orderBy": "startTime",
        "maxResults": GOOGLE_PAGE,
        "fields": "items(id,status,summary,start,end),nextPageToken",
    }
    while len(found.events) < MAX_EVENTS:
        page = await _get_json(
            client, f"{config.api_base_url}/calendars/primary/events", "calendar read", params=params
        )
        if not isinstance(page, dict):
            raise ProviderFailed("bad_response", "The provider's calendar answer was not understood.")
        for item in page.get("items") or []:
            if not isinstance(item, dict) or item.get("status") == "cancelled" or not item.get("id"):
                continue
            try:
                starts_at, all_day = _when(item["start"])
                ends_at, _ = _when(item["end"])
            except (KeyError, TypeError, ValueError, OverflowError):
                continue
            found.events.append(
                CalendarEvent(
                    str(item["id"])[:1024], _text(item.get("summary"), 1024), starts_at, ends_at, all_day
                )
            )
        next_page = page.get("nextPageToken")
        if not next_page:
            break
        params["pageToken"] = str(next_page)
    return found


def _job_title(employee: dict[str, Any]) -> str | None:
    jobs = [job for job in employee.get("jobs") or [] if isinstance(job, dict)]
    primary = next((job for job in jobs if job.get("primary")), jobs[0] if jobs else None)
    return _text(primary.get("title"), 300) if primary else None


async def _gusto(
    client: AsyncOAuth2Client, settings: Settings, config: ProviderConfig, identity_only: bool
) -> Slice:
    headers = {"X-Gusto-API-Version": settings.gusto_api_version}
    info = await _get_json(client, f"{config.api_base_url}/v1/token_info", "token read", headers=headers)
    resource = info.get("resource") if isinstance(info, dict) else None
    if not isinstance(resource, dict) or not resource.get("uuid"):
        raise ProviderFailed("bad_response", "The provider's token answer named no company.")
    company_id = str(resource["uuid"])[:255]
    company = await _get_json(
        client, f"{config.api_base_url}/v1/companies/{company_id}", "company read", headers=headers
    )
    name = company.get("name") if isinstance(company, dict) else None
    found = Slice(Identity(company_id, None, _text(name, 300)))
    if identity_only:
        return found
    page_number = 1
    while len(found.employees) < MAX_EMPLOYEES:
        page = await _get_json(
            client,
            f"{config.api_base_url}/v1/companies/{company_id}/employees",
            "employee read",
            headers=headers,
            params={"page": page_number, "per": GUSTO_PAGE},
        )
        if not isinstance(page, list):
            raise ProviderFailed("bad_response", "The provider's employee answer was not understood.")
        for employee in page:
            if not isinstance(employee, dict) or not employee.get("uuid"):
                continue
            found.employees.append(
                Employee(
                    str(employee["uuid"])[:255],
                    _text(employee.get("first_name"), 200),
                    _text(employee.get("last_name"), 200),
                    _text(employee.get("email") or employee.get("work_email"), 320),
                    _job_title(employee),
                )
            )
        if len(page) < GUSTO_PAGE:
            break
        page_number += 1
    return found


async def _stripe(
    client: AsyncOAuth2Client, settings: Settings, config: ProviderConfig, identity_only: bool
) -> Slice:
    account = await _get_json(client, f"{config.api_base_url}/v1/account", "account read")
    if not isinstance(account, dict) or not account.get("id"):
        raise ProviderFailed("bad_response", "The provider's account answer had no id.")
    profile = account.get("business_profile") if isinstance(account.get("business_profile"), dict) else {}
    dashboard = (
        (account.get("settings") or {}).get("dashboard")
        if isinstance(account.get("settings"), dict)
        else None
    )
    name = (profile or {}).get("name") or (
        dashboard.get("display_name") if isinstance(dashboard, dict) else None
    )
    return Slice(Identity(str(account["id"])[:255], None, _text(name, 300)))


Reader = Callable[[AsyncOAuth2Client, Settings, ProviderConfig, bool], Awaitable[Slice]]
READERS: dict[Provider, Reader] = {Provider.GOOGLE: _google, Provider.GUSTO: _gusto, Provider.STRIPE: _stripe}


async def read(
    settings: Settings, config: ProviderConfig, access_token: str, *, identity_only: bool = False
) -> Slice:
    """Read the provider's slice with an access token (only who it is, with `identity_only`)."""
    token = {"access_token": access_token, "token_type": "Bearer"}
    async with oauth_client(settings, config, token=token) as client:
        return await READERS[config.provider](client, settings, config, identity_only)
