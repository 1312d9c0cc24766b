"""The OAuth 2.0 token endpoint (client-credentials grant)."""

import base64
import binascii
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Request, Response

from opmaestro.accounts import tokens
from opmaestro.accounts.exceptions import InvalidClient, InvalidOAuthRequest, InvalidScope, UnsupportedGrant
from opmaestro.accounts.schemas import OAuthToken
from opmaestro.core.access import Public
from opmaestro.core.db import SessionDep
from opmaestro.core.deps import SettingsDep
from opmaestro.core.errors import problem

router = APIRouter(prefix="/oauth", tags=["oauth"])


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """Client id and secret from `Authorization: Basic`, form-decoded as RFC 6749 §2.3.1 says."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise InvalidClient("The Basic credentials are not valid base64 of `id:secret`.") from error
    client_id, separator, client_secret = decoded.partition(":")
    if not separator:
        raise InvalidClient("The Basic credentials are not valid base64 of `id:secret`.")
    return unquote_plus(client_id), unquote_plus(client_secret)


@router.post(
    "/token",
    summary="Get an access token",
    response_model=OAuthToken,
    dependencies=[Public],
    responses={
        400: problem(InvalidOAuthRequest, UnsupportedGrant, InvalidScope),
        401: problem(InvalidClient),
    },
)
async def issue_token(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    grant_type: Annotated[str, Form(max_length=50)],
    client_id: Annotated[str | None, Form(max_length=100)] = None,
    client_secret: Annotated[str | None, Form(max_length=200)] = None,
    scope: Annotated[str | None, Form(max_length=500)] = None,
) -> OAuthToken:
    """OAuth 2.0 client credentials: exchange a client id and secret (form or HTTP Basic) for a JWT."""
    # RFC 6749 §3.2: a parameter sent twice is an invalid request (else the last one would win).
    form = await request.form()
    if repeated := sorted({name for name in form if len(form.getlist(name)) > 1}):
        raise InvalidOAuthRequest(f"Send each parameter once: {', '.join(repeated)} came more than once.")
    if grant_type != "client_credentials":
        raise UnsupportedGrant("Only grant_type=client_credentials is supported.")
    if basic := _basic_credentials(request):
        # RFC 6749 §2.3: one authentication method per request. A form id naming the same client
        # is allowed (§4.4 lets it ride along); a form secret, or another client's id, is not.
        if client_secret is not None or (client_id is not None and client_id != basic[0]):
            raise InvalidOAuthRequest(
                "Authenticate the client one way: HTTP Basic, or client_id and client_secret in the form."
            )
        client_id, client_secret = basic
    if not client_id or not client_secret:
        raise InvalidClient("Send client_id and client_secret, in the form or with HTTP Basic.")
    token, expires_in, granted = await tokens.issue_client_token(
        session, settings, client_id=client_id, client_secret=client_secret, scope=scope
    )
    response.headers["Cache-Control"] = "no-store"
    return OAuthToken(access_token=token, expires_in=expires_in, scope=granted)
