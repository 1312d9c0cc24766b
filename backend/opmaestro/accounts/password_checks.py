"""Password (and two-factor code) checks behind a session, limited per user, so that a session
left open or stolen cannot be used to guess the password."""

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from opmaestro.accounts.exceptions import TooManyAttempts
from opmaestro.accounts.models import User
from opmaestro.core.config import Settings
from opmaestro.core.ratelimit import Quota, RateLimiter


class PasswordChecks:
    def __init__(self, limiter: RateLimiter, settings: Settings) -> None:
        self._limiter = limiter
        self._settings = settings

    @asynccontextmanager
    async def guard(self, user: User) -> AsyncIterator[None]:
        """Around the checks: 429 once the user's wrong answers fill the window; a check that
        fails (raises) keeps its count, one that passes forgets the count."""
        quota = Quota(
            f"password:user:{user.id}",
            self._settings.password_checks_per_user,
            self._settings.login_window_seconds,
        )
        # Counted before the slow check, so that parallel guesses cannot all slip in.
        verdict = await self._limiter.hit(quota)
        if not verdict.allowed:
            minutes = math.ceil(verdict.retry_after / 60)
            raise TooManyAttempts(
                "Too many wrong passwords or codes; "
                f"try again in {minutes} minute{'s' if minutes != 1 else ''}.",
                headers={"Retry-After": str(verdict.retry_after)},
            )
        yield
        await self._limiter.clear(quota)
