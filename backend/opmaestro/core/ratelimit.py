"""Rate limits: fixed windows counted by the `limits` library, in memory for one process or in
Redis when several share them. Routes and services name a key, a limit and a window (a Quota)
and never see the library's types."""

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from redis.asyncio import ConnectionPool

KEY_PREFIX = "opmaestro:rl"


@dataclass(frozen=True)
class Quota:
    """At most `limit` hits on `key` in a window of `window_seconds`, starting at the first hit."""

    key: str
    limit: int
    window_seconds: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int


class RateLimiter:
    def __init__(
        self,
        storage: Storage,
        *,
        now: Callable[[], float] = time.time,
        pool: ConnectionPool | None = None,
    ) -> None:
        """`now` must be the storage's own time source (tests pass one they can move)."""
        self._strategy = FixedWindowRateLimiter(storage)
        self._now = now
        self._pool = pool

    async def hit(self, quota: Quota) -> Verdict:
        """Count one hit; refused once the window holds more than the limit."""
        item = _item(quota)
        if await self._strategy.hit(item, quota.key):
            return Verdict(True, 0)
        stats = await self._strategy.get_window_stats(item, quota.key)
        return Verdict(False, max(1, math.ceil(stats.reset_time - self._now())))

    async def first_refusal(self, quotas: Iterable[Quota]) -> Verdict | None:
        """Counts the request against each quota in turn; the first that refuses it, if any."""
        for quota in quotas:
            verdict = await self.hit(quota)
            if not verdict.allowed:
                return verdict
        return None

    async def clear(self, *quotas: Quota) -> None:
        """Forget the hits counted so far in each quota's window."""
        for quota in quotas:
            await self._strategy.clear(_item(quota), quota.key)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()


def _item(quota: Quota) -> RateLimitItemPerSecond:
    return RateLimitItemPerSecond(quota.limit, quota.window_seconds, namespace="opmaestro")


def in_memory() -> RateLimiter:
    """Counters of this process only."""
    return RateLimiter(MemoryStorage())


def in_redis(redis_url: str, *, key_prefix: str = KEY_PREFIX) -> RateLimiter:
    """Counters shared by every process that uses the same Redis database."""
    # The project's own redis-py client (limits' `redis` extra would cap it below 8), on a pool
    # we own so that it can be closed; `connection_pool` is a documented option that the
    # library's annotations leave out.
    pool = ConnectionPool.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    storage = RedisStorage(
        f"async+{redis_url}",
        implementation="redispy",
        key_prefix=key_prefix,
        connection_pool=pool,  # type: ignore[arg-type]
    )
    return RateLimiter(storage, pool=pool)
