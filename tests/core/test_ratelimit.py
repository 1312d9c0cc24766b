"""The rate limiter: counts per key in windows that start at a key's first hit, in memory or in
Redis, with the wait until the window ends."""

import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis

from opmaestro.core import ratelimit
from opmaestro.core.ratelimit import Quota, RateLimiter
from tests.clocked_storage import clocked_rate_limiter

REDIS_URL = os.environ.get("OPMAESTRO_TEST_RATE_LIMIT_REDIS_URL", "redis://127.0.0.1:6379/12")
WINDOW_SECONDS = 60


async def hits(limiter: RateLimiter, quota: Quota, times: int) -> list[bool]:
    return [(await limiter.hit(quota)).allowed for _ in range(times)]


@pytest.fixture
def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own in the rate-limit Redis database, emptied afterwards."""
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
    except redis.RedisError as error:
        reason = f"Redis is not reachable at {REDIS_URL} ({error})"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(reason)
        print(f"\nSKIPPED: {reason}")
        pytest.skip(reason)
    prefix = f"opmaestro-test:{uuid.uuid4()}"
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


class TestInMemory:
    async def test_refuses_after_the_limit_with_the_wait_until_the_window_ends(self):
        limiter = ratelimit.in_memory()
        quota = Quota("k", 3, WINDOW_SECONDS)

        assert await hits(limiter, quota, 5) == [True, True, True, False, False]
        verdict = await limiter.hit(quota)
        assert not verdict.allowed and 1 <= verdict.retry_after <= WINDOW_SECONDS
        assert (await limiter.hit(Quota("other", 3, WINDOW_SECONDS))).allowed

    async def test_first_refusal_counts_in_turn_and_stops_at_the_first_full_quota(self):
        limiter = ratelimit.in_memory()
        narrow, wide = Quota("narrow", 1, WINDOW_SECONDS), Quota("wide", 5, WINDOW_SECONDS)

        assert await limiter.first_refusal([narrow, wide]) is None
        refusal = await limiter.first_refusal([narrow, wide])

        assert refusal is not None and not refusal.allowed
        # The refused request never reached the second quota.
        assert await hits(limiter, wide, 4) == [True, True, True, True]

    async def test_clear_forgets_the_count(self):
        limiter = ratelimit.in_memory()
        quota = Quota("k", 2, WINDOW_SECONDS)
        await hits(limiter, quota, 3)

        await limiter.clear(quota)

        assert await hits(limiter, quota, 3) == [True, True, False]

    async def test_a_flood_of_sign_in_keys_does_not_reset_a_mail_counter(self):
        """The hand-written limiter pruned keys of one window length by another's window number,
        so 100,000 sign-in keys (15-minute windows) emptied the hour-long mail counters."""
        limiter = ratelimit.in_memory()
        mail = Quota("mail:address:victim", 2, 3600)
        assert await hits(limiter, mail, 3) == [True, True, False]

        for number in range(100_001):
            await limiter.hit(Quota(f"login:ip:10.{number}", 100, 900))

        assert not (await limiter.hit(mail)).allowed


class TestWindowEnd:
    async def test_the_count_starts_again_once_the_window_has_passed(self, clock):
        limiter = clocked_rate_limiter()
        quota = Quota("k", 2, WINDOW_SECONDS)
        assert await hits(limiter, quota, 3) == [True, True, False]
        clock.advance(seconds=10)

        refused = await limiter.hit(quota)
        assert not refused.allowed and 45 < refused.retry_after <= WINDOW_SECONDS - 10
        clock.advance(seconds=WINDOW_SECONDS - 10)

        assert await hits(limiter, quota, 3) == [True, True, False]


class TestInRedis:
    async def test_counts_are_shared_between_processes_and_cleared_for_all(self, redis_prefix):
        first = ratelimit.in_redis(REDIS_URL, key_prefix=redis_prefix)
        second = ratelimit.in_redis(REDIS_URL, key_prefix=redis_prefix)
        quota = Quota("k", 2, WINDOW_SECONDS)
        try:
            assert (await first.hit(quota)).allowed
            assert (await second.hit(quota)).allowed
            refused = await first.hit(quota)
            assert not refused.allowed and 1 <= refused.retry_after <= WINDOW_SECONDS

            await second.clear(quota)

            assert await hits(first, quota, 3) == [True, True, False]
        finally:
            await first.close()
            await second.close()

    async def test_keys_expire_with_their_window(self, redis_prefix):
        limiter = ratelimit.in_redis(REDIS_URL, key_prefix=redis_prefix)
        try:
            await limiter.hit(Quota("k", 2, WINDOW_SECONDS))
        finally:
            await limiter.close()

        client = redis.Redis.from_url(REDIS_URL)
        [key] = list(client.scan_iter(f"{redis_prefix}:*"))
        assert 0 < client.ttl(key) <= WINDOW_SECONDS
        client.close()
