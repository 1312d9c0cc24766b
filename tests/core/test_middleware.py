import logging
import re

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import APIRouter

from opmaestro.core import jobs
from opmaestro.core.config import Settings
from opmaestro.main import create_app


class TestRequestId:
    async def test_generated_when_absent(self, client):
        first = await client.get("/api/v1/health")
        second = await client.get("/api/v1/health")
        assert len(first.headers["x-request-id"]) == 32
        assert first.headers["x-request-id"] != second.headers["x-request-id"]

    async def test_safe_incoming_id_is_kept(self, client):
        response = await client.get("/api/v1/health", headers={"X-Request-ID": "lb-7f3a.92_x"})
        assert response.headers["x-request-id"] == "lb-7f3a.92_x"

    @pytest.mark.parametrize("incoming", ["<script>", "a" * 129, "two words"])
    async def test_unsafe_incoming_id_is_replaced(self, client, incoming):
        response = await client.get("/api/v1/health", headers={"X-Request-ID": incoming})
        assert response.headers["x-request-id"] != incoming


class TestSecurityHeaders:
    async def test_api_responses_carry_them(self, client):
        response = await client.get("/api/v1/health")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert response.headers["cross-origin-opener-policy"] == "same-origin"
        assert response.headers["cache-control"] == "no-store"
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp
        assert "strict-transport-security" not in response.headers

    async def test_errors_carry_them_too(self, client):
        response = await client.get("/api/v1/missing")
        assert response.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]

    async def test_docs_page_loads_nothing_from_another_origin(self, client):
        response = await client.get("/docs")
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
        assert "http" not in policy
        loads = re.findall(r'(?:src|href)="([^"]*)"', response.text)
        assert "/api-docs/swagger-ui-bundle.js" in loads and "/api/v1/openapi.json" in loads
        assert all(url.startswith("/") and not url.startswith("//") for url in loads), loads
        assert "<script>" not in response.text  # no inline script: the policy would refuse it

    async def test_production_adds_hsts(self, sessionmaker):
        settings = Settings(
            environment="production",
            secret_key="s" * 40,
            public_base_url="https://privacy.example.com",
            integration_token_keys=Fernet.generate_key().decode(),
        )
        app = create_app(settings, sessionmaker=sessionmaker, job_backend=jobs.ExternalWorker())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            response = await client.get("/api/v1/health")
        assert response.headers["strict-transport-security"].startswith("max-age=")


class TestAccessLog:
    async def test_logs_route_template_not_the_raw_path(self, app, client, caplog):
        router = APIRouter(prefix="/api/v1/probe", tags=["probe"])

        @router.get("/unsubscribe/{token}")
        async def probe_token(token: str, email: str | None = None) -> dict[str, str]:
            return {"ok": token[:1]}

        app.include_router(router)
        with caplog.at_level(logging.INFO, logger="opmaestro.access"):
            await client.get("/api/v1/probe/unsubscribe/s3cr3t-t0ken?email=ann@example.com")
        [record] = [r for r in caplog.records if r.name == "opmaestro.access"]
        assert record.route == "/api/v1/probe/unsubscribe/{token}"
        assert record.status == 200 and record.method == "GET"
        assert "s3cr3t" not in record.getMessage() and not hasattr(record, "client")

    async def test_unmatched_paths_are_not_logged_verbatim(self, client, caplog):
        with caplog.at_level(logging.INFO, logger="opmaestro.access"):
            await client.get("/api/v1/reset/ann@example.com")
        [record] = [r for r in caplog.records if r.name == "opmaestro.access"]
        assert (record.route, record.status) == ("unmatched", 404)
