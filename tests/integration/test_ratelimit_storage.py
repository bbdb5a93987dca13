"""Rate-limit counters in the database, shared by replicas, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

from bot.ratelimit import Counts, Limit, RateLimiter, SqlCounter


class Clock:
    now = 60_000.0

    def __call__(self) -> float:
        return self.now


async def test_two_replicas_share_one_count(engine):
    key = f"c:{uuid.uuid4().hex}"
    clock = Clock()
    first = RateLimiter(SqlCounter(engine), clock=clock)
    second = RateLimiter(SqlCounter(engine), clock=clock)
    limit = Limit("conversation", key, 4)
    answers = await asyncio.gather(*(limiter.check([limit]) for limiter in [first, second] * 3))
    refused = [answer for answer in answers if answer is not None]
    assert len(refused) == 2 and all(r.status == 429 for r in refused)


async def test_keys_idle_for_two_minutes_are_pruned(engine):
    from sqlalchemy import select

    from bot.storage.database import session_factory
    from bot.storage.models import RateLimitRecord

    counter = SqlCounter(engine)
    idle, busy = f"p:{uuid.uuid4().hex}", f"p:{uuid.uuid4().hex}"
    await counter.increment([idle], 10)
    await counter.increment([busy], 10)
    await counter.increment([busy], 11)
    await counter.prune(11)
    with session_factory(engine)() as session:
        left = session.scalars(
            select(RateLimitRecord.key).where(RateLimitRecord.key.in_([idle, busy]))
        ).all()
    assert left == [busy]
    assert await counter.increment([busy], 12) == [Counts(1, 1)]


async def test_every_key_of_a_request_counts_once(engine):
    counter = SqlCounter(engine)
    address, conversation = f"a:{uuid.uuid4().hex}", f"c:{uuid.uuid4().hex}"
    assert await counter.increment([address], 7) == [Counts(1, 0)]
    # In the caller's order:
    assert await counter.increment([conversation, address], 7) == [Counts(1, 0), Counts(2, 0)]
    assert await counter.increment([address, conversation, address], 7) == [
        Counts(3, 0),  # once each, even when two limits share a key
        Counts(2, 0),
        Counts(3, 0),
    ]
    # A new window starts from one, and tells what the last one counted.
    assert await counter.increment([conversation, address], 8) == [Counts(1, 2), Counts(1, 3)]
    assert await counter.increment([address], 10) == [Counts(1, 0)]  # 9 had none
    # A replica whose clock is a moment behind counts into the newer window.
    assert await counter.increment([address], 9) == [Counts(2, 0)]
    assert await counter.increment([address], 11) == [Counts(1, 2)]


async def test_the_limit_holds_over_the_turn_of_a_minute(engine):
    key, clock = f"c:{uuid.uuid4().hex}", Clock()
    limiter = RateLimiter(SqlCounter(engine), clock=clock)
    limit = Limit("conversation", key, 5)
    clock.now = 60_059.0
    for _ in range(5):
        assert await limiter.check([limit]) is None
    clock.now = 60_060.0
    assert (await limiter.check([limit])).status == 429  # the last minute's five still count
