"""GET /cookie-banner: the inventory, texts and links, cached by ETag; the GPC well-known file."""

import pytest
from sqlalchemy import update

from opmaestro.cookies import banner
from opmaestro.cookies.models import CookieBannerRevision
from opmaestro.core.clock import utcnow
from tests.cookies.helpers import BANNER


class TestBanner:
    async def test_lists_the_four_categories_with_the_cookies_the_product_sets(self, client):
        response = await client.get(BANNER)
        assert response.status_code == 200
        body = response.json()
        keys = [category["key"] for category in body["categories"]]
        assert keys == ["necessary", "preferences", "analytics", "marketing"]
        purposes = {c["key"]: (c["purpose_key"], c["required"]) for c in body["categories"]}
        assert purposes == {
            "necessary": ("necessary_cookies", True),
            "preferences": ("personalization", False),
            "analytics": ("analytics", False),
            "marketing": ("marketing_cookies", False),
        }
        necessary = body["categories"][0]["cookies"]
        assert sorted(cookie["name"] for cookie in necessary) == [
            "cc_cookie",
            "opm_csrf",
            "opm_device",
            "opm_session",
        ]
        assert all(cookie["party"] == "first" for cookie in necessary)
        assert body["revision"] == 1 and body["reprompt_after_days"] == 365
        assert body["do_not_track_honored"] is False
        assert set(body["texts"]) == {
            "title",
            "description",
            "accept_all",
            "reject_all",
            "save",
            "manage",
            "gpc_notice",
        }
        assert body["links"]["cookie_policy"].endswith("/cookie-policy")
        assert body["links"]["privacy_policy"].endswith("/privacy")

    async def test_answers_with_a_strong_etag_and_public_revalidated_caching(self, client):
        response = await client.get(BANNER, headers={"Accept-Encoding": "identity"})
        etag = response.headers["etag"]
        assert etag.startswith('"') and not etag.startswith("W/")
        assert response.headers["cache-control"] == "public, max-age=300, must-revalidate"
        assert response.headers["content-type"] == "application/json"
        assert "content-encoding" not in response.headers
        assert "Accept-Encoding" in response.headers["vary"]

    async def test_is_gzipped_for_a_client_that_accepts_it_and_revalidates_by_its_weak_etag(self, client):
        plain = await client.get(BANNER, headers={"Accept-Encoding": "identity"})
        zipped = await client.get(BANNER, headers={"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert int(zipped.headers["content-length"]) < len(plain.content) / 2
        assert zipped.content == plain.content  # httpx decodes it
        assert zipped.headers["etag"] == f"W/{plain.headers['etag']}"
        revalidated = await client.get(
            BANNER, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]}
        )
        assert revalidated.status_code == 304
        assert revalidated.headers["etag"] == zipped.headers["etag"]

    async def test_a_current_etag_gives_304_without_a_body(self, client):
        identity = {"Accept-Encoding": "identity"}
        etag = (await client.get(BANNER, headers=identity)).headers["etag"]
        for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            response = await client.get(BANNER, headers={"If-None-Match": sent} | identity)
            assert response.status_code == 304, sent
            assert response.content == b""
            assert response.headers["etag"] == etag
            assert response.headers["cache-control"].startswith("public")

    async def test_a_stale_etag_gets_the_body(self, client):
        response = await client.get(BANNER, headers={"If-None-Match": '"stale"'})
        assert response.status_code == 200 and response.json()["revision"] == 1

    async def test_an_oversized_if_none_match_is_refused(self, client):
        response = await client.get(BANNER, headers={"If-None-Match": '"' + "a" * 2000 + '"'})
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"

    async def test_is_the_same_for_every_caller(self, client, make_client):
        other = make_client()
        await other.post("/api/v1/cookie-consents", json={"revision": 1, "accepted": []})
        first, second = await client.get(BANNER), await other.get(BANNER)
        assert first.content == second.content and first.headers["etag"] == second.headers["etag"]


class TestDoNotTrackSetting:
    async def test_reported_as_not_honored_by_default(self, client):
        assert (await client.get(BANNER)).json()["do_not_track_honored"] is False

    @pytest.mark.parametrize("overrides", [{"honor_do_not_track": True, "cookie_reprompt_days": 180}])
    async def test_reported_when_configured(self, client, overrides):
        body = (await client.get(BANNER)).json()
        assert body["do_not_track_honored"] is True and body["reprompt_after_days"] == 180


class TestGpcWellKnown:
    async def test_says_gpc_is_supported(self, client):
        response = await client.get("/.well-known/gpc.json")
        assert response.status_code == 200
        body = response.json()
        assert body["gpc"] is True
        assert len(body["lastUpdate"]) == 10 and body["lastUpdate"][4] == "-"
        assert response.headers["content-type"] == "application/json"


class TestCacheAcrossProcesses:
    async def test_another_processs_change_is_seen_once_the_recheck_time_has_passed(
        self, client, session, monkeypatch
    ):
        now = [1000.0]
        monkeypatch.setattr(banner, "_clock", lambda: now[0])
        first = await client.get(BANNER)
        # Another process changes the inventory: only the database knows.
        await session.execute(update(CookieBannerRevision).values(revision=7, updated_at=utcnow()))
        await session.commit()
        now[0] += 0.5
        cached = await client.get(BANNER, headers={"If-None-Match": first.headers["etag"]})
        assert cached.status_code == 304
        now[0] += 1.0
        fresh = await client.get(BANNER, headers={"If-None-Match": first.headers["etag"]})
        assert fresh.status_code == 200 and fresh.json()["revision"] == 7
        assert fresh.headers["etag"] != first.headers["etag"]

    async def test_an_unchanged_inventory_keeps_its_etag_after_a_recheck(self, client, monkeypatch):
        now = [1000.0]
        monkeypatch.setattr(banner, "_clock", lambda: now[0])
        etag = (await client.get(BANNER)).headers["etag"]
        now[0] += 5
        assert (await client.get(BANNER, headers={"If-None-Match": etag})).status_code == 304
