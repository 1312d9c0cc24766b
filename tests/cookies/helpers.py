"""Shared helpers for the cookie tests."""

from typing import Any

import httpx

from opmaestro.cookies.devices import DEVICE_COOKIE

CONSENTS = "/api/v1/cookie-consents"
CURRENT = "/api/v1/cookie-consents/current"
BANNER = "/api/v1/cookie-banner"
COOKIE_PURPOSES = ["personalization", "analytics", "marketing_cookies"]


async def choose(client: httpx.AsyncClient, *accepted: str, **kwargs: Any) -> dict[str, Any]:
    """Post a choice at revision 1 and expect it recorded."""
    body = {"revision": 1, "accepted": list(accepted)} | kwargs.pop("extra", {})
    response = await client.post(CONSENTS, json=body, **kwargs)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def device_cookie(client: httpx.AsyncClient) -> str:
    value = client.cookies.get(DEVICE_COOKIE)
    assert value, "no device cookie"
    return value


def by_purpose(consent: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {event["purpose_key"]: event for event in consent["events"]}
