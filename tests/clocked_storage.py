"""A `limits` storage that keeps time by the project's clock (`opmaestro.core.clock`), so that a
test can end a rate-limit window by moving the clock instead of waiting."""

from limits.aio.storage import Storage

from opmaestro.core.clock import utcnow
from opmaestro.core.ratelimit import RateLimiter


def now() -> float:
    return utcnow().timestamp()


class ClockedStorage(Storage):
    """Fixed-window counters, each expiring `expiry` seconds of the clock after its first hit."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}
        self.expiries: dict[str, float] = {}

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        if await self.get(key) == 0:
            self.expiries[key] = now() + expiry
        self.counts[key] = self.counts.get(key, 0) + amount
        return self.counts[key]

    async def get(self, key: str) -> int:
        if self.expiries.get(key, 0) <= now():
            await self.clear(key)
        return self.counts.get(key, 0)

    async def get_expiry(self, key: str) -> float:
        return self.expiries.get(key, now())

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        count = len(self.counts)
        self.counts.clear()
        self.expiries.clear()
        return count

    async def clear(self, key: str) -> None:
        self.counts.pop(key, None)
        self.expiries.pop(key, None)


def clocked_rate_limiter() -> RateLimiter:
    return RateLimiter(ClockedStorage(), now=now)
