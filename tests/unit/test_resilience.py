"""The NLU circuit breaker and parse cache, with a scripted NLU (a test double) and a fake clock."""

from __future__ import annotations

import pytest

from nlu.client import NluUnavailable, Parse
from nlu.resilience import CircuitBreaker, ParseCache
from tests.unit.doubles import ScriptedNlu


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_breaker_opens_fails_fast_and_recovers_by_itself():
    nlu, clock, errors = ScriptedNlu(), Clock(), []
    breaker = CircuitBreaker(nlu, 3, 5.0, on_error=errors.append, clock=clock)
    nlu.down = True
    for _ in range(3):
        with pytest.raises(NluUnavailable):
            await breaker.parse("hei")
    assert breaker.is_open and len(nlu.calls) == 3
    with pytest.raises(NluUnavailable):
        await breaker.parse("hei")
    assert len(nlu.calls) == 3  # refused without calling Rasa
    assert errors == ["unavailable"] * 3 + ["breaker_open"]
    nlu.down = False
    clock.now += 5.1  # after the reset time one trial call goes through...
    assert (await breaker.parse("hei")).intent == "out_of_scope"
    assert not breaker.is_open  # ...and its success closes the breaker


async def test_a_failed_trial_opens_the_breaker_again():
    nlu, clock = ScriptedNlu(), Clock()
    breaker = CircuitBreaker(nlu, 2, 5.0, clock=clock)
    nlu.down = True
    for _ in range(2):
        with pytest.raises(NluUnavailable):
            await breaker.parse("x")
    clock.now += 6
    with pytest.raises(NluUnavailable):
        await breaker.parse("x")
    assert breaker.is_open and len(nlu.calls) == 3


async def test_cache_hits_by_model_and_normalised_text():
    nlu, lookups = ScriptedNlu(), []
    nlu.add("mikä on ruutiraha", "ruuti_budget")
    model = {"id": "m1"}

    async def model_id():
        return model["id"]

    cache = ParseCache(nlu, model_id, max_entries=2, on_lookup=lookups.append)
    first = await cache.parse("mikä on ruutiraha")
    again = await cache.parse("  MIKÄ on   ruutiraha ")
    assert first == again == Parse("ruuti_budget", 0.95, first.ranking)
    assert len(nlu.calls) == 1 and lookups == ["miss", "hit"]
    model["id"] = "m2"  # a new model never serves an old parse
    await cache.parse("mikä on ruutiraha")
    assert len(nlu.calls) == 2


async def test_cache_is_bounded_and_skipped_without_a_model_id():
    nlu = ScriptedNlu()

    async def known():
        return "m"

    cache = ParseCache(nlu, known, max_entries=2)
    for text in ("a", "b", "c", "a"):
        await cache.parse(text)
    assert nlu.calls == ["a", "b", "c", "a"]  # "a" was evicted by "c"

    async def unknown():
        return None

    blind = ParseCache(nlu, unknown)
    await blind.parse("z")
    await blind.parse("z")
    assert nlu.calls[-2:] == ["z", "z"]


async def test_errors_are_not_cached():
    nlu = ScriptedNlu()

    async def model_id():
        return "m"

    cache = ParseCache(nlu, model_id)
    nlu.down = True
    with pytest.raises(NluUnavailable):
        await cache.parse("hei")
    nlu.down = False
    assert (await cache.parse("hei")).intent == "out_of_scope"
