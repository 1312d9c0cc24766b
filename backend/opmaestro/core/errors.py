"""RFC 9457 problem details for every error the API answers with."""

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from opmaestro.core.deps import app_settings
from opmaestro.core.headers import security_headers
from opmaestro.core.logging import current_request_id

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger(__name__)


class FieldProblem(BaseModel):
    location: str
    field: str
    message: str
    code: str


class Problem(BaseModel):
    """An RFC 9457 problem details document."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    request_id: str | None = None
    errors: list[FieldProblem] | None = None


class AppError(Exception):
    """Base of every error a service raises on purpose; rendered as problem+json."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra or {}

    @property
    def type(self) -> str:
        return f"urn:opmaestro:problem:{self.slug}"


class NotAuthenticated(AppError):
    status, slug, title = 401, "not-authenticated", "Not signed in"


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(AppError):
    status, slug, title = 409, "conflict", "Conflict"


class ServiceUnavailable(AppError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


class FieldInvalid(AppError):
    """A field that passed schema validation but breaks a rule only the service can check."""

    status, slug, title = 422, "validation", "Validation failed"

    def __init__(self, field: str, message: str) -> None:
        problem = FieldProblem(location="body", field=field, message=message, code="value_error")
        super().__init__("Some fields are missing or invalid.", extra={"errors": [problem.model_dump()]})


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than the limit of {limit} bytes.")


def problem(*errors: type[AppError], description: str | None = None) -> dict[str, Any]:
    """An OpenAPI `responses=` entry for the given error classes."""
    return {
        "model": Problem,
        "content": {PROBLEM_JSON: {}},
        "description": description or " / ".join(error.title for error in errors) or "Problem",
    }


def problem_response(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = Problem(
        type=type_,
        title=title or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        request_id=current_request_id(),
        **extra,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


# Pydantic names the member of a union (or the validator) that failed in the error's location:
# `name.constrained-str`, `country.function-after[_country(), constrained-str]`. Callers want the field.
_UNION_MEMBER = re.compile(
    r"^(none|str|int|float|bool|bytes|dict|list|[a-z]+(-[a-z]+)+(\[.*\])?|[a-z_]+\[.*\])$"
)
# A pattern longer than this says nothing to a person (the country code list is 600 characters).
_READABLE_PATTERN_LENGTH = 80


def _field_path(parts: list[str]) -> tuple[str, ...]:
    # The first part is the field itself (a header may be called `idempotency-key`).
    return tuple(parts[:1] + [part for part in parts[1:] if not _UNION_MEMBER.match(part)])


def _field_problem(error: dict[str, Any]) -> FieldProblem:
    location, *path = [str(part) for part in error.get("loc", ())] or ["body"]
    code = str(error.get("type", "invalid"))
    message = str(error.get("msg", ""))
    pattern = (error.get("ctx") or {}).get("pattern")
    if (
        code == "string_pattern_mismatch"
        and isinstance(pattern, str)
        and len(pattern) > _READABLE_PATTERN_LENGTH
    ):
        message = "This value is not one we accept here."
    return FieldProblem(location=location, field=".".join(_field_path(path)), message=message, code=code)


def _field_problems(errors: list[Any]) -> list[FieldProblem]:
    """One problem per field and cause: for an optional field sent with a wrong value, the
    union's `none` member failing too ("Input should be None") is noise."""
    problems = [_field_problem(error) for error in errors]
    others = {(p.location, p.field) for p in problems if p.code != "none_required"}
    kept: dict[tuple[str, str, str], FieldProblem] = {}
    for problem in problems:
        if problem.code == "none_required" and (problem.location, problem.field) in others:
            continue
        kept.setdefault((problem.location, problem.field, problem.message), problem)
    return list(kept.values())


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, AppError):
        raise exc
    return problem_response(
        exc.status, title=exc.title, detail=exc.detail, type_=exc.type, headers=exc.headers, **exc.extra
    )


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _refuses_media_type(request: Request, errors: list[Any]) -> bool:
    """A JSON route sent a body of another type: FastAPI left it unparsed, so it failed validation."""
    route = request.scope.get("route")
    if (
        not isinstance(route, APIRoute)
        or route.body_field is None
        or _is_json(request.headers.get("content-type"))
    ):
        return False
    form = any(isinstance(param.field_info, params.Form) for param in route.dependant.body_params)
    return not form and any(error.get("loc", ())[:1] == ("body",) for error in errors)


def _malformed_json() -> JSONResponse:
    return problem_response(
        400,
        title="Malformed JSON",
        type_="urn:opmaestro:problem:malformed-json",
        detail="The request body is not valid JSON.",
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        raise exc
    errors = list(exc.errors())
    if _refuses_media_type(request, errors):
        return problem_response(
            415,
            title="Unsupported media type",
            type_="urn:opmaestro:problem:unsupported-media-type",
            detail="Send the request body as application/json.",
        )
    if any(error.get("type") == "json_invalid" for error in errors):
        return _malformed_json()
    return problem_response(
        422,
        title="Validation failed",
        type_="urn:opmaestro:problem:validation",
        detail="Some fields are missing or invalid.",
        errors=_field_problems(errors),
    )


def allowed_methods(request: Request) -> str:
    """The methods served at this path, by the routes of its most literal template.

    Starlette names only the first partly matching route's methods; `/me/consents/events`
    also matches `/me/consents/{purpose}`, yet is a resource of its own."""
    path = request.scope["path"]
    matching = [
        route
        for route in iter_route_contexts(request.app.routes)
        if route.path_regex.match(path) and route.methods
    ]
    if not matching:
        return ""
    templates = [(str(route.path_format).count("{"), route.methods or set()) for route in matching]
    literal = min(parameters for parameters, _ in templates)
    methods = {method for parameters, served in templates if parameters == literal for method in served}
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):
        raise exc
    # FastAPI reports a body its JSON parser gave up on (not UTF-8, nested past the recursion
    # limit) as a bare 400; it is the same mistake as any other malformed JSON.
    if exc.status_code == HTTPStatus.BAD_REQUEST and isinstance(exc.__cause__, (ValueError, RecursionError)):
        return _malformed_json()
    detail: str | None = exc.detail if isinstance(exc.detail, str) else None
    if detail == HTTPStatus(exc.status_code).phrase:
        detail = None
    headers = dict(exc.headers or {})
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        headers["Allow"] = allowed_methods(request)
        detail = detail or f"{request.method} is not served here; use {headers['Allow']}."
    return problem_response(
        exc.status_code,
        detail=detail,
        headers=headers,
        type_=_ROUTING_TYPES.get(exc.status_code, "about:blank"),
    )


# The router's own answers get types like the rest, so a client can tell them apart by type alone.
_ROUTING_TYPES: dict[int, str] = {
    HTTPStatus.NOT_FOUND: "urn:opmaestro:problem:not-found",
    HTTPStatus.METHOD_NOT_ALLOWED: "urn:opmaestro:problem:method-not-allowed",
}


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    route = getattr(request.scope.get("route"), "path", "unmatched")
    logger.error("unhandled error on %s %s", request.method, route, exc_info=exc)
    response = problem_response(500, detail="An unexpected error occurred. Quote the request id to support.")
    response.headers.update(security_headers(app_settings(request)))
    if request_id := current_request_id():
        response.headers["X-Request-ID"] = request_id
    return response


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


class InvalidRange(AppError):
    status, slug, title = 400, "invalid-range", "Invalid range"


class RangeNotSatisfiable(AppError):
    status, slug, title = 416, "range-not-satisfiable", "Range not satisfiable"


_RANGE_PROBLEMS = {
    400: InvalidRange("The Range header is malformed; ask for bytes=<start>-<end>."),
    416: RangeNotSatisfiable("The range asked for lies outside the file."),
}


class ProblemFileResponse(FileResponse):
    """A file from an API route: Starlette answers a bad `Range` itself, in plain text; here it is
    a problem like every other API error (with its `Content-Range` kept)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # RFC 9110 §14.2: a range in a unit we do not know is ignored, and the whole file served.
        headers = scope.get("headers", [])
        if any(
            name == b"range" and not value.strip().lower().startswith(b"bytes=") for name, value in headers
        ):
            scope = {**scope, "headers": [(name, value) for name, value in headers if name != b"range"]}
        replaced = False

        async def problem_instead(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] in _RANGE_PROBLEMS:
                replaced = True
                error = _RANGE_PROBLEMS[message["status"]]
                kept = {
                    name.decode("latin-1"): value.decode("latin-1")
                    for name, value in message.get("headers", [])
                    if name.lower() == b"content-range"
                }
                answer = problem_response(
                    error.status, title=error.title, detail=error.detail, type_=error.type, headers=kept
                )
                await answer(scope, receive, send)
            elif not replaced:
                await send(message)

        await super().__call__(scope, receive, problem_instead)
