"""Content codings: choosing what a client accepts, and gzip for the few API responses marked for it.

Compression is opt-in, route by route. A compressed response that reflects something the caller
sent next to a secret (a session, a CSRF or API token, a one-time code) lets an attacker who can
make the browser send requests and watch their sizes recover the secret byte by byte (BREACH).
So only request-independent public documents are marked `Compressible` (the OpenAPI document, the
cookie banner's configuration); `tests/core/test_compression.py` fails if a route that signs in,
sets a cookie or returns a token is ever marked, and the middleware itself never compresses a
response that sets a cookie. Static files of the web app are compressed at build time instead
(`core.spa`).
"""

import gzip
import re
import zlib
from collections.abc import Iterator, Sequence

from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCOPE_KEY = "opmaestro.compressible"
# Below this, the coding's own overhead and the CPU are not worth the bytes saved.
MIN_BYTES = 1024
GZIP_LEVEL = 6
GZIP_WINDOW = 16 + zlib.MAX_WBITS  # a gzip header and trailer around the deflate stream
# Preference among codings the client rates equally; identity is the fallback.
PREFERENCE = ("br", "gzip")
COMPRESSIBLE_TYPES = re.compile(
    r"^(text/|application/(json|problem\+json|javascript|xml|[\w.+-]*\+json)\b|image/svg\+xml\b)", re.I
)
# An identity the client did not name is acceptable, but ranks below any coding it did name.
_UNNAMED_IDENTITY = 0.001


def accept_encoding_qualities(header: str) -> dict[str, float]:
    """`Accept-Encoding` as coding -> q (0 to 1); a malformed q counts as 0 (not acceptable)."""
    qualities: dict[str, float] = {}
    for item in header.split(","):
        coding, _, parameters = item.partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        quality = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        qualities[coding] = quality
    if "x-gzip" in qualities:
        qualities.setdefault("gzip", qualities["x-gzip"])
    return qualities


def choose_encoding(header: str | None, available: Sequence[str]) -> str:
    """Of the codings `available` and identity, the one the client rates highest.

    No header means identity (what browsers and caches expect of a server, though RFC 9110
    allows any coding); `q=0` refuses a coding; `*` rates the codings not named; on equal
    ratings `br` beats `gzip` beats identity. If the client refuses everything, identity it is.
    """
    if header is None:
        return "identity"
    qualities = accept_encoding_qualities(header)
    star = qualities.get("*")
    best, best_rank = "identity", (0.0, 0)
    for coding in available:
        quality = qualities.get(coding, star if star is not None else 0.0)
        rank = (quality, len(PREFERENCE) - PREFERENCE.index(coding) if coding in PREFERENCE else 0)
        if quality > 0 and rank > best_rank:
            best, best_rank = coding, rank
    identity = qualities.get("identity", star if star == 0.0 else _UNNAMED_IDENTITY)
    if identity > best_rank[0]:
        return "identity"
    return best


def add_vary(headers: MutableHeaders, field: str = "Accept-Encoding") -> None:
    present = [value.strip() for value in headers.get("vary", "").split(",") if value.strip()]
    if not {"*", field.lower()} & {value.lower() for value in present}:
        headers["Vary"] = ", ".join([*present, field])


def entity_tags(header: str | None) -> list[str]:
    """The entity tags of an `If-None-Match` header, as sent (weak ones keep their `W/`)."""
    return [tag.strip() for tag in (header or "").split(",") if tag.strip()]


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether `If-None-Match` names `etag` (or is `*`), compared weakly as RFC 9110 asks, so a
    client holding the gzipped answer (`W/"x"`) revalidates against `"x"` too."""
    tags = entity_tags(if_none_match)
    return "*" in tags or etag.removeprefix("W/") in {tag.removeprefix("W/") for tag in tags}


async def mark_compressible(request: Request) -> None:
    """The dependency behind `Compressible`: marks this request's response for compression."""
    request.scope[SCOPE_KEY] = True


# `dependencies=[Compressible]` on a public GET route whose body is the same for every caller.
Compressible = Depends(mark_compressible)


class _MarkedCompressible:
    """A framework route (not an APIRoute, so without dependencies) marked for compression."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[SCOPE_KEY] = True
        await self.app(scope, receive, send)


def mark_route_compressible(app: FastAPI, path: str) -> None:
    """Mark a route FastAPI adds itself, such as the OpenAPI document's."""
    routes = [route for route in app.router.routes if isinstance(route, Route) and route.path == path]
    if not routes:
        raise RuntimeError(f"no route at {path} to mark compressible")
    for route in routes:
        if not isinstance(route.app, _MarkedCompressible):
            route.app = _MarkedCompressible(route.app)


def _depends_on_marker(dependant: Dependant) -> bool:
    return any(sub.call is mark_compressible or _depends_on_marker(sub) for sub in dependant.dependencies)


def compressible_routes(routes: Sequence[BaseRoute]) -> Iterator[RouteContext]:
    """The routes whose responses may be compressed, included routers' too (for the tests that
    keep secrets out)."""
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            if _depends_on_marker(context.dependant):
                yield context
        elif isinstance(route, Route) and isinstance(route.app, _MarkedCompressible):
            yield context


class CompressionMiddleware:
    """Gzips the 200 answers of marked routes for clients that accept it, when over `MIN_BYTES`.

    Every answer of a marked route says `Vary: Accept-Encoding`. A compressed answer's strong
    `ETag` becomes weak (the same validator names a different byte sequence), and a 304 whose
    request held that weak tag says so too; routes compare `If-None-Match` weakly, as RFC 9110
    asks, so both forms revalidate. Never compressed: other statuses (204, 206, 304, errors),
    answers already encoded, answers that set a cookie, and types that do not compress.
    """

    def __init__(self, app: ASGIApp, min_bytes: int = MIN_BYTES) -> None:
        self.app = app
        self.min_bytes = min_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        responder = _Responder(scope, send, self.min_bytes)
        await self.app(scope, receive, responder.send)


class _Responder:
    """One response's path through the middleware: passed on, buffered then gzipped, or streamed."""

    def __init__(self, scope: Scope, send: Send, min_bytes: int) -> None:
        self.scope = scope
        self.downstream = send
        self.min_bytes = min_bytes
        self.start: Message = {}
        self.buffer: list[bytes] = []
        self.buffered = 0
        self.mode = "pass"  # or "buffer" (held until large enough or complete), "stream"
        self.compressor: zlib._Compress | None = None  # made only for a streamed answer

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            await self._start(message)
        elif message["type"] == "http.response.body" and self.mode == "buffer":
            await self._buffer(message.get("body", b""), more=message.get("more_body", False))
        elif message["type"] == "http.response.body" and self.mode == "stream":
            await self._stream(message.get("body", b""), more=message.get("more_body", False))
        else:
            await self.downstream(message)

    async def _start(self, message: Message) -> None:
        if not self.scope.get(SCOPE_KEY):
            await self.downstream(message)
            return
        headers = MutableHeaders(scope=message)
        add_vary(headers)
        request = Headers(scope=self.scope)
        accepts = choose_encoding(request.get("accept-encoding"), ["gzip"]) == "gzip"
        status = message["status"]
        tag = headers.get("etag", "")
        held = entity_tags(request.get("if-none-match"))
        if status == 304 and accepts and tag and not tag.startswith("W/") and f"W/{tag}" in held:
            # The client revalidates the gzipped answer it holds: name that one.
            headers["ETag"] = f"W/{tag}"
        if (
            status == 200
            and accepts
            and "content-encoding" not in headers
            and "set-cookie" not in headers
            and COMPRESSIBLE_TYPES.match(headers.get("content-type", ""))
        ):
            self.mode, self.start = "buffer", message
        else:
            await self.downstream(message)

    async def _buffer(self, body: bytes, *, more: bool) -> None:
        self.buffer.append(body)
        self.buffered += len(body)
        whole = b"".join(self.buffer) if not more else b""
        if not more and self.buffered < self.min_bytes:
            self.mode = "pass"
            await self.downstream(self.start)
            await self.downstream({"type": "http.response.body", "body": whole})
        elif not more:
            self.mode = "pass"
            encoded = gzip.compress(whole, compresslevel=GZIP_LEVEL, mtime=0)
            await self.downstream(self._encoded_start(len(encoded)))
            await self.downstream({"type": "http.response.body", "body": encoded})
        elif self.buffered >= self.min_bytes:
            # Streamed and already large: compress as it comes, without a Content-Length.
            self.mode = "stream"
            await self.downstream(self._encoded_start(None))
            pending, self.buffer = b"".join(self.buffer), []
            await self._stream(pending, more=True)

    def _encoded_start(self, length: int | None) -> Message:
        headers = MutableHeaders(scope=self.start)
        headers["Content-Encoding"] = "gzip"
        if length is None:
            del headers["content-length"]
        else:
            headers["Content-Length"] = str(length)
        tag = headers.get("etag")
        if tag and not tag.startswith("W/"):
            headers["ETag"] = f"W/{tag}"
        return self.start

    async def _stream(self, chunk: bytes, *, more: bool) -> None:
        if self.compressor is None:
            self.compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, GZIP_WINDOW)
        out = self.compressor.compress(chunk)
        if not more:
            out += self.compressor.flush()
        if out or not more:
            await self.downstream({"type": "http.response.body", "body": out, "more_body": more})
