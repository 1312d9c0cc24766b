"""Helpers the account routers share: session cookies, password checks, mail throttling."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Response

from opmaestro.accounts import signin
from opmaestro.accounts.deps import csrf_cookie_name, session_cookie_name
from opmaestro.accounts.models import UserSession
from opmaestro.accounts.password_checks import PasswordChecks
from opmaestro.core.config import Settings
from opmaestro.core.deps import RateLimiterDep, SettingsDep
from opmaestro.core.http import Client, ClientDep
from opmaestro.core.ratelimit import RateLimiter
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


async def password_checks(limiter: RateLimiterDep, settings: SettingsDep) -> PasswordChecks:
    """Password checks that count wrong passwords against the app's rate limiter."""
    return PasswordChecks(limiter, settings)


@dataclass(frozen=True)
class MailThrottle:
    """Limits requests that send mail, per address and kind of mail (`bucket`), and per source."""

    limiter: RateLimiter
    settings: Settings
    client: Client

    async def __call__(self, email: str, *, bucket: signin.MailBucket) -> None:
        await signin.throttle_mail_request(self.limiter, self.settings, email, self.client, bucket=bucket)


async def mail_throttle(limiter: RateLimiterDep, settings: SettingsDep, client: ClientDep) -> MailThrottle:
    """The mail throttle for this request's source."""
    return MailThrottle(limiter, settings, client)


PasswordChecksDep = Annotated[PasswordChecks, Depends(password_checks)]
MailThrottleDep = Annotated[MailThrottle, Depends(mail_throttle)]
