"""Shared helpers for the consent tests."""

from typing import Any

import httpx
import pyotp
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.models import Role, User
from tests.factories import PASSWORD, create_user, sign_in

SEEDED = [
    "analytics",
    "marketing_cookies",
    "marketing_email",
    "necessary_cookies",
    "personalization",
    "product_updates",
]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def create_token(browser: httpx.AsyncClient, *scopes: str) -> str:
    response = await browser.post("/api/v1/me/tokens", json={"name": "CRM sync", "scopes": list(scopes)})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


async def sign_in_staff(
    session: AsyncSession, client: httpx.AsyncClient, email: str, role: Role = Role.ADMIN
) -> User:
    secret = pyotp.random_base32()
    staff = await create_user(session, email, role=role, mfa_secret=secret)
    await sign_in(client, staff.email, PASSWORD, otp_secret=secret)
    return staff


async def put_consent(
    client: httpx.AsyncClient, purpose: str, granted: bool, **kwargs: Any
) -> dict[str, Any]:
    response = await client.put(f"/api/v1/me/consents/{purpose}", json={"granted": granted}, **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def consents_by_key(client: httpx.AsyncClient, **kwargs: Any) -> dict[str, dict[str, Any]]:
    response = await client.get("/api/v1/me/consents", **kwargs)
    assert response.status_code == 200, response.text
    return {item["key"]: item for item in response.json()}
