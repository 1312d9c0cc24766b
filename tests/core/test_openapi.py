import json
import re

from opmaestro.accounts.deps import SCOPES
from opmaestro.core.config import PROJECT_ROOT
from opmaestro.openapi import render_openapi


def test_committed_spec_matches_the_code():
    committed = (PROJECT_ROOT / "openapi" / "openapi.json").read_text()
    assert committed == render_openapi(), "openapi/openapi.json is stale: run `make openapi`"


def test_operation_ids_are_stable_tag_handler_names():
    spec = json.loads(render_openapi())
    ids = [operation["operationId"] for path in spec["paths"].values() for operation in path.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+-[a-z_]+", operation_id) for operation_id in ids)
    assert "health-get_liveness" in ids


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_error_is_a_problem_document_under_problem_json():
    spec = json.loads(render_openapi())
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (method, path, status)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert "ValidationError" not in spec["components"]["schemas"]


def test_framework_answers_are_documented_where_they_apply():
    spec = json.loads(render_openapi())
    register = spec["paths"]["/api/v1/auth/register"]["post"]["responses"]
    assert {"400", "413", "415", "422", "429"} <= set(register)
    token = spec["paths"]["/api/v1/oauth/token"]["post"]["responses"]
    assert {"400", "413", "422"} <= set(token) and "415" not in token
    assert set(spec["paths"]["/api/v1/health"]["get"]["responses"]) == {"200", "422"}
    assert {"401", "403", "422"} <= set(spec["paths"]["/api/v1/me/tokens"]["get"]["responses"])


def test_security_is_declared_per_operation():
    spec = json.loads(render_openapi())
    schemes = spec["components"]["securitySchemes"]
    assert schemes["session"] == schemes["session"] | {
        "type": "apiKey",
        "in": "cookie",
        "name": "opm_session",
    }
    assert schemes["csrf"] | {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"} == schemes["csrf"]
    assert schemes["personal_token"]["scheme"] == "bearer"
    flow = schemes["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/api/v1/oauth/token" and set(flow["scopes"]) == set(SCOPES)
    paths = spec["paths"]
    assert "security" not in paths["/api/v1/auth/login"]["post"]
    assert "security" not in paths["/.well-known/jwks.json"]["get"]
    assert paths["/api/v1/me"]["get"]["security"] == [{"session": []}, {"personal_token": ["profile:read"]}]
    assert paths["/api/v1/me"]["patch"]["security"] == [
        {"session": [], "csrf": []},
        {"personal_token": ["profile:write"]},
    ]
    assert paths["/api/v1/me/tokens"]["post"]["security"] == [{"session": [], "csrf": []}]
    assert paths["/api/v1/admin/users"]["get"]["security"] == [
        {"session": []},
        {"personal_token": ["admin:users:read"]},
        {"oauth2": ["admin:users:read"]},
    ]


def test_operations_have_written_summaries_and_tags_descriptions():
    spec = json.loads(render_openapi())
    for path, method, operation in operations(spec):
        generated = operation["operationId"].split("-", 1)[1].replace("_", " ").title()
        assert operation["summary"] and operation["summary"] != generated, (method, path)
        assert operation["description"], (method, path)
    described = {tag["name"] for tag in spec["tags"] if tag.get("description")}
    used = {tag for _, _, operation in operations(spec) for tag in operation["tags"]}
    assert used <= described


async def test_405_allows_every_method_of_the_path(client):
    response = await client.request("OPTIONS", "/api/v1/me")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PATCH"
    assert response.headers["content-type"] == "application/problem+json"
    events = await client.request("OPTIONS", "/api/v1/me/consents/events")
    assert events.headers["allow"] == "GET"


async def test_a_json_route_refuses_another_media_type_with_415(client):
    response = await client.post(
        "/api/v1/auth/login", content=b'{"email": "a@example.com"}', headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:opmaestro:problem:unsupported-media-type"
    json_body = await client.post("/api/v1/auth/login", json={"email": "a@example.com"})
    assert json_body.status_code == 422


async def test_unknown_query_parameters_are_refused(client):
    response = await client.get("/api/v1/health?verbose=1")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "location": "query",
            "field": "verbose",
            "message": "Unknown query parameter",
            "code": "extra_forbidden",
        }
    ]
    assert (await client.get("/api/v1/consent/purposes")).status_code == 200
