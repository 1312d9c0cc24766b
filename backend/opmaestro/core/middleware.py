"""Request id, security headers, no-store caching, the body size limit and the access log."""

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opmaestro.core.config import Settings
from opmaestro.core.errors import BodyTooLarge, problem_response
from opmaestro.core.headers import security_headers
from opmaestro.core.logging import bind_request_id, unbind_request_id

access_logger = logging.getLogger("opmaestro.access")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class RequestContextMiddleware:
    """Assigns the request id, adds security and cache headers, logs one access line."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = bind_request_id(request_id)
        started = time.perf_counter()
        status = 500
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                for name, value in security_headers(self.settings).items():
                    headers.setdefault(name, value)
                if path.startswith("/api/"):
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except BaseException:
            # Left bound for Starlette's outermost 500 handler; the request's task ends with it.
            token = None
            raise
        finally:
            access_logger.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route_template(scope),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            if token is not None:
                unbind_request_id(token)


def route_template(scope: Scope) -> str:
    """The matched route with parameters as `{name}`, so ids and tokens never reach the log."""
    if scope.get("route") is None:
        return "unmatched"
    by_value = {str(value): name for name, value in scope.get("path_params", {}).items()}
    return "/".join(
        f"{{{by_value[part]}}}" if part in by_value else part for part in scope["path"].split("/")
    )


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit, by Content-Length up front and by counting streamed bytes."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            detail=f"The request body is larger than the limit of {self.max_bytes} bytes.",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
