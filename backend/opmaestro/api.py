"""The /api/v1 routes: every domain's routers, in one list."""

from fastapi import APIRouter, FastAPI

from opmaestro.accounts.routers import admin as accounts_admin
from opmaestro.accounts.routers import mfa, oauth, profile, security
from opmaestro.accounts.routers.auth import auth_router, scopes_router
from opmaestro.billing.router import router as billing_router
from opmaestro.consent.clients_router import router as consent_clients_router
from opmaestro.consent.router import admin_router as consent_admin_router
from opmaestro.consent.router import campaigns_router, stats_router, unsubscribe_router
from opmaestro.consent.router import me_router as consent_me_router
from opmaestro.consent.router import purposes_router as consent_purposes_router
from opmaestro.consent.router import wellknown_router as consent_wellknown_router
from opmaestro.cookies.router import CROSS_ORIGIN_PATHS
from opmaestro.cookies.router import admin_router as cookies_admin_router
from opmaestro.cookies.router import public_router as cookies_public_router
from opmaestro.cookies.router import wellknown_router as cookies_wellknown_router
from opmaestro.dsar import access_router as dsar_access
from opmaestro.dsar import holds_router
from opmaestro.dsar.router import admin_router as dsar_admin_router
from opmaestro.dsar.router import me_router as dsar_me_router
from opmaestro.dsar.router import public_router as dsar_public_router
from opmaestro.health.router import router as health_router
from opmaestro.integrations.router import router as integrations_router
from opmaestro.policies.router import router as policies_router
from opmaestro.webhooks.inbound.router import admin_router as inbound_webhooks_admin_router
from opmaestro.webhooks.inbound.router import router as inbound_webhooks_router
from opmaestro.webhooks.outbound.router import client_router as webhooks_client_router
from opmaestro.webhooks.outbound.router import me_router as webhooks_me_router

API_PREFIX = "/api/v1"
# Requests are matched against these in order, router by router, so the busiest come first.
DOMAIN_ROUTERS: list[APIRouter] = [
    health_router,
    # Providers deliver in bursts, and each delivery must be answered fast.
    inbound_webhooks_router,
    cookies_public_router,
    profile.router,
    security.router,
    mfa.router,
    consent_me_router,
    auth_router,
    scopes_router,
    oauth.router,
    policies_router,
    accounts_admin.router,
    unsubscribe_router,
    campaigns_router,
    consent_purposes_router,
    consent_admin_router,
    consent_clients_router,
    stats_router,
    dsar_me_router,
    dsar_public_router,
    dsar_admin_router,
    dsar_access.router,
    holds_router.router,
    cookies_admin_router,
    integrations_router,
    webhooks_me_router,
    webhooks_client_router,
    inbound_webhooks_admin_router,
    billing_router,
]
# Served at the root, outside /api/v1: well-known documents.
ROOT_ROUTERS = [consent_wellknown_router, cookies_wellknown_router]
# API paths a cookie banner on another site may call (CORS for OPMAESTRO_BANNER_ORIGINS only).
BANNER_CORS_PATHS = frozenset(f"{API_PREFIX}{path}" for path in CROSS_ORIGIN_PATHS)


def include_routers(app: FastAPI) -> None:
    """Add every router to the app itself: each level of nested routers is matched again per request."""
    for domain_router in DOMAIN_ROUTERS:
        app.include_router(domain_router, prefix=API_PREFIX)
    for root_router in ROOT_ROUTERS:
        app.include_router(root_router)
