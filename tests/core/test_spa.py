"""The API process serves the built SPA: deep links get index.html, hashed assets cache for a year."""

import gzip

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


SCRIPT = b"console.log('the app');\n" * 200
BANNER = b"window.banner = true;\n" * 100


@pytest.fixture
def built_dist(tmp_dir):
    """A build as `npm run build` leaves it: brotli and gzip copies next to the text files (the
    brotli copies here are stand-ins: the server sends them as they are and never decodes them)."""
    (tmp_dir / "assets").mkdir()
    files = {
        "index.html": INDEX.encode(),
        "assets/index-abc123.js": SCRIPT,
        "banner.js": BANNER,
        "banner.css": b".banner { color: black }\n" * 50,
    }
    for name, content in files.items():
        (tmp_dir / name).write_bytes(content)
        (tmp_dir / f"{name}.gz").write_bytes(gzip.compress(content, mtime=0))
        (tmp_dir / f"{name}.br").write_bytes(b"BR:" + name.encode())
    (tmp_dir / "assets" / "logo-1a2b.png").write_bytes(b"\x89PNG not compressible")
    (tmp_dir / "assets" / "plain-9z.css").write_text("body{}")  # too small: no copies
    return tmp_dir


async def raw_get(client: httpx.AsyncClient, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent, not decoded."""
    async with client.stream("GET", path, headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


class TestPrecompressedFiles:
    @pytest.mark.parametrize(
        ("accept", "coding"),
        [
            ("gzip, deflate, br, zstd", "br"),
            ("br;q=0.5, gzip", "gzip"),
            ("gzip;q=0.8, br;q=0.9", "br"),
            ("br;q=0, gzip", "gzip"),
            ("*", "br"),
            ("*;q=0.1, br;q=0", "gzip"),
            ("x-gzip", "gzip"),
            ("identity", None),
            ("identity;q=1, br;q=0.5", None),
            ("deflate", None),
            ("", None),
            ("br;q=nonsense, gzip;q=0", None),
        ],
    )
    async def test_the_copy_the_client_prefers(self, settings, sessionmaker, built_dist, accept, coding):
        async with spa_client(settings, sessionmaker, built_dist) as client:
            response, body = await raw_get(client, "/assets/index-abc123.js", **{"Accept-Encoding": accept})
        expected = (
            SCRIPT
            if coding is None
            else (built_dist / "assets" / f"index-abc123.js.{'br' if coding == 'br' else 'gz'}").read_bytes()
        )
        assert response.status_code == 200
        assert body == expected
        assert response.headers.get("content-encoding") == coding
        assert response.headers["content-length"] == str(len(expected))
        assert response.headers["content-type"].startswith("text/javascript")
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"

    async def test_without_accept_encoding_the_file_itself(self, settings, sessionmaker, built_dist):
        app = create_app(
            settings.model_copy(update={"spa_dir": built_dist}),
            sessionmaker=sessionmaker,
            job_backend=jobs.ExternalWorker(),
        )
        transport = httpx.ASGITransport(app=app)
        # A bare request, without the Accept-Encoding a client adds by default.
        request = httpx.Request("GET", "http://testserver/assets/index-abc123.js")
        assert "accept-encoding" not in request.headers
        response = await transport.handle_async_request(request)
        body = await response.aread()
        assert body == SCRIPT and "content-encoding" not in response.headers
        assert response.headers["vary"] == "Accept-Encoding"

    async def test_gzip_copy_decodes_to_the_file(self, settings, sessionmaker, built_dist):
        async with spa_client(settings, sessionmaker, built_dist) as client:
            response = await client.get("/assets/index-abc123.js", headers={"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip"
        assert response.content == SCRIPT

    async def test_each_copy_has_its_own_etag_and_revalidates(self, settings, sessionmaker, built_dist):
        async with spa_client(settings, sessionmaker, built_dist) as client:
            tags = {}
            for accept in ("br", "gzip", "identity"):
                response, _ = await raw_get(client, "/assets/index-abc123.js", **{"Accept-Encoding": accept})
                tags[accept] = response.headers["etag"]
            assert len(set(tags.values())) == 3, tags
            revalidated = await client.get(
                "/assets/index-abc123.js", headers={"Accept-Encoding": "br", "If-None-Match": tags["br"]}
            )
            assert revalidated.status_code == 304 and revalidated.content == b""
            assert revalidated.headers["etag"] == tags["br"]
            assert revalidated.headers["vary"] == "Accept-Encoding"
            assert revalidated.headers["cache-control"] == "public, max-age=31536000, immutable"
            # The identity tag names another representation than the brotli one.
            other = await client.get(
                "/assets/index-abc123.js",
                headers={"Accept-Encoding": "br", "If-None-Match": tags["identity"]},
            )
            assert other.status_code == 200

    async def test_head_gives_the_length_of_the_copy_without_a_body(self, settings, sessionmaker, built_dist):
        async with spa_client(settings, sessionmaker, built_dist) as client:
            response = await client.head("/assets/index-abc123.js", headers={"Accept-Encoding": "gzip"})
        copy = (built_dist / "assets" / "index-abc123.js.gz").read_bytes()
        assert response.status_code == 200 and response.content == b""
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["content-length"] == str(len(copy))

    async def test_a_range_counts_bytes_of_the_copy_sent(self, settings, sessionmaker, built_dist):
        copy = (built_dist / "assets" / "index-abc123.js.gz").read_bytes()
        async with spa_client(settings, sessionmaker, built_dist) as client:
            response, body = await raw_get(
                client, "/assets/index-abc123.js", **{"Accept-Encoding": "gzip", "Range": "bytes=0-9"}
            )
            identity, plain = await raw_get(
                client, "/assets/index-abc123.js", **{"Accept-Encoding": "identity", "Range": "bytes=0-9"}
            )
        assert response.status_code == 206
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["content-range"] == f"bytes 0-9/{len(copy)}"
        assert body == copy[:10]
        assert identity.status_code == 206 and plain == SCRIPT[:10]
        assert identity.headers["content-range"] == f"bytes 0-9/{len(SCRIPT)}"

    async def test_the_shell_comes_compressed_on_every_client_route(self, settings, sessionmaker, built_dist):
        async with spa_client(settings, sessionmaker, built_dist) as client:
            for path in ("/", "/sign-in", "/index.html"):
                response, body = await raw_get(client, path, **{"Accept-Encoding": "br, gzip"})
                assert body == b"BR:index.html", path
                assert response.headers["content-encoding"] == "br"
                assert response.headers["content-type"].startswith("text/html")
                assert response.headers["cache-control"] == "no-cache"
                assert response.headers["vary"] == "Accept-Encoding"

    async def test_files_without_copies_still_vary_and_images_do_not(
        self, settings, sessionmaker, built_dist
    ):
        async with spa_client(settings, sessionmaker, built_dist) as client:
            css, body = await raw_get(client, "/assets/plain-9z.css", **{"Accept-Encoding": "br"})
            png, _ = await raw_get(client, "/assets/logo-1a2b.png", **{"Accept-Encoding": "br"})
        assert body == b"body{}" and "content-encoding" not in css.headers
        assert css.headers["vary"] == "Accept-Encoding"
        assert "content-encoding" not in png.headers and "vary" not in png.headers

    @pytest.mark.parametrize(
        "path", ["/assets/index-abc123.js.gz", "/assets/index-abc123.js.br", "/banner.js.br"]
    )
    async def test_copies_are_not_served_by_their_own_names(self, settings, sessionmaker, built_dist, path):
        async with spa_client(settings, sessionmaker, built_dist) as client:
            response = await client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


class TestBannerFiles:
    @pytest.mark.parametrize(("path", "kind"), [("/banner.js", "javascript"), ("/banner.css", "text/css")])
    async def test_any_origin_may_load_them_and_caches_keep_them_briefly(
        self, settings, sessionmaker, built_dist, path, kind
    ):
        async with spa_client(settings, sessionmaker, built_dist) as client:
            response, body = await raw_get(
                client, path, **{"Accept-Encoding": "gzip, br", "Origin": "https://www.example.com"}
            )
            plain, plain_body = await raw_get(client, path, **{"Accept-Encoding": "identity"})
            revalidated = await client.get(
                path, headers={"Accept-Encoding": "gzip, br", "If-None-Match": response.headers["etag"]}
            )
        assert response.status_code == 200
        assert body == f"BR:{path[1:]}".encode()
        assert response.headers["content-encoding"] == "br"
        assert kind in response.headers["content-type"]
        assert response.headers["cross-origin-resource-policy"] == "cross-origin"
        assert response.headers["cache-control"] == "public, max-age=300"
        assert "immutable" not in response.headers["cache-control"]
        assert response.headers["vary"] == "Accept-Encoding"
        assert plain_body == (built_dist / path[1:]).read_bytes()
        assert plain.headers["vary"] == "Accept-Encoding"
        assert plain.headers["cross-origin-resource-policy"] == "cross-origin"
        assert revalidated.status_code == 304
        assert revalidated.headers["cross-origin-resource-policy"] == "cross-origin"
        assert revalidated.headers["cache-control"] == "public, max-age=300"

    async def test_other_files_keep_the_same_origin_defaults(self, settings, sessionmaker, built_dist):
        async with spa_client(settings, sessionmaker, built_dist) as client:
            response = await client.get("/assets/index-abc123.js")
        assert "cross-origin-resource-policy" not in response.headers
        assert response.headers["cross-origin-opener-policy"] == "same-origin"

    async def test_a_missing_banner_is_a_404_problem_not_the_shell(self, settings, sessionmaker, spa_dir):
        async with spa_client(settings, sessionmaker, spa_dir) as client:
            response = await client.get("/banner.js")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
