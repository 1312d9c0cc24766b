"""The /api/v1 router: one include line per domain."""

from fastapi import APIRouter

from opmaestro.accounts.router import admin_router as accounts_admin_router
from opmaestro.accounts.router import auth_router, me_router, oauth_router, scopes_router
from opmaestro.health.router import router as health_router
from opmaestro.policies.router import router as policies_router

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(health_router)
api_router.include_router(auth_router)
api_router.include_router(scopes_router)
api_router.include_router(oauth_router)
api_router.include_router(me_router)
api_router.include_router(policies_router)
api_router.include_router(accounts_admin_router)
