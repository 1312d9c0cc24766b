"""CORS for the banner's routes only, to the configured origins only, with credentials."""

import pytest

from tests.cookies.conftest import BANNER_ORIGIN
from tests.cookies.helpers import BANNER, CONSENTS, CURRENT

PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}


class TestAllowedOrigin:
    @pytest.mark.parametrize("path", [BANNER, CURRENT])
    async def test_echoes_the_origin_with_credentials(self, client, path):
        response = await client.get(path, headers={"Origin": BANNER_ORIGIN})
        assert response.headers["access-control-allow-origin"] == BANNER_ORIGIN
        assert response.headers["access-control-allow-credentials"] == "true"
        assert "Origin" in response.headers["vary"]
        assert "ETag" in response.headers["access-control-expose-headers"]
        # Nothing stops another origin from reading a CORS answer.
        assert response.headers.get("cross-origin-resource-policy", "cross-origin") == "cross-origin"

    async def test_a_preflight_is_answered(self, client):
        response = await client.options(CONSENTS, headers={"Origin": BANNER_ORIGIN} | PREFLIGHT)
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == BANNER_ORIGIN
        assert response.headers["access-control-allow-credentials"] == "true"
        assert "POST" in response.headers["access-control-allow-methods"]
        assert "content-type" in response.headers["access-control-allow-headers"]

    async def test_a_choice_from_the_site_sets_the_device_cookie(self, client):
        response = await client.post(
            CONSENTS, json={"revision": 1, "accepted": []}, headers={"Origin": BANNER_ORIGIN, "Sec-GPC": "1"}
        )
        assert response.status_code == 201
        assert response.headers["access-control-allow-origin"] == BANNER_ORIGIN
        assert "set-cookie" in response.headers

    async def test_errors_carry_the_cors_headers_so_the_site_can_read_them(self, client):
        response = await client.post(CONSENTS, json={"revision": 1}, headers={"Origin": BANNER_ORIGIN})
        assert response.status_code == 422
        assert response.headers["access-control-allow-origin"] == BANNER_ORIGIN


class TestRefused:
    async def test_another_origin_gets_no_cors_headers(self, client):
        response = await client.get(BANNER, headers={"Origin": "https://evil.example"})
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers
        assert "Origin" in response.headers["vary"]

    @pytest.mark.parametrize(
        "headers",
        [
            {"Origin": "https://evil.example"} | PREFLIGHT,
            {"Origin": BANNER_ORIGIN, "Access-Control-Request-Method": "DELETE"},
            {
                "Origin": BANNER_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
            {"Origin": "null"} | PREFLIGHT,
        ],
    )
    async def test_a_refused_preflight_is_a_problem(self, client, headers):
        response = await client.options(CONSENTS, headers=headers)
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
        assert "access-control-allow-origin" not in response.headers

    @pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/me", "/api/v1/admin/cookies"])
    async def test_other_routes_get_no_cors_even_from_the_banner_origin(self, client, path):
        response = await client.get(path, headers={"Origin": BANNER_ORIGIN})
        assert "access-control-allow-origin" not in response.headers
        preflight = await client.options(path, headers={"Origin": BANNER_ORIGIN} | PREFLIGHT)
        assert "access-control-allow-origin" not in preflight.headers

    @pytest.mark.parametrize("overrides", [{"banner_origins": ""}])
    async def test_no_origin_is_allowed_unless_configured(self, client, overrides):
        response = await client.get(BANNER, headers={"Origin": BANNER_ORIGIN})
        assert "access-control-allow-origin" not in response.headers


class TestOriginSetting:
    @pytest.mark.parametrize(
        "value", ["*", "https://www.example.com/path", "www.example.com", "https://*.example.com"]
    )
    def test_anything_but_exact_origins_is_refused(self, value):
        from pydantic import ValidationError

        from opmaestro.core.config import Settings

        with pytest.raises(ValidationError):
            Settings(banner_origins=value)

    def test_a_list_of_origins_is_read(self):
        from opmaestro.core.config import Settings

        settings = Settings(banner_origins="https://a.example, http://localhost:5173")
        assert settings.banner_origin_list == ("https://a.example", "http://localhost:5173")
