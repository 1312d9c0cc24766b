"""The /api/v1 router: one include line per domain."""

from fastapi import APIRouter

from opmaestro.health.router import router as health_router

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(health_router)
