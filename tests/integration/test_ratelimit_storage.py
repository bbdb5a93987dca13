"""Rate-limit counters in the database, shared by replicas, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

from bot.ratelimit import Limit, RateLimiter, SqlCounter


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


async def test_old_windows_are_pruned(engine):
    from sqlalchemy import func, select

    from bot.storage.database import session_factory
    from bot.storage.models import RateLimitRecord

    counter = SqlCounter(engine)
    key = f"p:{uuid.uuid4().hex}"
    await counter.increment([key], 10)
    await counter.increment([key], 11)
    await counter.prune(11)
    with session_factory(engine)() as session:
        windows = session.scalars(
            select(RateLimitRecord.window_start).where(RateLimitRecord.key == key)
        ).all()
        assert windows == [11]
        assert session.scalar(select(func.count()).select_from(RateLimitRecord)) >= 1


async def test_every_key_of_a_request_counts_once(engine):
    counter = SqlCounter(engine)
    address, conversation = f"a:{uuid.uuid4().hex}", f"c:{uuid.uuid4().hex}"
    assert await counter.increment([address], 7) == [1]
    assert await counter.increment([conversation, address], 7) == [1, 2]  # the caller's order
    assert await counter.increment([address, conversation, address], 7) == [3, 2, 3]  # once each
    assert await counter.increment([address], 8) == [1]  # a new window starts from one
