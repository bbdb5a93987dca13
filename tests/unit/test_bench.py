"""The benchmark's pairing and load helpers (bench/__main__.py), with stand-in calls."""

from __future__ import annotations

import pytest

from bench.__main__ import Load, paired


async def test_paired_measures_each_message_on_both_sides_in_alternating_order():
    calls: list[tuple[str, str]] = []

    def side(name: str):
        async def measure(text: str) -> float:
            calls.append((name, text))
            return 0.001

        return measure

    measured, base = await paired(side("bot"), side("bare"), ["a", "b", "c"])

    assert calls == [
        ("bot", "a"),
        ("bare", "a"),
        ("bare", "b"),
        ("bot", "b"),
        ("bot", "c"),
        ("bare", "c"),
    ]
    assert len(measured.seconds) == len(base.seconds) == 3


async def test_paired_counts_a_failed_call_as_an_error_of_its_side_only():
    async def failing(text: str) -> float:
        raise RuntimeError("turn HTTP 500")

    async def fine(text: str) -> float:
        return 0.002

    measured, base = await paired(failing, fine, ["a", "b"])

    assert (measured.errors, len(measured.seconds)) == (2, 0)
    assert (base.errors, base.seconds) == (0, [0.002, 0.002])


async def test_load_sums_calls_and_errors_over_its_phases():
    seen: list[int] = []

    async def call(item: int) -> float:
        seen.append(item)
        if item % 10 == 0:
            raise RuntimeError("refused")
        return 0.001

    load = Load()
    await load.run(call, list(range(1, 51)))
    await load.run(call, list(range(51, 101)))

    assert sorted(seen) == list(range(1, 101))
    assert (load.done, load.errors) == (90, 10)
    assert load.seconds > 0
    assert load.per_second() == pytest.approx(90 / load.seconds)
