"""Rate limiting logic with the in-memory counter (the database counter is tested on SQLite
and PostgreSQL in tests/integration/test_ratelimit_storage.py)."""

from __future__ import annotations

import json

from bot.ratelimit import Limit, MemoryCounter, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 6000.0  # the start of a minute

    def __call__(self) -> float:
        return self.now


async def test_limit_gives_429_with_retry_after_until_the_window_ends():
    clock, limited = Clock(), []
    limiter = RateLimiter(MemoryCounter(), on_limited=limited.append, clock=clock)
    limit = Limit("conversation", "c:1", 3)
    for _ in range(3):
        assert await limiter.check([limit]) is None
    clock.now += 20
    refused = await limiter.check([limit])
    assert refused.status == 429 and refused.headers["Retry-After"] == "41"
    assert json.loads(refused.text)["error"]["code"] == "TooManyRequests"
    assert limited == ["conversation"]
    clock.now += 41  # a new window
    assert await limiter.check([limit]) is None


async def test_keys_are_counted_apart_and_zero_means_off():
    limiter = RateLimiter(MemoryCounter(), clock=Clock())
    for _ in range(5):
        assert await limiter.check([Limit("address", "a:x", 0)]) is None
    assert await limiter.check([Limit("c", "c:1", 1)]) is None
    assert await limiter.check([Limit("c", "c:2", 1)]) is None
    assert (await limiter.check([Limit("c", "c:1", 1)])).status == 429
