"""CORS for a few paths only: the origins allowed to call them from a browser, with credentials.

Starlette's CORSMiddleware applies to every path; the cookie banner's routes are the only ones
another site may call, so this answers preflights and adds the headers for those paths alone."""

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opmaestro.core.errors import problem_response

ALLOWED_METHODS = ("GET", "POST")
ALLOWED_HEADERS = frozenset({"content-type", "x-csrf-token", "if-none-match", "sec-gpc", "dnt"})
EXPOSED_HEADERS = "ETag, Retry-After, X-Request-ID"
PREFLIGHT_MAX_AGE = 600


class ScopedCorsMiddleware:
    """Answers CORS for `paths` to exactly the `origins` given; never `*`, always with credentials."""

    def __init__(self, app: ASGIApp, *, paths: frozenset[str], origins: tuple[str, ...]) -> None:
        self.app = app
        self.paths = paths
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin is not None and origin in self.origins
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(scope, receive, send, headers, origin if allowed else None)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                response_headers.add_vary_header("Origin")
                if allowed and origin is not None:
                    response_headers["Access-Control-Allow-Origin"] = origin
                    response_headers["Access-Control-Allow-Credentials"] = "true"
                    response_headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers, origin: str | None
    ) -> None:
        method = headers["access-control-request-method"].strip().upper()
        requested = {
            name.strip().lower()
            for name in headers.get("access-control-request-headers", "").split(",")
            if name.strip()
        }
        if origin is None or method not in ALLOWED_METHODS or not requested <= ALLOWED_HEADERS:
            response: Response = problem_response(
                403,
                title="CORS request refused",
                type_="urn:opmaestro:problem:cors-refused",
                detail="This origin, method or header may not call this route from a browser.",
                headers={"Vary": "Origin"},
            )
        else:
            response = Response(
                status_code=204,
                headers={
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Allow-Credentials": "true",
                    "Access-Control-Allow-Methods": ", ".join(ALLOWED_METHODS),
                    "Access-Control-Allow-Headers": ", ".join(sorted(ALLOWED_HEADERS)),
                    "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
                    "Vary": "Origin",
                },
            )
        await response(scope, receive, send)
