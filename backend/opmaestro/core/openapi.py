"""The OpenAPI document as a contract: who may call each operation and every error it can answer.

FastAPI describes the happy path; this step, run once over the generated document, adds what
every route shares, so a new route is described correctly without repeating it:

- `security` per operation from its access rule: the session cookie (with the CSRF header on
  unsafe methods), a personal access token, and OAuth client credentials where clients may call;
- every error as an RFC 9457 `Problem` under `application/problem+json`, including the answers
  the framework gives on its own (400 malformed body, 413 too large, 415 not JSON, 422 invalid,
  401 and 403 for signed-in routes), in place of FastAPI's `HTTPValidationError`.
"""

from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from opmaestro.core.access import SAFE_METHODS, AccessRule
from opmaestro.core.errors import PROBLEM_JSON

JSON = "application/json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
FRAMEWORK_SCHEMAS = ("HTTPValidationError", "ValidationError")
DESCRIPTIONS = {
    400: "Malformed request body",
    401: "Not signed in, or the token is invalid, expired or revoked",
    403: "Forbidden: role, scope, CSRF token, two-factor or verified address missing",
    413: "Request body too large",
    415: "Unsupported media type: send `application/json`",
    422: "Validation failed: `errors` lists each field or unknown query parameter",
}


def access_rules(dependant: Dependant) -> Iterator[AccessRule]:
    """The access rules (`Authorize`, `Public`) a route depends on, however deeply."""
    for sub in dependant.dependencies:
        if isinstance(sub.call, AccessRule):
            yield sub.call
        yield from access_rules(sub)


def access_rule(dependant: Dependant) -> AccessRule | None:
    return next(access_rules(dependant), None)


def security_requirements(rule: AccessRule, method: str) -> list[dict[str, list[str]]]:
    """Alternatives (any one suffices), each a set of schemes sent together."""
    scopes = sorted(rule.scopes)
    if rule.clients_only:
        return [{"oauth2": scopes}]
    session: dict[str, list[str]] = (
        {"session": []} if method.upper() in SAFE_METHODS else {"session": [], "csrf": []}
    )
    requirements: list[dict[str, list[str]]] = [session]
    if not rule.session_only:
        requirements.append({"personal_token": scopes})
    if rule.allow_clients:
        requirements.append({"oauth2": scopes})
    return requirements


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


def _describe_operation(operation: dict[str, Any], method: str, rule: AccessRule | None) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    # Unknown query parameters are refused everywhere (`core.http.reject_unknown_query`).
    expected: set[int] = {422}
    body_types = set(operation.get("requestBody", {}).get("content", {}))
    if body_types:
        expected |= {400, 413, 422}
        if JSON in body_types:
            expected.add(415)
    if rule is None or rule.public:
        operation.pop("security", None)
    else:
        operation["security"] = security_requirements(rule, method)
        expected |= {401, 403}
    for code in expected:
        responses.setdefault(str(code), {"description": DESCRIPTIONS[code]})
    for key, response in responses.items():
        if key == "default" or int(key) >= HTTPStatus.BAD_REQUEST:
            description = response.get("description") or HTTPStatus(int(key)).phrase
            if key == "422" and response.get("description") == "Validation Error":
                description = DESCRIPTIONS[422]
            responses[key] = _problem(description) | {
                key: value for key, value in response.items() if key not in ("content", "description")
            }


def describe_contract(spec: dict[str, Any], routes: list[BaseRoute]) -> dict[str, Any]:
    """Add security and error responses to every operation of `spec` (in place) and return it."""
    for route in iter_route_contexts(routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        path_item = spec["paths"].get(route.path_format, {})
        for method in route.methods or ():
            operation = path_item.get(method.lower())
            if operation is not None:
                _describe_operation(operation, method, access_rule(route.dependant))
    schemas: dict[str, Any] = spec.get("components", {}).get("schemas", {})
    for name in FRAMEWORK_SCHEMAS:
        schemas.pop(name, None)
    return spec


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` return the described document (FastAPI caches it until routes change)."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    described: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        spec = generate()
        if not described or described[0] is not spec:
            described[:] = [describe_contract(spec, app.routes)]
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
