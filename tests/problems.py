"""The one check that an answer is an RFC 9457 problem of the expected status and type."""

from typing import Any

import httpx

PROBLEM_JSON = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"]
    if slug is not None:
        assert body["type"] == f"urn:opmaestro:problem:{slug}"
    return body
