"""Every route declares who may call it, and refuses anyone else."""

import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from opmaestro.api import API_PREFIX, DOMAIN_ROUTERS, ROOT_ROUTERS
from opmaestro.core.access import AccessRule


def api_routes() -> list[APIRoute]:
    return [route for router in DOMAIN_ROUTERS for route in router.routes if isinstance(route, APIRoute)]


def access_rules(dependant: Dependant) -> Iterator[AccessRule]:
    for sub in dependant.dependencies:
        if isinstance(sub.call, AccessRule):
            yield sub.call
        yield from access_rules(sub)


def route_id(route: APIRoute) -> str:
    return f"{','.join(sorted(route.methods))} {route.path}"


def test_every_route_declares_exactly_one_access_rule():
    missing = [route_id(r) for r in api_routes() if not list(access_rules(r.dependant))]
    assert missing == [], f"routes without an Authorize(...) rule: {missing}"
    several = [route_id(r) for r in api_routes() if len({id(a) for a in access_rules(r.dependant)}) > 1]
    assert several == [], f"routes with more than one rule: {several}"


def test_the_list_of_domain_routers_is_what_the_api_serves(app):
    listed = {API_PREFIX + route.path for router in DOMAIN_ROUTERS for route in router.routes}
    listed |= {route.path for router in ROOT_ROUTERS for route in router.routes}
    assert set(app.openapi()["paths"]) == listed


PROTECTED = [
    pytest.param(method, route.path, id=f"{method} {route.path}")
    for route in api_routes()
    for method in sorted(route.methods)
    if not any(rule.public for rule in access_rules(route.dependant))
]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_protected_route_refuses_anonymous_callers(client, method, path):
    response = await client.request(method, API_PREFIX + concrete(path), json={})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:opmaestro:problem:not-authenticated"
