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


async def test_limit_gives_429_with_retry_after_when_one_more_request_fits():
    clock, limited = Clock(), []
    limiter = RateLimiter(MemoryCounter(), on_limited=limited.append, clock=clock)
    limit = Limit("conversation", "c:1", 3)
    for _ in range(3):
        assert await limiter.check([limit]) is None
    clock.now += 20
    refused = await limiter.check([limit])
    # Four counted in this minute (the refused one too): the next fits once the
    # sliding minute holds half of them, 30 s into the next window.
    assert refused.status == 429 and refused.headers["Retry-After"] == "70"
    assert json.loads(refused.text)["error"]["code"] == "TooManyRequests"
    assert limited == ["conversation"]
    clock.now += 69
    assert (await limiter.check([limit])).status == 429  # a second early: still too many
    clock.now += 1
    later = await limiter.check([limit])
    assert later.status == 429  # the early one counted too: it waits longer
    clock.now += int(later.headers["Retry-After"])
    assert await limiter.check([limit]) is None


async def test_no_double_burst_around_the_turn_of_a_minute():
    """Fixed windows let 30 through at 12:00:59 and 30 more at 12:01:00."""
    clock = Clock()
    limiter = RateLimiter(MemoryCounter(), clock=clock)
    limit = Limit("conversation", "c:burst", 30)
    clock.now += 59
    for _ in range(30):
        assert await limiter.check([limit]) is None
    clock.now += 1  # the next minute
    refused = await limiter.check([limit])
    assert refused.status == 429
    # The last minute's thirty weigh less as the sliding minute moves past them.
    clock.now += int(refused.headers["Retry-After"])
    assert await limiter.check([limit]) is None
    accepted = 1
    while await limiter.check([limit]) is None:
        accepted += 1
    assert accepted < 30  # never a second full minute's worth at once


async def test_keys_are_counted_apart_and_zero_means_off():
    limiter = RateLimiter(MemoryCounter(), clock=Clock())
    for _ in range(5):
        assert await limiter.check([Limit("address", "a:x", 0)]) is None
    assert await limiter.check([Limit("c", "c:1", 1)]) is None
    assert await limiter.check([Limit("c", "c:2", 1)]) is None
    assert (await limiter.check([Limit("c", "c:1", 1)])).status == 429
