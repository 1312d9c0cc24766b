import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from opmaestro.core import jobs
from opmaestro.main import create_app


class StoppedWorker(jobs.ExternalWorker):
    async def is_ready(self) -> bool:
        return False


async def get(app, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path)


async def test_liveness(client):
    response = await client.get("/api/v1/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_ready_when_database_is_migrated_and_jobs_run(client):
    response = await client.get("/api/v1/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert {check["name"]: check["ok"] for check in body["checks"]} == {
        "database": True,
        "migrations": True,
        "jobs": True,
    }


async def test_not_ready_when_migrations_are_behind(app):
    app.state.migration_heads = frozenset({"9999_future"})
    response = await get(app, "/api/v1/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    checks = {check["name"]: check for check in response.json()["checks"]}
    assert not checks["migrations"]["ok"] and "9999_future" in checks["migrations"]["detail"]
    assert checks["database"]["ok"]


async def test_not_ready_when_database_is_unreachable(settings, tmp_dir):
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_dir / 'missing-dir' / 'x.db'}")
    app = create_app(settings, sessionmaker=async_sessionmaker(engine), job_backend=jobs.ExternalWorker())
    response = await get(app, "/api/v1/health/ready")
    await engine.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["type"] == "urn:opmaestro:problem:not-ready"
    assert "database" in body["detail"]


@pytest.mark.parametrize("backend", [StoppedWorker()])
async def test_not_ready_when_job_backend_is_down(settings, sessionmaker, backend):
    app = create_app(settings, sessionmaker=sessionmaker, job_backend=backend)
    response = await get(app, "/api/v1/health/ready")
    assert response.status_code == 503
    assert response.json()["detail"] == "Failing checks: jobs."


async def test_served_app_starts_its_worker_and_is_ready(settings, engine, committed_sessionmaker):
    # The app's own scheduler may enqueue a due periodic job in the shared test database;
    # committed_sessionmaker puts the database back afterwards, so no later test finds it queued.
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        response = await get(app, "/api/v1/health/ready")
        assert isinstance(app.state.job_backend, jobs.EmbeddedWorker)
    assert response.status_code == 200
