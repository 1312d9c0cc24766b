"""Compressed API answers: opt-in per route, for public documents only, never for secrets (BREACH)."""

import gzip
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from opmaestro.accounts.deps import Authorize
from opmaestro.core.access import Public
from opmaestro.core.compression import (
    MIN_BYTES,
    Compressible,
    choose_encoding,
    compressible_routes,
    etag_matches,
)
from opmaestro.core.openapi import access_rule

BIG = {"items": [{"key": f"item-{n}", "text": "the same words again and again"} for n in range(100)]}
# Paths whose answers sign someone in, set a cookie, or carry a token, a code or a secret.
SECRET_BEARING = re.compile(
    r"/(auth|me|sessions?|tokens?|csrf|mfa|totp|reauth\w*|oauth|login|register|sign-?in|sign-?up)(/|$)", re.I
)
SECRET_FIELDS = re.compile(r"token|secret|csrf|password|code|session|key_?id|recovery", re.I)


class ProbeSession(BaseModel):
    id: str


class ProbeDocument(BaseModel):
    title: str
    session: ProbeSession


async def raw_get(client: httpx.AsyncClient, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    async with client.stream("GET", path, headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


def schema_properties(spec: dict, schema: dict, seen: set[str] | None = None) -> set[str]:
    """Every property name a response schema can hold, through `$ref`s and combinators."""
    seen = set() if seen is None else seen
    if ref := schema.get("$ref"):
        if ref in seen:
            return set()
        seen.add(ref)
        return schema_properties(spec, spec["components"]["schemas"][ref.rsplit("/", 1)[1]], seen)
    names = set(schema.get("properties", {}))
    children = [
        *schema.get("properties", {}).values(),
        schema.get("items"),
        schema.get("additionalProperties"),
    ]
    for key in ("allOf", "anyOf", "oneOf"):
        children += schema.get(key, [])
    for child in children:
        if isinstance(child, dict):
            names |= schema_properties(spec, child, seen)
    return names


def breach_risks(app: FastAPI) -> list[str]:
    """Compressible routes that could carry a secret: any that is not a public GET of a document
    without path parameters, sits under a sign-in, session or token path, or answers with a field
    named like a token, code or secret."""
    spec = app.openapi()
    risks = []
    for context in compressible_routes(app.routes):
        name = f"{sorted(context.methods or ())} {context.path}"
        if not (context.methods or set()) <= {"GET", "HEAD"}:
            risks.append(f"{name}: not a GET")
        if SECRET_BEARING.search(context.path) or "{" in context.path:
            risks.append(f"{name}: a path that signs in, holds a session or token, or names a resource")
        if not isinstance(context.original_route, APIRoute):
            if context.path != app.openapi_url:
                risks.append(f"{name}: a framework route other than the OpenAPI document")
            continue
        rule = access_rule(context.dependant)
        if rule is None or not rule.public:
            risks.append(f"{name}: not public, so its answer depends on who asks")
        operation = spec["paths"].get(context.path_format, {}).get("get", {})
        for content in operation.get("responses", {}).get("200", {}).get("content", {}).values():
            if fields := sorted(
                f for f in schema_properties(spec, content.get("schema", {})) if SECRET_FIELDS.search(f)
            ):
                risks.append(f"{name}: answers with {fields}")
    return risks


class TestNoSecretIsEverCompressed:
    def test_only_public_documents_are_marked(self, app):
        assert breach_risks(app) == []
        assert {context.path for context in compressible_routes(app.routes)} >= {app.openapi_url}

    async def test_no_marked_route_sets_a_cookie(self, app, client):
        for context in compressible_routes(app.routes):
            response = await client.get(context.path, headers={"Accept-Encoding": "gzip"})
            assert response.status_code == 200, context.path
            assert "set-cookie" not in response.headers, context.path

    def test_the_check_catches_a_secret_marked_compressible(self, app):
        router = APIRouter(prefix="/api/v1/probe", tags=["probe"])

        @router.post("/auth/login", dependencies=[Public, Compressible])
        async def probe_login() -> dict[str, str]:
            return {"csrf_token": "x"}

        @router.get("/me/tokens", dependencies=[Depends(Authorize()), Compressible])
        async def probe_tokens() -> dict[str, str]:
            return {"token": "x"}

        @router.get("/public/document", dependencies=[Public, Compressible])
        async def probe_document() -> ProbeDocument:
            return ProbeDocument(title="x", session=ProbeSession(id="x"))

        app.include_router(router)
        risks = "\n".join(breach_risks(app))
        assert "/api/v1/probe/auth/login: not a GET" in risks
        assert "/api/v1/probe/me/tokens: not public" in risks
        assert "/api/v1/probe/public/document: answers with ['session']" in risks


class TestOpenApiDocument:
    async def test_gzipped_for_clients_that_accept_it(self, app, client):
        response, body = await raw_get(client, app.openapi_url, **{"Accept-Encoding": "gzip, deflate, br"})
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["content-length"] == str(len(body))
        assert response.headers["vary"] == "Accept-Encoding"
        assert json.loads(gzip.decompress(body)) == app.openapi()
        assert len(body) * 4 < len(json.dumps(app.openapi()))
        # The other middleware still has its say.
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff" and response.headers["x-request-id"]

    async def test_identity_for_clients_that_do_not(self, app, client):
        for accept in ("identity", "br", "gzip;q=0"):
            response, body = await raw_get(client, app.openapi_url, **{"Accept-Encoding": accept})
            assert "content-encoding" not in response.headers, accept
            assert response.headers["vary"] == "Accept-Encoding"
            assert json.loads(body) == app.openapi()

    async def test_head_says_the_compressed_length(self, app, client):
        _, body = await raw_get(client, app.openapi_url, **{"Accept-Encoding": "gzip"})
        head = await client.head(app.openapi_url, headers={"Accept-Encoding": "gzip"})
        assert head.status_code == 200 and head.headers["content-encoding"] == "gzip"
        assert head.headers["content-length"] == str(len(body))


@pytest.fixture
def probes(app) -> FastAPI:
    """Probe routes, marked and not, answering as real routes can."""
    marked = APIRouter(prefix="/api/v1/probe", tags=["probe"], dependencies=[Public, Compressible])

    @marked.get("/big")
    async def probe_big(request: Request) -> Response:
        if etag_matches(request.headers.get("if-none-match"), '"v1"'):
            return Response(status_code=304, headers={"ETag": '"v1"'})
        return JSONResponse(BIG, headers={"ETag": '"v1"'})

    @marked.get("/small")
    async def probe_small() -> dict[str, bool]:
        return {"ok": True}

    @marked.get("/cookie")
    async def probe_cookie() -> Response:
        response = JSONResponse(BIG)
        response.set_cookie("probe", "value")
        return response

    @marked.get("/empty", status_code=204)
    async def probe_empty() -> Response:
        return Response(status_code=204)

    @marked.get("/error")
    async def probe_error() -> Response:
        return JSONResponse(BIG, status_code=400)

    @marked.get("/image")
    async def probe_image() -> Response:
        return Response(b"\x89PNG" * 1000, media_type="image/png")

    @marked.get("/encoded")
    async def probe_encoded() -> Response:
        body = gzip.compress(json.dumps(BIG).encode())
        return Response(body, media_type="application/json", headers={"Content-Encoding": "gzip"})

    @marked.get("/stream")
    async def probe_stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for n in range(5):
                yield f"line {n} ".encode() * 100

        return StreamingResponse(chunks(), media_type="text/plain")

    @marked.get("/short-stream")
    async def probe_short_stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"a"
            yield b"b"

        return StreamingResponse(chunks(), media_type="text/plain")

    plain = APIRouter(prefix="/api/v1/probe", tags=["probe"], dependencies=[Public])

    @plain.get("/unmarked")
    async def probe_unmarked() -> dict[str, object]:
        return BIG

    app.include_router(marked)
    app.include_router(plain)
    return app


class TestCompressionMiddleware:
    async def test_a_large_answer_of_a_marked_route_is_gzipped(self, probes, client):
        response, body = await raw_get(client, "/api/v1/probe/big", **{"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip"
        assert json.loads(gzip.decompress(body)) == BIG
        assert response.headers["content-length"] == str(len(body))
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.headers["etag"] == 'W/"v1"'  # another byte sequence than the strong "v1"

    async def test_etags_revalidate_in_either_form(self, probes, client):
        for held, accept, answered in [
            ('W/"v1"', "gzip", 'W/"v1"'),
            ('"v1"', "identity", '"v1"'),
            ('"v1"', "gzip", '"v1"'),
        ]:
            response = await client.get(
                "/api/v1/probe/big", headers={"Accept-Encoding": accept, "If-None-Match": held}
            )
            assert response.status_code == 304, held
            assert response.content == b"" and "content-encoding" not in response.headers
            assert response.headers["etag"] == answered
            assert response.headers["vary"] == "Accept-Encoding"

    async def test_without_gzip_in_accept_encoding_the_answer_is_plain(self, probes, client):
        response, body = await raw_get(client, "/api/v1/probe/big", **{"Accept-Encoding": "br, identity"})
        assert "content-encoding" not in response.headers and json.loads(body) == BIG
        assert response.headers["etag"] == '"v1"'
        assert response.headers["vary"] == "Accept-Encoding"

    @pytest.mark.parametrize("path", ["small", "cookie", "error", "image", "short-stream"])
    async def test_left_alone(self, probes, client, path):
        response, body = await raw_get(client, f"/api/v1/probe/{path}", **{"Accept-Encoding": "gzip"})
        assert "content-encoding" not in response.headers
        assert response.headers["vary"] == "Accept-Encoding"
        if path != "short-stream":
            assert response.headers["content-length"] == str(len(body))

    async def test_an_answer_that_sets_a_cookie_is_never_compressed(self, probes, client):
        response, body = await raw_get(client, "/api/v1/probe/cookie", **{"Accept-Encoding": "gzip"})
        assert "set-cookie" in response.headers and "content-encoding" not in response.headers
        assert json.loads(body) == BIG

    async def test_no_content_stays_empty(self, probes, client):
        response, body = await raw_get(client, "/api/v1/probe/empty", **{"Accept-Encoding": "gzip"})
        assert response.status_code == 204 and body == b""
        assert "content-encoding" not in response.headers

    async def test_an_encoded_answer_is_not_encoded_twice(self, probes, client):
        response, body = await raw_get(client, "/api/v1/probe/encoded", **{"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip"
        assert json.loads(gzip.decompress(body)) == BIG

    async def test_a_large_stream_is_gzipped_as_it_comes(self, probes, client):
        response, body = await raw_get(client, "/api/v1/probe/stream", **{"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip"
        assert "content-length" not in response.headers
        assert gzip.decompress(body) == b"".join(f"line {n} ".encode() * 100 for n in range(5))

    async def test_unmarked_routes_are_never_compressed(self, probes, client):
        response, body = await raw_get(client, "/api/v1/probe/unmarked", **{"Accept-Encoding": "gzip"})
        assert len(body) > MIN_BYTES
        assert "content-encoding" not in response.headers and "vary" not in response.headers


@pytest.mark.parametrize(
    ("header", "available", "chosen"),
    [
        (None, ["br", "gzip"], "identity"),
        ("gzip, deflate, br, zstd", ["br", "gzip"], "br"),
        ("gzip, deflate, br", ["gzip"], "gzip"),
        ("br;q=0.2, gzip;q=0.8", ["br", "gzip"], "gzip"),
        ("BR;Q=1", ["br", "gzip"], "br"),
        ("gzip;q=0", ["gzip"], "identity"),
        ("*;q=0", ["br", "gzip"], "identity"),
        ("*, gzip;q=0", ["br", "gzip"], "br"),
        ("identity;q=0.9, gzip;q=0.5", ["gzip"], "identity"),
        ("identity;q=0, gzip;q=0.5", ["gzip"], "gzip"),
        ("gzip;q=2", ["gzip"], "gzip"),
        ("gzip;q=-1", ["gzip"], "identity"),
        (",,;;,gzip", ["gzip"], "gzip"),
    ],
)
def test_choose_encoding(header, available, chosen):
    assert choose_encoding(header, available) == chosen


@pytest.mark.parametrize(
    ("header", "etag", "matches"),
    [
        ('"a"', '"a"', True),
        ('W/"a"', '"a"', True),
        ('"b", W/"a"', 'W/"a"', True),
        ("*", '"a"', True),
        ('"b"', '"a"', False),
        (None, '"a"', False),
        ("", '"a"', False),
    ],
)
def test_etag_matches_weakly(header, etag, matches):
    assert etag_matches(header, etag) is matches
