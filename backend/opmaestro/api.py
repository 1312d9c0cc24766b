"""The /api/v1 router: every domain's routers, in one list."""

from fastapi import APIRouter

from opmaestro.accounts.router import admin_router as accounts_admin_router
from opmaestro.accounts.router import auth_router, me_router, oauth_router, scopes_router
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
]

api_router = APIRouter(prefix="/api/v1")
for domain_router in DOMAIN_ROUTERS:
    api_router.include_router(domain_router)
