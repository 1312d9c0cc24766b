"""The /api/v1 router: every domain's routers, in one list."""

from fastapi import APIRouter

from opmaestro.accounts.router import admin_router as accounts_admin_router
from opmaestro.accounts.router import auth_router, me_router, oauth_router, scopes_router
from opmaestro.consent.marketing_router import campaigns_router, unsubscribe_router
from opmaestro.consent.router import admin_router as consent_admin_router
from opmaestro.consent.router import me_router as consent_me_router
from opmaestro.consent.router import purposes_router as consent_purposes_router
from opmaestro.consent.router import wellknown_router as consent_wellknown_router
from opmaestro.consent.stats_router import stats_router as consent_stats_router
from opmaestro.health.router import router as health_router
from opmaestro.policies.router import router as policies_router

DOMAIN_ROUTERS = [
    health_router,
    auth_router,
    scopes_router,
    oauth_router,
    me_router,
    policies_router,
    accounts_admin_router,
    unsubscribe_router,
    campaigns_router,
    consent_purposes_router,
    consent_me_router,
    consent_admin_router,
    consent_stats_router,
]
# Served at the root, outside /api/v1: well-known documents.
ROOT_ROUTERS = [consent_wellknown_router]

api_router = APIRouter(prefix="/api/v1")
for domain_router in DOMAIN_ROUTERS:
    api_router.include_router(domain_router)
