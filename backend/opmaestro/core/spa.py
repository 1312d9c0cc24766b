"""Serves the built single-page app, so `make run` is one process on one port."""

from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.types import Receive, Scope, Send

from opmaestro.core.errors import NotFound

ASSET_CACHE = "public, max-age=31536000, immutable"
# The shell must be revalidated so a deploy's new asset names reach browsers at once.
SHELL_CACHE = "no-cache"


class SpaNotBuilt(NotFound):
    slug, title = "spa-not-built", "Web app not built"


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
        if path and (found := self._file(path)):
            cache = ASSET_CACHE if path.startswith("assets/") else SHELL_CACHE
            response = FileResponse(found, headers={"Cache-Control": cache})
        elif path.startswith("assets/"):
            raise NotFound("No such asset; the page may be older than the current build.")
        elif (index := self.root / "index.html").is_file():
            response = FileResponse(index, headers={"Cache-Control": SHELL_CACHE})
        else:
            raise SpaNotBuilt("The web app is not built yet: run `make run` (or `make spa`).")
        await response(scope, receive, send)


def mount_spa(app: FastAPI, root: Path) -> None:
    """Paths no route matches fall through to the SPA; API routes keep their 404 and 405 answers."""
    app.router.default = SpaFiles(root)
