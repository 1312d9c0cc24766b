"""Helpers the account routers share: session cookies, password checks, mail throttling."""

from fastapi import Request, Response

from opmaestro.accounts import signin
from opmaestro.accounts.deps import csrf_cookie_name, session_cookie_name
from opmaestro.accounts.models import UserSession
from opmaestro.accounts.password_checks import PasswordChecks
from opmaestro.core.config import Settings
from opmaestro.core.http import app_settings, request_client
from opmaestro.core.security import csrf_token


def set_session_cookies(response: Response, settings: Settings, token: str, user_session: UserSession) -> str:
    secure = settings.public_base_url.startswith("https://")
    max_age = settings.session_absolute_hours * 3600
    csrf = csrf_token(settings.secret_key.get_secret_value(), user_session.id)
    response.set_cookie(
        session_cookie_name(settings),
        token,
        max_age=max_age,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
    )
    response.set_cookie(
        csrf_cookie_name(settings),
        csrf,
        max_age=max_age,
        httponly=False,
        secure=secure,
        samesite="lax",
        path="/",
    )
    return csrf


def clear_session_cookies(response: Response, settings: Settings) -> None:
    for name in (session_cookie_name(settings), csrf_cookie_name(settings)):
        response.delete_cookie(name, path="/", secure=settings.public_base_url.startswith("https://"))


def password_checks(request: Request) -> PasswordChecks:
    return PasswordChecks(request.app.state.rate_limiter, app_settings(request))


async def throttle_mail_request(request: Request, email: str) -> None:
    limiter = request.app.state.rate_limiter
    await signin.throttle_mail_request(limiter, app_settings(request), email, request_client(request))
