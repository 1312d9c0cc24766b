"""The application factory."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import opmaestro.tasks  # noqa: F401 - registers every domain's job handlers
from opmaestro import __version__
from opmaestro.api import BANNER_CORS_PATHS, include_routers
from opmaestro.core import jobs, migrations, ratelimit
from opmaestro.core.compression import CompressionMiddleware, mark_route_compressible
from opmaestro.core.config import JobBackend, RateLimitBackend, Settings, get_settings
from opmaestro.core.cors import ScopedCorsMiddleware
from opmaestro.core.db import create_engine, create_sessionmaker
from opmaestro.core.docs import mount_docs
from opmaestro.core.errors import install_error_handlers
from opmaestro.core.http import reject_unknown_query
from opmaestro.core.logging import configure_logging
from opmaestro.core.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from opmaestro.core.openapi import install_openapi
from opmaestro.core.security import configure_password_hashing
from opmaestro.core.spa import mount_spa

JOB_POOL_SIZE = 2
OPENAPI_URL = "/api/v1/openapi.json"
# A request allocates thousands of objects, so the default threshold (700) ran a collection
# every request or two; measured on consent PUTs at concurrency 16, collections took 0.3 ms of
# 2.5 ms CPU per request, and none with this threshold and start-up objects frozen.
GC_GEN0_THRESHOLD = 10_000
OPENAPI_TAGS = [
    {"name": "auth", "description": "Sign-up, email verification, sign-in and out, password reset, scopes."},
    {"name": "me", "description": "The signed-in user: profile, password, sessions, API tokens, two-factor."},
    {
        "name": "consent",
        "description": "Purposes, your consents and their signed receipts, unsubscribe links.",
    },
    {
        "name": "cookies",
        "description": "The cookie banner, cookie choices and their receipts, Global Privacy Control.",
    },
    {"name": "policies", "description": "The privacy policy, terms and notices in effect."},
    {
        "name": "dsar",
        "description": "Data subject requests: what we hold about you, exports, corrections and erasure.",
    },
    {"name": "oauth", "description": "OAuth 2.0 client credentials: access tokens for registered clients."},
    {
        "name": "dsar",
        "description": "Data subject requests: export, erasure and correction, by account or by email.",
    },
    {
        "name": "integrations",
        "description": "Connected tools (Google, Gusto, Stripe): connect, import, sync, disconnect.",
    },
    {
        "name": "webhooks",
        "description": "Signed provider callbacks (Stripe, Gusto, Google); a person's webhook endpoints.",
    },
    {
        "name": "clients",
        "description": "For OAuth clients (client credentials): their own outbound webhook endpoints.",
    },
    {
        "name": "billing",
        "description": "Plans, Stripe Checkout and the billing portal, your subscription and invoices.",
    },
    {"name": "admin", "description": "Staff: users, OAuth clients, purposes, campaigns, consent statistics."},
    {"name": "health", "description": "Liveness and readiness probes for load balancers and orchestrators."},
]


def tune_garbage_collector() -> None:
    """Leave start-up objects out of every collection and collect young objects less often."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, older, oldest)


def operation_id(route: APIRoute) -> str:
    """Stable `<tag>-<handler>` ids, so the generated client keeps its names."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def runs_embedded_worker(settings: Settings) -> bool:
    return settings.job_backend is not JobBackend.CELERY and settings.embedded_worker


def build_job_backend(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> jobs.JobBackend:
    if settings.job_backend is JobBackend.CELERY:
        from opmaestro.core.celery_app import CeleryDispatcher

        return CeleryDispatcher(settings)
    if not runs_embedded_worker(settings):
        return jobs.ExternalWorker()
    return jobs.EmbeddedWorker(jobs.JobRunner(sessionmaker, settings), lanes=jobs.lane_workers(settings))


def build_rate_limiter(settings: Settings) -> ratelimit.RateLimiter:
    if settings.rate_limit_backend is RateLimitBackend.REDIS:
        return ratelimit.in_redis(settings.redis_url)
    return ratelimit.in_memory()


def create_app(
    settings: Settings | None = None,
    *,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    job_backend: jobs.JobBackend | None = None,
) -> FastAPI:
    """Build the API; tests pass their own sessionmaker and job backend."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    configure_password_hashing(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engines = []
        if sessionmaker is None:
            engines.append(create_engine(settings))
            app.state.sessionmaker = create_sessionmaker(engines[-1])
        if job_backend is None:
            jobs_sessionmaker = app.state.sessionmaker
            if sessionmaker is None and runs_embedded_worker(settings):
                # In-process jobs get connections of their own: a slow SMTP server must never
                # leave requests waiting for a pooled connection.
                # The webhook lane's workers hold a connection only around each attempt, not during it.
                pool_size = JOB_POOL_SIZE + sum(jobs.lane_workers(settings).values())
                engines.append(create_engine(settings, pool_size=pool_size))
                jobs_sessionmaker = create_sessionmaker(engines[-1])
            app.state.job_backend = build_job_backend(settings, jobs_sessionmaker)
        await app.state.job_backend.start()
        if sessionmaker is None:
            tune_garbage_collector()
        try:
            yield
        finally:
            await app.state.job_backend.stop()
            for engine in engines:
                await engine.dispose()

    app = FastAPI(
        title="OpMaestro API",
        version=__version__,
        summary="Accounts, consent and data-subject rights for the OpMaestro CRM.",
        openapi_tags=OPENAPI_TAGS,
        dependencies=[Depends(reject_unknown_query)],
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.migration_heads = migrations.heads()
    app.state.rate_limiter = build_rate_limiter(settings)
    if sessionmaker is not None:
        app.state.sessionmaker = sessionmaker
    if job_backend is not None:
        app.state.job_backend = job_backend
    install_error_handlers(app)
    # Innermost: the request context and security headers wrap the (maybe compressed) answer.
    app.add_middleware(CompressionMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.banner_origin_list:
        app.add_middleware(ScopedCorsMiddleware, paths=BANNER_CORS_PATHS, origins=settings.banner_origin_list)
    app.add_middleware(RequestContextMiddleware, settings=settings)
    include_routers(app)
    install_openapi(app)
    # The document is 140 KB of JSON, the same for every caller: gzipped, about 15 KB.
    mark_route_compressible(app, OPENAPI_URL)
    mount_docs(app)
    mount_spa(app, settings.spa_dir)
    return app
