"""The benchmark's pairing and load helpers (bench/__main__.py), with stand-in calls."""

from __future__ import annotations

import pytest

from bench.__main__ import Latencies, Load, interleaved, paired
from bench.compare import paired_difference_ms


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


async def test_interleaved_rotates_the_order_of_three_sides():
    calls: list[str] = []

    def side(name: str):
        async def measure(text: str) -> float:
            calls.append(f"{name}{text}")
            return 0.001

        return measure

    results = await interleaved([side("a"), side("b"), side("c")], ["1", "2", "3", "4"])

    assert calls == "a1 b1 c1 b2 c2 a2 c3 a3 b3 a4 b4 c4".split()
    assert [len(result.seconds) for result in results] == [4, 4, 4]


def test_the_compared_difference_is_the_median_of_each_messages_own_difference():
    turns = Latencies(seconds=[0.010, 0.020, 0.030])
    parses = Latencies(seconds=[0.009, 0.025, 0.012])
    # Paired: 1, -5 and 18 ms, median 1; the medians' difference would say 8 (20 - 12).
    assert paired_difference_ms(turns, parses) == pytest.approx(1.0)


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
