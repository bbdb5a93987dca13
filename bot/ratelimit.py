"""Rate limits on the public endpoints, per client address and per conversation, answered
with 429 and Retry-After.

Requests are counted in one-minute windows, and a limit is held against a sliding
minute: this window's count plus the last window's, weighted by how much of it
the sliding minute still covers. Fixed windows alone let twice the limit through
in the seconds around a minute's turn (30 at 12:00:59 and 30 more at 12:01:00);
the weighted sum does not. Both counts are kept in one row per key, so counting
still takes one statement per key.

Counters live in the database by default (`rate_limits.store: database`), so all
replicas share them; `memory` keeps them per process. A school's pupils share
one public address, so the per-address limits are generous and the
per-conversation limit is the tight one. Limits never block a database outage:
if counting fails, the request goes through (availability first) and the
failure is logged.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import Engine, bindparam, case, delete
from sqlalchemy.exc import SQLAlchemyError

from bot.storage.database import (
    autocommit_on_postgresql,
    require_tables,
    run_blocking,
    upsert_dialect_insert,
)
from bot.storage.models import RateLimitRecord

COUNTS = RateLimitRecord.__table__

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
PRUNE_EVERY = 500


@dataclass(frozen=True)
class Counts:
    """A key's requests in this window, this one included, and in the window before."""

    current: int
    previous: int


@dataclass(frozen=True)
class Limit:
    scope: str  # what is limited, for the error message and the metric
    key: str
    per_minute: int


class MemoryCounter:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}

    async def increment(self, keys: list[str], window: int) -> list[Counts]:
        for key in dict.fromkeys(keys):
            self._counts[(key, window)] = self._counts.get((key, window), 0) + 1
        return [
            Counts(self._counts[(key, window)], self._counts.get((key, window - 1), 0))
            for key in keys
        ]

    async def prune(self, before_window: int) -> None:
        for stale in [k for k in self._counts if k[1] < before_window]:
            del self._counts[stale]


class SqlCounter:
    """One upsert per key, returning this minute's count and the last one's.

    A key's row holds its latest window and the window before (migration 0006).
    Arriving in a later window, a request moves the row on: the count becomes the
    last window's when the windows are neighbours, else the last is 0. A replica
    whose clock is a moment behind counts into the row's window, never moving it
    back. The statement is built once: building it again for every request cost
    more than running it. On PostgreSQL each upsert commits by itself: counts need
    no transaction around them, and it saves two round trips per request.
    """

    def __init__(self, engine: Engine) -> None:
        require_tables(engine, RateLimitRecord.__tablename__)
        self._engine = engine
        self._counting = autocommit_on_postgresql(engine)
        window = bindparam("window")
        same_window = COUNTS.c.window_start >= window  # right-hand sides see the old row
        self._upsert = (
            upsert_dialect_insert(engine)(COUNTS)
            .values(key=bindparam("key"), window_start=window, count=1, previous=0)
            .on_conflict_do_update(
                index_elements=["key"],
                set_={
                    "count": case((same_window, COUNTS.c.count + 1), else_=1),
                    "previous": case(
                        (same_window, COUNTS.c.previous),
                        (COUNTS.c.window_start == window - 1, COUNTS.c.count),
                        else_=0,
                    ),
                    "window_start": case((same_window, COUNTS.c.window_start), else_=window),
                },
            )
            .returning(COUNTS.c.count, COUNTS.c.previous)
        )

    async def increment(self, keys: list[str], window: int) -> list[Counts]:
        return await run_blocking(self._engine, self._increment, keys, window)

    def _increment(self, keys: list[str], window: int) -> list[Counts]:
        """Each key counts once per request, even when two limits share it."""
        with self._counting.begin() as connection:
            counts = {
                key: Counts(*connection.execute(self._upsert, {"key": key, "window": window}).one())
                for key in dict.fromkeys(keys)
            }
        return [counts[key] for key in keys]

    async def prune(self, before_window: int) -> None:
        await run_blocking(self._engine, self._prune, before_window)

    def _prune(self, before_window: int) -> None:
        with self._engine.begin() as connection:
            connection.execute(delete(COUNTS).where(COUNTS.c.window_start < before_window))


class RateLimiter:
    def __init__(
        self,
        counter: MemoryCounter | SqlCounter,
        on_limited: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._counter = counter
        self._on_limited = on_limited or (lambda scope: None)
        self._clock = clock
        self._checks = 0

    async def check(self, limits: list[Limit]) -> web.Response | None:
        """None when the request may go on; else the 429 response to send."""
        limits = [limit for limit in limits if limit.per_minute > 0]
        if not limits:
            return None
        now = self._clock()
        window = int(now // WINDOW_SECONDS)
        try:
            counts = await self._counter.increment([limit.key for limit in limits], window)
            self._checks += 1
            if self._checks % PRUNE_EVERY == 0:
                await self._counter.prune(window - 1)
        except SQLAlchemyError as error:
            logger.warning("rate limit not counted: %s", type(error).__name__)
            return None
        covered = 1 - (now - window * WINDOW_SECONDS) / WINDOW_SECONDS
        for limit, count in zip(limits, counts, strict=True):
            if count.current + count.previous * covered > limit.per_minute:
                self._on_limited(limit.scope)
                retry_after = _retry_after(limit.per_minute, count, window, now)
                response = web.json_response(
                    {
                        "error": {
                            "code": "TooManyRequests",
                            "message": f"Too many requests ({limit.scope}); try again in "
                            f"{retry_after} s",
                        }
                    },
                    status=429,
                )
                response.headers["Retry-After"] = str(retry_after)
                return response
        return None


def _retry_after(per_minute: int, count: Counts, window: int, now: float) -> int:
    """Whole seconds until one more request fits the sliding minute, if none comes before.

    Within this window that is when the last window's weight has fallen enough;
    when this window alone is full, the next one, once this one's weight has.
    """
    start = window * WINDOW_SECONDS
    room = per_minute - count.current - 1
    if room >= 0 and count.previous > 0:
        fits_at = start + WINDOW_SECONDS * (1 - room / count.previous)
    else:
        share = max(0.0, 1 - (per_minute - 1) / count.current)
        fits_at = start + WINDOW_SECONDS * (1 + share)
    return max(1, math.ceil(fits_at - now))


def client_address(request: web.Request, trust_forwarded_for: bool) -> str:
    """The caller's address; behind the city's proxy, the address that proxy saw."""
    if trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1][:64]
    return (request.remote or "unknown")[:64]
