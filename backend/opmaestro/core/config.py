"""Settings read from the environment (prefix OPMAESTRO_) and an optional .env file."""

import ipaddress
import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Self

from cryptography.fernet import Fernet
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from opmaestro.core.links import public_url

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEVELOPMENT_SECRET = "development-only-secret-change-me"
MIN_SECRET_LENGTH = 32


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class JobBackend(StrEnum):
    EMBEDDED = "embedded"
    CELERY = "celery"


class RateLimitBackend(StrEnum):
    MEMORY = "memory"
    REDIS = "redis"


class SmtpSecurity(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


# Addresses that mean "listen everywhere": links then name the loopback address instead.
_ALL_INTERFACES = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - compared with, never bound to


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only: 127.0.0.0/8, ::1 or localhost."""
    name = host.strip().removeprefix("[").removesuffix("]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_weak(secret: str) -> bool:
    return secret == DEVELOPMENT_SECRET or len(secret) < MIN_SECRET_LENGTH


class BillingInterval(StrEnum):
    MONTH = "month"
    YEAR = "year"


class BillingPlan(BaseModel):
    """A plan offered on the Billing page: its Stripe price, and what is shown for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1, max_length=100)
    price_id: str = Field(min_length=1, max_length=255)
    interval: BillingInterval = BillingInterval.MONTH
    amount: int = Field(ge=0, description="in the currency's minor unit (cents)")
    currency: str = Field(pattern=r"^[a-z]{3}$")
    features: tuple[str, ...] = ()


DEFAULT_PLANS = (
    BillingPlan(
        key="starter",
        name="Starter",
        price_id="price_opmaestro_starter_monthly",
        amount=2900,
        currency="eur",
        features=("Consent ledger and cookie banner", "Data requests with deadlines", "Email support"),
    ),
    BillingPlan(
        key="team",
        name="Team",
        price_id="price_opmaestro_team_monthly",
        amount=9900,
        currency="eur",
        features=("Everything in Starter", "Integrations and webhooks", "Priority support"),
    ),
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPMAESTRO_", env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    public_base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    database_url: str = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'opmaestro.db'}"
    database_echo: bool = False
    database_pool_size: int | None = Field(default=None, ge=1, le=200)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    spa_dir: Path = PROJECT_ROOT / "frontend" / "dist"
    log_level: str = "INFO"
    forwarded_allow_ips: str = ""

    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    account_deletion_grace_days: int = Field(default=30, ge=0)
    # Days between an erasure request and the erasure itself, while the person can still cancel.
    erasure_grace_days: int = Field(default=14, ge=0, le=365)
    rate_limit_backend: RateLimitBackend = RateLimitBackend.MEMORY
    # Argon2id cost; the defaults are RFC 9106's second recommended option (3 passes, 64 MiB).
    # Lower only where speed matters more than the cost of guessing, as in the test suite.
    password_hash_time_cost: int = Field(default=3, ge=1, le=10)
    password_hash_memory_kib: int = Field(default=65536, ge=1024, le=1_048_576)
    password_hash_parallelism: int = Field(default=4, ge=1, le=16)
    login_attempts_per_account: int = Field(default=10, ge=1)
    login_attempts_per_account_global: int = Field(default=100, ge=1)
    login_attempts_per_ip: int = Field(default=100, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    password_checks_per_user: int = Field(default=10, ge=1)
    # Sensitive actions (data requests) need the password or a two-factor code this recently.
    reauthentication_minutes: int = Field(default=10, ge=1, le=1440)
    mail_requests_per_address: int = Field(default=5, ge=1)
    mail_requests_per_ip: int = Field(default=50, ge=1)
    mail_request_window_seconds: int = Field(default=3600, ge=1)
    oauth_token_minutes: int = Field(default=60, ge=1, le=1440)

    # The cookie banner: sites allowed to call its two routes from a browser (comma-separated
    # origins such as https://www.example.com), how long a choice stands, whether DNT counts as GPC.
    banner_origins: str = ""
    cookie_reprompt_days: int = Field(default=365, ge=1, le=3650)
    honor_do_not_track: bool = False
    cookie_device_days: int = Field(default=395, ge=1, le=800)
    cookie_banner_max_age_seconds: int = Field(default=300, ge=0, le=86400)
    # How stale one process's copy of the banner may be after another process changed it.
    cookie_banner_recheck_seconds: float = Field(default=1.0, ge=0, le=60)
    cookie_consents_per_ip: int = Field(default=60, ge=1)
    cookie_consent_window_seconds: int = Field(default=60, ge=1)
    # OAuth clients' consent API (docs/consent-api.md): requests per client per window, and how
    # long ago a consent recorded from elsewhere may have been collected.
    consent_api_requests_per_client: int = Field(default=600, ge=1)
    consent_api_window_seconds: int = Field(default=60, ge=1)
    consent_api_evidence_max_age_days: int = Field(default=90, ge=1, le=3650)

    job_backend: JobBackend = JobBackend.EMBEDDED
    redis_url: str = "redis://127.0.0.1:6379/0"
    job_max_attempts: int = Field(default=5, ge=1, le=50)
    job_backoff_seconds: float = Field(default=2.0, ge=0)
    job_backoff_max_seconds: float = Field(default=3600.0, ge=0)
    job_lease_seconds: float = Field(default=300.0, gt=0)
    job_poll_seconds: float = Field(default=1.0, gt=0)
    scheduler_tick_seconds: float = Field(default=15.0, gt=0)
    job_keep_finished_days: int = Field(default=14, ge=1)
    embedded_worker: bool = True

    export_dir: Path = PROJECT_ROOT / "var" / "exports"
    export_ttl_days: int = Field(default=7, ge=1, le=90)

    # Connected tools (integrations): client credentials and endpoints per provider, so tests and
    # staging can point them elsewhere. A provider without a client id is shown as not configured.
    # Token keys: comma-separated Fernet keys; the first encrypts, all decrypt (rotation).
    integration_token_keys: SecretStr | None = None
    integration_refresh_margin_seconds: int = Field(default=300, ge=0, le=3600)
    integration_state_minutes: int = Field(default=10, ge=1, le=60)
    integration_http_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    integration_calendar_days: int = Field(default=30, ge=1, le=90)
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    google_authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    google_revoke_url: str = "https://oauth2.googleapis.com/revoke"
    google_userinfo_url: str = "https://openidconnect.googleapis.com/v1/userinfo"
    google_api_base_url: str = "https://www.googleapis.com/calendar/v3"
    gusto_client_id: str | None = None
    gusto_client_secret: SecretStr | None = None
    gusto_authorize_url: str = "https://api.gusto.com/oauth/authorize"
    gusto_token_url: str = "https://api.gusto.com/oauth/token"
    gusto_revoke_url: str = "https://api.gusto.com/oauth/revoke"
    gusto_api_base_url: str = "https://api.gusto.com"
    gusto_api_version: str = "2025-06-15"
    # Stripe Connect: the platform's `ca_...` client id, and its secret key as the client secret.
    stripe_client_id: str | None = None
    stripe_client_secret: SecretStr | None = None
    stripe_authorize_url: str = "https://connect.stripe.com/oauth/authorize"
    stripe_token_url: str = "https://connect.stripe.com/oauth/token"
    stripe_revoke_url: str = "https://connect.stripe.com/oauth/deauthorize"
    stripe_api_base_url: str = "https://api.stripe.com"

    # Inbound webhooks (docs/webhooks-inbound.md). The Stripe secret may be a comma-separated
    # list while it is rotated; unset, the route answers 404.
    stripe_webhook_secret: SecretStr | None = None
    stripe_webhook_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    # How far in the future a signed timestamp may be (the sender's clock runs ahead of ours).
    webhook_clock_skew_seconds: int = Field(default=60, ge=0, le=600)
    inbound_webhook_max_body_bytes: int = Field(default=262_144, ge=1024)
    # Handled and ignored events are deleted after this many days, failed ones after twice that.
    inbound_webhook_keep_days: int = Field(default=30, ge=1, le=365)
    # Gusto: the organization's system access token, to complete a webhook subscription's
    # verification at OPMAESTRO_GUSTO_API_BASE_URL; without it staff complete it by hand.
    gusto_webhook_api_token: SecretStr | None = None
    # Google Cross-Account Protection (RISC): where Google publishes its configuration (and so
    # its keys), the issuer, and our Google OAuth client id(s), comma-separated, as audience
    # (empty: OPMAESTRO_GOOGLE_CLIENT_ID).
    google_risc_configuration_url: str = "https://accounts.google.com/.well-known/risc-configuration"
    google_risc_issuer: str = "https://accounts.google.com/"
    google_risc_audiences: str = ""
    google_keys_cache_seconds: int = Field(default=3600, ge=1, le=86400)
    # At most one unplanned refetch of Google's keys (an unknown `kid`) per this many seconds.
    google_keys_refetch_seconds: float = Field(default=60.0, ge=0, le=3600)

    # Billing (docs/billing.md): Stripe's secret API key (unset, billing answers 503
    # billing-not-configured), its API address (tests point it at a fake), and the plans offered,
    # as a JSON list of {key, name, price_id, interval, amount, currency, features}.
    stripe_secret_key: SecretStr | None = None
    stripe_api_base: str = "https://api.stripe.com"
    stripe_timeout_seconds: float = Field(default=30.0, gt=0, le=120)
    stripe_max_network_retries: int = Field(default=2, ge=0, le=5)
    billing_plans: list[BillingPlan] = Field(default_factory=lambda: list(DEFAULT_PLANS))

    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = "OpMaestro <no-reply@opmaestro.localhost>"

    # Outbound webhooks. Signing secrets are encrypted at rest with these Fernet keys
    # (comma-separated, newest first: MultiFernet encrypts with the first, decrypts with any).
    webhook_secret_keys: SecretStr | None = None
    # Development and tests only: let endpoints point at loopback and private addresses.
    webhooks_allow_private_addresses: bool = False
    webhook_max_endpoints: int = Field(default=10, ge=1, le=100)
    # The whole of one attempt: connect, send and the complete answer.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Workers of the webhooks job lane, apart from those of every other job.
    webhook_workers: int = Field(default=2, ge=1, le=32)
    webhook_max_attempts: int = Field(default=8, ge=1, le=20)
    # Retry n waits a random time up to min(cap, base * 4**(n-1)) ("full jitter").
    webhook_retry_base_seconds: float = Field(default=30.0, ge=0)
    webhook_retry_max_seconds: float = Field(default=21600.0, ge=0)
    webhook_disable_after_failures: int = Field(default=15, ge=1, le=1000)
    webhook_rotation_grace_hours: int = Field(default=24, ge=0, le=720)
    webhook_delivery_retention_days: int = Field(default=30, ge=1, le=365)

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def banner_origin_list(self) -> tuple[str, ...]:
        return tuple(
            origin for origin in (entry.strip() for entry in self.banner_origins.split(",")) if origin
        )

    @property
    def stripe_webhook_secrets(self) -> tuple[str, ...]:
        raw = self.stripe_webhook_secret.get_secret_value() if self.stripe_webhook_secret else ""
        return tuple(secret for secret in (part.strip() for part in raw.split(",")) if secret)

    @property
    def google_risc_audience_list(self) -> tuple[str, ...]:
        """Who Google's security event tokens must be addressed to: the setting, or else the
        Google OAuth client id (the audience Google uses when nothing else is registered)."""
        listed = tuple(
            entry for entry in (part.strip() for part in self.google_risc_audiences.split(",")) if entry
        )
        return listed or ((self.google_client_id,) if self.google_client_id else ())

    @property
    def api_audience(self) -> str:
        return public_url(self, "/api/v1")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def unsafe_listen_address(self, host: str) -> str | None:
        """Why serving on `host` with this secret key is refused, or None when it is safe."""
        # The placeholder is public, so anyone who reaches the server could forge its signatures.
        if is_loopback(host) or not _is_weak(self.secret_key.get_secret_value()):
            return None
        return (
            f"refusing to listen on {host or 'every interface'} with the development or a short secret key: "
            f"set OPMAESTRO_SECRET_KEY to a random value of at least {MIN_SECRET_LENGTH} characters, "
            "or listen on a loopback address (127.0.0.1, ::1, localhost)"
        )

    @field_validator("banner_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        # An origin is compared exactly with the browser's Origin header: scheme://host[:port].
        for entry in (part.strip() for part in value.split(",")):
            if entry and not re.fullmatch(
                r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:\d{1,5})?", entry
            ):
                raise ValueError(f"{entry!r} is not an origin (scheme://host[:port], no path or wildcard)")
        return value

    @field_validator("integration_token_keys", "webhook_secret_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        # Each entry must be a Fernet key (32 bytes, URL-safe base64): a typo is refused at start
        # rather than at the first token or signature. Empty entries are ignored.
        if value is None:
            return None
        for entry in (part.strip() for part in value.get_secret_value().split(",")):
            if not entry:
                continue
            try:
                Fernet(entry)
            except ValueError:
                raise ValueError("each key must be a Fernet key (32 bytes, URL-safe base64)") from None
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        # uvicorn silently ignores an entry that is not an address or network; refuse typos instead.
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        if entries == ["*"]:
            return "*"
        for entry in entries:
            try:
                ipaddress.ip_network(entry)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return ",".join(entries)

    @field_validator("stripe_api_base")
    @classmethod
    def _stripe_api_base(cls, value: str) -> str:
        if not re.fullmatch(
            r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:\d{1,5})?", value
        ):
            raise ValueError(f"{value!r} is not scheme://host[:port] (no path)")
        return value

    @field_validator("billing_plans")
    @classmethod
    def _distinct_plans(cls, value: list[BillingPlan]) -> list[BillingPlan]:
        for attribute in ("key", "price_id"):
            seen = [getattr(plan, attribute) for plan in value]
            if len(seen) != len(set(seen)):
                raise ValueError(f"two billing plans share a {attribute}")
        return value

    @model_validator(mode="after")
    def _links_follow_the_server_unless_told(self) -> Self:
        # Emails and the demo admin's sign-in hint must point where `serve` listens when only
        # OPMAESTRO_PORT (or HOST) is changed; production always names its public URL.
        if "public_base_url" not in self.model_fields_set:
            host = "127.0.0.1" if self.host in _ALL_INTERFACES else self.host
            self.public_base_url = f"http://{f'[{host}]' if ':' in host else host}:{self.port}"
        return self

    @model_validator(mode="after")
    def _global_sign_in_limit_follows_the_pair_limit_unless_told(self) -> Self:
        if "login_attempts_per_account_global" not in self.model_fields_set:
            self.login_attempts_per_account_global = 10 * self.login_attempts_per_account
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if not self.is_production:
            return self
        problems = []
        secret = self.secret_key.get_secret_value()
        if _is_weak(secret):
            problems.append("OPMAESTRO_SECRET_KEY must be set to a random value of at least 32 characters")
        if not self.public_base_url.startswith("https://"):
            problems.append("OPMAESTRO_PUBLIC_BASE_URL must be an https:// URL")
        keys = self.integration_token_keys.get_secret_value() if self.integration_token_keys else ""
        if not any(key.strip() for key in keys.split(",")):
            problems.append("OPMAESTRO_INTEGRATION_TOKEN_KEYS must be set (Fernet keys, comma-separated)")
        if self.smtp_username and not (self.smtp_password and self.smtp_password.get_secret_value()):
            problems.append("OPMAESTRO_SMTP_PASSWORD must be set when OPMAESTRO_SMTP_USERNAME is")
        if not (self.webhook_secret_keys and self.webhook_secret_keys.get_secret_value().strip()):
            problems.append("OPMAESTRO_WEBHOOK_SECRET_KEYS must be set (Fernet keys, comma-separated)")
        if self.webhooks_allow_private_addresses:
            problems.append("OPMAESTRO_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES must be false")
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
