"""The API process serves the built SPA: deep links get index.html, hashed assets cache for a year."""

import httpx
import pytest

from opmaestro.core import jobs
from opmaestro.main import create_app

INDEX = (
    '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head></html>'
)


@pytest.fixture
def spa_dir(tmp_dir):
    (tmp_dir / "assets").mkdir()
    (tmp_dir / "index.html").write_text(INDEX)
    (tmp_dir / "assets" / "index-abc123.js").write_text("console.log('app')")
    (tmp_dir / "favicon.svg").write_text("<svg/>")
    return tmp_dir


def spa_client(settings, sessionmaker, spa_dir) -> httpx.AsyncClient:
    app = create_app(
        settings.model_copy(update={"spa_dir": spa_dir}),
        sessionmaker=sessionmaker,
        job_backend=jobs.ExternalWorker(),
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


class TestServeSpa:
    async def test_root_and_deep_links_get_the_shell(self, settings, sessionmaker, spa_dir):
        async with spa_client(settings, sessionmaker, spa_dir) as client:
            for path in ("/", "/profile", "/admin/users", "/verify-email?token=abc"):
                response = await client.get(path)
                assert response.status_code == 200, path
                assert response.text == INDEX
                assert response.headers["cache-control"] == "no-cache"
                assert response.headers["content-type"].startswith("text/html")
                assert "script-src 'self'" in response.headers["content-security-policy"]
                assert (
                    "unsafe-inline"
                    not in response.headers["content-security-policy"].split("script-src")[1].split(";")[0]
                )

    async def test_hashed_assets_are_cached_for_a_year(self, settings, sessionmaker, spa_dir):
        async with spa_client(settings, sessionmaker, spa_dir) as client:
            response = await client.get("/assets/index-abc123.js")
        assert response.status_code == 200
        assert response.text == "console.log('app')"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "javascript" in response.headers["content-type"]

    async def test_other_build_files_are_revalidated(self, settings, sessionmaker, spa_dir):
        async with spa_client(settings, sessionmaker, spa_dir) as client:
            response = await client.get("/favicon.svg")
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-cache"

    async def test_missing_asset_is_a_404_problem_not_the_shell(self, settings, sessionmaker, spa_dir):
        async with spa_client(settings, sessionmaker, spa_dir) as client:
            response = await client.get("/assets/index-old999.js")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"

    @pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
    async def test_unknown_api_paths_stay_problem_404s(self, settings, sessionmaker, spa_dir, method):
        async with spa_client(settings, sessionmaker, spa_dir) as client:
            response = await client.request(method, "/api/v1/no-such-thing")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"

    async def test_api_routes_still_answer(self, settings, sessionmaker, spa_dir):
        async with spa_client(settings, sessionmaker, spa_dir) as client:
            assert (await client.get("/api/v1/health")).json()["status"] == "ok"
            assert (await client.delete("/api/v1/health")).status_code == 405

    async def test_unsafe_methods_on_pages_are_405(self, settings, sessionmaker, spa_dir):
        async with spa_client(settings, sessionmaker, spa_dir) as client:
            response = await client.post("/profile", json={})
        assert response.status_code == 405
        assert response.headers["content-type"] == "application/problem+json"

    @pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"])
    async def test_paths_never_escape_the_build(self, settings, sessionmaker, spa_dir, path):
        (spa_dir.parent / f"{spa_dir.name}-secret.txt").write_text("not for the web")
        async with spa_client(settings, sessionmaker, spa_dir) as client:
            response = await client.get(path.replace("secret.txt", f"{spa_dir.name}-secret.txt"))
        assert "not for the web" not in response.text

    async def test_without_a_build_the_answer_says_how_to_build(self, settings, sessionmaker, tmp_dir):
        async with spa_client(settings, sessionmaker, tmp_dir / "missing") as client:
            response = await client.get("/profile")
        assert response.status_code == 404
        assert response.json()["type"].endswith("spa-not-built")
        assert "make run" in response.json()["detail"]
