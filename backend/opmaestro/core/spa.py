"""Serves the built single-page app, so `make run` is one process on one port.

The build leaves a brotli (`.br`) and a gzip (`.gz`) copy next to each text file
(`frontend/scripts/precompress.mjs`); a request gets the copy its `Accept-Encoding` prefers, with
the original's type, `Vary: Accept-Encoding` and an `ETag` of its own, so nothing is compressed per
request. `/banner.js` and `/banner.css`, the cookie banner other sites include, may be loaded from
any origin and are cached briefly: their names carry no hash, so a deploy must reach them soon.
"""

import hashlib
import mimetypes
import os
from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

from opmaestro.core.compression import choose_encoding, etag_matches
from opmaestro.core.errors import NotFound

ASSET_CACHE = "public, max-age=31536000, immutable"
# The shell must be revalidated so a deploy's new asset names reach browsers at once.
SHELL_CACHE = "no-cache"
# Files other origins' pages include by a fixed name: cached a few minutes, then revalidated.
CROSS_ORIGIN_FILES = frozenset({"banner.js", "banner.css"})
CROSS_ORIGIN_CACHE = "public, max-age=300"
# The security headers (core.headers) leave this unset; it is said outright here, so a
# same-origin default added there later cannot keep other sites from loading the banner.
CROSS_ORIGIN_RESOURCE = {"Cross-Origin-Resource-Policy": "cross-origin"}
# The extensions frontend/scripts/precompress.mjs compresses; other files (images, woff2) are
# compressed already and never vary by Accept-Encoding.
COMPRESSIBLE_SUFFIXES = frozenset(
    {".js", ".mjs", ".css", ".html", ".svg", ".json", ".webmanifest", ".txt", ".xml", ".map", ".wasm", ".ico"}
)
# Coding -> the suffix of its precompressed copy, in order of preference.
PRECOMPRESSED = {"br": ".br", "gzip": ".gz"}
# A 304 repeats the headers a 200 would have sent that caches update.
NOT_MODIFIED_HEADERS = ("cache-control", "etag", "vary", "cross-origin-resource-policy")


class SpaNotBuilt(NotFound):
    slug, title = "spa-not-built", "Web app not built"


def entity_tag(stat: os.stat_result, encoding: str) -> str:
    """Distinct for each copy: its own size and time, and the coding named."""
    digest = hashlib.md5(f"{stat.st_mtime_ns}-{stat.st_size}".encode(), usedforsecurity=False).hexdigest()
    return f'"{digest}"' if encoding == "identity" else f'"{digest}-{encoding}"'


class SpaFiles:
    """The router's fallback: files from the build, and index.html for client-side routes."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _file(self, relative: str) -> Path | None:
        candidate = (self.root / relative).resolve()
        if candidate.is_relative_to(self.root) and candidate.is_file():
            return candidate
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        path = request.url.path.lstrip("/")
        if path == "api" or path.startswith("api/"):
            raise NotFound(f"No API route at {request.url.path}.")
        if request.method not in ("GET", "HEAD"):
            raise StarletteHTTPException(405, headers={"Allow": "GET, HEAD"})
        found = self._file(path) if path else None
        if found is not None and self._is_precompressed_copy(found):
            # Served through Accept-Encoding, under the original's name and type, never by its own.
            raise NotFound("No such file.")
        if found is not None:
            headers = {"Cache-Control": ASSET_CACHE if path.startswith("assets/") else SHELL_CACHE}
            if path in CROSS_ORIGIN_FILES:
                headers = {"Cache-Control": CROSS_ORIGIN_CACHE} | CROSS_ORIGIN_RESOURCE
            response = self._send(request, found, headers)
        elif path.startswith("assets/"):
            raise NotFound("No such asset; the page may be older than the current build.")
        elif path in CROSS_ORIGIN_FILES:
            raise NotFound(f"/{path} is not built: run `make spa`.")
        elif (index := self.root / "index.html").is_file():
            response = self._send(request, index, {"Cache-Control": SHELL_CACHE})
        else:
            raise SpaNotBuilt("The web app is not built yet: run `make run` (or `make spa`).")
        await response(scope, receive, send)

    @staticmethod
    def _is_precompressed_copy(file: Path) -> bool:
        original = file.with_suffix("")
        return (
            file.suffix in PRECOMPRESSED.values()
            and original.suffix.lower() in COMPRESSIBLE_SUFFIXES
            and original.is_file()
        )

    @staticmethod
    def _send(request: Request, file: Path, headers: dict[str, str]) -> Response:
        """The file, or its precompressed copy the client prefers; 304 when the client has it."""
        media_type = mimetypes.guess_type(file.name)[0] or "text/plain"
        served, encoding = file, "identity"
        if file.suffix.lower() in COMPRESSIBLE_SUFFIXES:
            headers["Vary"] = "Accept-Encoding"
            copies = {coding: file.with_name(file.name + suffix) for coding, suffix in PRECOMPRESSED.items()}
            available = [coding for coding, copy in copies.items() if copy.is_file()]
            encoding = choose_encoding(request.headers.get("accept-encoding"), available)
            if encoding != "identity":
                served = copies[encoding]
                headers["Content-Encoding"] = encoding
        stat = served.stat()
        headers["ETag"] = entity_tag(stat, encoding)
        if etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
            kept = {name: value for name, value in headers.items() if name.lower() in NOT_MODIFIED_HEADERS}
            return Response(status_code=304, headers=kept)
        # Ranges (FileResponse) count bytes of the copy sent, as HTTP defines them for a coding.
        return FileResponse(served, headers=headers, media_type=media_type, stat_result=stat)


def mount_spa(app: FastAPI, root: Path) -> None:
    """Paths no route matches fall through to the SPA; API routes keep their 404 and 405 answers."""
    app.router.default = SpaFiles(root)
