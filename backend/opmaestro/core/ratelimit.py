"""Fixed-window rate limits: in memory for one process, in Redis when several share them."""

import asyncio
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from opmaestro.core.clock import utcnow


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window_seconds: int) -> Verdict: ...


def _window(window_seconds: int) -> tuple[int, int]:
    now = utcnow().timestamp()
    index = int(now // window_seconds)
    return index, max(1, math.ceil((index + 1) * window_seconds - now))


async def first_refusal(
    limiter: RateLimiter, limits: Iterable[tuple[str, int]], *, window_seconds: int
) -> Verdict | None:
    """Counts the request against each (key, limit) in turn; the first that refuses it, if any."""
    for key, limit in limits:
        verdict = await limiter.hit(key, limit=limit, window_seconds=window_seconds)
        if not verdict.allowed:
            return verdict
    return None


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = asyncio.Lock()

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> Verdict:
        index, remaining = _window(window_seconds)
        async with self._lock:
            if len(self._counts) > 100_000:
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= index - 1}
            count = self._counts.get((key, index), 0) + 1
            self._counts[(key, index)] = count
        return Verdict(count <= limit, 0 if count <= limit else remaining)


class RedisRateLimiter:
    def __init__(self, redis_url: str) -> None:
        self._redis = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> Verdict:
        index, remaining = _window(window_seconds)
        redis_key = f"opmaestro:rl:{key}:{index}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(redis_key)
            pipe.expire(redis_key, window_seconds + 1)
            count, _ = await pipe.execute()
        return Verdict(int(count) <= limit, 0 if int(count) <= limit else remaining)

    async def close(self) -> None:
        await self._redis.aclose()
