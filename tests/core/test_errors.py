import logging
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict, Field

from opmaestro.core import errors
from opmaestro.core.errors import PROBLEM_JSON, AppError


class Widget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=20)
    count: int = Field(ge=0)
    nickname: Annotated[str, Field(min_length=2)] | None = None
    code: str | None = Field(default=None, pattern="^(?:" + "|".join(f"X{n:03d}" for n in range(100)) + ")$")


class WidgetLocked(AppError):
    status, slug, title = 409, "widget-locked", "Widget locked"


def _add_probe_routes(app: FastAPI) -> None:
    router = APIRouter(prefix="/api/v1/probe", tags=["probe"])

    @router.post("/widgets")
    async def create_widget(body: Widget) -> Widget:
        return body

    @router.post("/locked")
    async def lock_widget() -> None:
        raise WidgetLocked("The widget is being edited by someone else.")

    @router.get("/crash")
    async def crash() -> None:
        raise RuntimeError("secret detail jane@example.com must stay in the log only")

    app.include_router(router)


@pytest.fixture
def probe_app(app: FastAPI) -> FastAPI:
    _add_probe_routes(app)
    return app


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


class TestProblemDetails:
    async def test_app_error_carries_its_type_and_detail(self, probe_app, client):
        body = assert_problem(await client.post("/api/v1/probe/locked"), 409)
        assert body["type"] == "urn:opmaestro:problem:widget-locked"
        assert body["detail"] == "The widget is being edited by someone else."

    async def test_validation_error_lists_every_field(self, probe_app, client):
        response = await client.post("/api/v1/probe/widgets", json={"name": "", "count": -1, "extra": 1})
        body = assert_problem(response, 422)
        fields = {(error["location"], error["field"]) for error in body["errors"]}
        assert fields == {("body", "name"), ("body", "count"), ("body", "extra")}
        assert all(error["message"] and error["code"] for error in body["errors"])

    async def test_an_optional_field_is_named_as_sent_with_one_readable_message(self, probe_app, client):
        response = await client.post(
            "/api/v1/probe/widgets", json={"name": "a", "count": 1, "nickname": "x", "code": "Y"}
        )
        body = assert_problem(response, 422)
        # Not `nickname.constrained-str` plus `nickname.none: Input should be None`.
        assert [(error["field"], error["code"]) for error in body["errors"]] == [
            ("nickname", "string_too_short"),
            ("code", "string_pattern_mismatch"),
        ]
        # A 500-character pattern is not shown to people.
        assert body["errors"][1]["message"] == "This value is not one we accept here."

    async def test_wrong_type_is_not_coerced(self, probe_app, client):
        body = assert_problem(
            await client.post("/api/v1/probe/widgets", json={"name": "a", "count": "3x"}), 422
        )
        assert [error["field"] for error in body["errors"]] == ["count"]

    @pytest.mark.parametrize(
        "content",
        [b'{"name": "a",', b"[" * 100_000, b'\xff\xfe{"name": "a"}'],
        ids=["truncated", "nested-past-the-recursion-limit", "not-utf-8"],
    )
    async def test_malformed_json_is_400(self, probe_app, client, content):
        response = await client.post(
            "/api/v1/probe/widgets", content=content, headers={"content-type": "application/json"}
        )
        body = assert_problem(response, 400)
        assert body["type"] == "urn:opmaestro:problem:malformed-json"

    async def test_unknown_route_is_404(self, client):
        body = assert_problem(await client.get("/api/v1/no-such-thing"), 404)
        assert body["type"] == "urn:opmaestro:problem:not-found"

    async def test_wrong_method_is_405_with_allow(self, client):
        response = await client.delete("/api/v1/health")
        body = assert_problem(response, 405)
        assert body["type"] == "urn:opmaestro:problem:method-not-allowed"
        assert "GET" in response.headers["allow"]
        assert body["detail"] == f"DELETE is not served here; use {response.headers['allow']}."

    async def test_declared_oversized_body_is_413(self, probe_app, client, settings):
        oversized = b"x" * (settings.max_body_bytes + 1)
        response = await client.post(
            "/api/v1/probe/widgets", content=oversized, headers={"content-type": "application/json"}
        )
        assert_problem(response, 413)

    async def test_streamed_oversized_body_is_413(self, probe_app, client, settings):
        async def chunks():
            for _ in range(settings.max_body_bytes // 65536 + 2):
                yield b"x" * 65536

        response = await client.post(
            "/api/v1/probe/widgets", content=chunks(), headers={"content-type": "application/json"}
        )
        assert "content-length" not in response.request.headers
        assert_problem(response, 413)

    async def test_unexpected_error_is_500_with_request_id_and_no_trace(self, probe_app, client, caplog):
        with caplog.at_level(logging.ERROR):
            response = await client.get("/api/v1/probe/crash", headers={"X-Request-ID": "trace-me-42"})
        body = assert_problem(response, 500)
        assert body["request_id"] == "trace-me-42"
        assert "secret detail" not in response.text and "Traceback" not in response.text
        assert response.headers["x-content-type-options"] == "nosniff"
        record = next(r for r in caplog.records if r.levelno == logging.ERROR)
        assert record.exc_info is not None


@pytest.mark.parametrize("handler", [errors._app_error, errors._validation_error, errors._http_error])
async def test_a_handler_given_another_exception_raises_it_again(handler):
    with pytest.raises(KeyError):
        await handler(None, KeyError("not ours"))
