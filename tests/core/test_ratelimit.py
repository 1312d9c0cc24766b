import os
import uuid

import pytest
import redis

from opmaestro.core.ratelimit import MemoryRateLimiter, RedisRateLimiter

REDIS_URL = os.environ.get("OPMAESTRO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
WINDOW_SECONDS = 60


@pytest.fixture(autouse=True)
def start_of_a_window(clock):
    """Each test's hits fall in one window instead of straddling a minute boundary."""
    clock.start_of_next_window(WINDOW_SECONDS)


@pytest.fixture
def redis_limiter():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        reason = f"Redis is not reachable at {REDIS_URL} ({error})"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(reason)
        print(f"\nSKIPPED: {reason}")
        pytest.skip(reason)
    return RedisRateLimiter(REDIS_URL)


async def exhaust(limiter, key: str, limit: int) -> list[bool]:
    return [
        (await limiter.hit(key, limit=limit, window_seconds=WINDOW_SECONDS)).allowed for _ in range(limit + 2)
    ]


async def test_memory_limiter_refuses_after_the_limit_with_retry_after():
    limiter = MemoryRateLimiter()
    assert await exhaust(limiter, "k", 3) == [True, True, True, False, False]
    verdict = await limiter.hit("k", limit=3, window_seconds=WINDOW_SECONDS)
    assert not verdict.allowed and 1 <= verdict.retry_after <= WINDOW_SECONDS
    assert (await limiter.hit("other", limit=3, window_seconds=WINDOW_SECONDS)).allowed


async def test_redis_limiter_is_shared_between_instances(redis_limiter):
    key = f"test:{uuid.uuid4()}"
    second = RedisRateLimiter(REDIS_URL)
    try:
        assert (await redis_limiter.hit(key, limit=2, window_seconds=WINDOW_SECONDS)).allowed
        assert (await second.hit(key, limit=2, window_seconds=WINDOW_SECONDS)).allowed
        refused = await redis_limiter.hit(key, limit=2, window_seconds=WINDOW_SECONDS)
        assert not refused.allowed and refused.retry_after >= 1
    finally:
        await redis_limiter.close()
        await second.close()
