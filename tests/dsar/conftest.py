"""Fixtures shared by the data-request tests: signed-in members and staff, and the outbox."""

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opmaestro.accounts.models import Role, User
from opmaestro.dsar import workflow
from opmaestro.dsar.models import RequestKind
from opmaestro.notifications.models import OutboxMessage
from tests.factories import create_user, sign_in

SignedIn = tuple[httpx.AsyncClient, User]


@pytest.fixture
def signed_in(
    session: AsyncSession, make_client: Callable[[], httpx.AsyncClient]
) -> Callable[..., Awaitable[SignedIn]]:
    """A new user (staff get two-factor) and a browser signed in as them."""

    async def make(email: str = "ann@example.com", role: Role = Role.MEMBER, **fields: Any) -> SignedIn:
        secret = pyotp.random_base32() if role != Role.MEMBER else None
        user = await create_user(session, email, role=role, mfa_secret=secret, **fields)
        browser = make_client()
        await sign_in(browser, email, otp_secret=secret)
        return browser, user

    return make


@pytest.fixture
async def member(signed_in: Callable[..., Awaitable[SignedIn]]) -> SignedIn:
    return await signed_in("ann@example.com")


@pytest.fixture
async def officer(signed_in: Callable[..., Awaitable[SignedIn]]) -> SignedIn:
    return await signed_in("officer@example.com", role=Role.PRIVACY_OFFICER)


@pytest.fixture
def outbox(session: AsyncSession) -> Callable[..., Awaitable[list[OutboxMessage]]]:
    """The queued mails, optionally of one template and to one address, oldest first."""

    async def read(template: str | None = None, to: str | None = None) -> list[OutboxMessage]:
        statement = (
            select(OutboxMessage).order_by(OutboxMessage.created_at).execution_options(populate_existing=True)
        )
        if template:
            statement = statement.where(OutboxMessage.template == template)
        if to:
            statement = statement.where(OutboxMessage.to_address == to)
        return list((await session.scalars(statement)).all())

    return read


@pytest.fixture
def no_starters(monkeypatch: pytest.MonkeyPatch) -> dict[RequestKind, workflow.Starter]:
    """No export or erasure worker registered (a verified request then waits in the staff queue);
    a test may put its own starters in the returned registry."""
    starters: dict[RequestKind, workflow.Starter] = {}
    monkeypatch.setattr(workflow, "_starters", starters)
    return starters
