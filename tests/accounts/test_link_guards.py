"""Emailed links whose stored token is incomplete are refused as invalid, never a server error."""

from opmaestro.accounts import service as accounts
from opmaestro.accounts.models import TokenPurpose
from tests.factories import create_user
from tests.problems import assert_problem


async def test_a_change_email_token_without_a_new_address_is_invalid(client, session):
    ann = await create_user(session, "ann@example.com")
    token = await accounts.issue_token(session, ann, TokenPurpose.CHANGE_EMAIL)
    await session.flush()
    response = await client.post("/api/v1/auth/verify-email", json={"token": token})
    assert_problem(response, 403, "invalid-token")
