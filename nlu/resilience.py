"""NLU calls that fail fast when Rasa is down and skip Rasa for repeated questions.

`CircuitBreaker`: after `failure_threshold` failures in a row the NLU is not
called for `reset_seconds`: turns get the polite "I can't understand right
now" reply at once instead of each waiting for a timeout. Then one trial call
goes through; a success closes the breaker, so the assistant recovers by itself
when Rasa is back, with no restart.

`ParseCache`: many users ask the same few questions. A parse is cached under
the model's id and the normalised text, so a new model never serves an old
answer; an LRU bound keeps memory flat.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from nlu.client import NluClient, NluUnavailable, Parse


class CircuitBreaker:
    def __init__(
        self,
        inner: NluClient,
        failure_threshold: int = 3,
        reset_seconds: float = 5.0,
        on_error: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._threshold = failure_threshold
        self._reset = reset_seconds
        self._on_error = on_error or (lambda reason: None)
        self._clock = clock
        self._failures = 0
        self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return self._failures >= self._threshold and self._clock() < self._open_until

    async def parse(self, text: str) -> Parse:
        if self.is_open:
            self._on_error("breaker_open")
            raise NluUnavailable("circuit open")
        try:
            parse = await self._inner.parse(text)
        except NluUnavailable:
            self._failures += 1
            if self._failures >= self._threshold:
                self._open_until = self._clock() + self._reset
            self._on_error("unavailable")
            raise
        self._failures = 0
        return parse


def cache_key(text: str) -> str:
    return " ".join(text.casefold().split())


class ParseCache:
    def __init__(
        self,
        inner: NluClient,
        model_id: Callable[[], Awaitable[str | None]],
        max_entries: int = 5000,
        on_lookup: Callable[[str], None] | None = None,
    ) -> None:
        self._inner = inner
        self._model_id = model_id
        self._max = max_entries
        self._entries: OrderedDict[tuple[str, str], Parse] = OrderedDict()
        self._on_lookup = on_lookup or (lambda result: None)

    async def parse(self, text: str) -> Parse:
        model = await self._model_id()
        if not model:
            return await self._inner.parse(text)  # model unknown: never cache blind
        key = (model, cache_key(text))
        cached = self._entries.get(key)
        if cached is not None:
            self._entries.move_to_end(key)
            self._on_lookup("hit")
            return cached
        self._on_lookup("miss")
        parse = await self._inner.parse(text)
        self._entries[key] = parse
        if len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return parse
