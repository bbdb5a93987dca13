"""`python -m bench.compare OTHER_CHECKOUT`: this checkout's bot beside another's, on one Rasa.

The benchmark's ratios move by ±0.1 between runs of the same code on these
noisy machines: more than most changes to the bot are worth, so two benchmark
runs, one per version, rarely tell which is faster. Here both bots answer the
same messages one right after the other, with a bare parse between, the order
rotating, against the same Rasa: a slow stretch of the host hits all three, and
the median of the paired differences (turn minus the bare parse of the same
message) settles a tenth of a millisecond.

Both bots use this checkout's trained model (what is compared is the bots' own
work), each with its checkout's code and virtual environment (`.venv`, as
`./scripts/setup.sh` makes it), on a fresh SQLite file. Each question is the
first of its own conversation, as in the benchmark.

    .venv/bin/python -m bench.compare ../kasko-before [--messages 900]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp

from bench.__main__ import ROOT, Bench, Latencies, first_answer, interleaved, messages, start_bot
from bot.storage.migrate import migrated_sqlite_url
from nlu import service


def commit_of(checkout: Path) -> str:
    """The checkout's commit, marked when it has uncommitted changes."""

    def git(*args: str) -> str:
        command = ["git", "-C", str(checkout), *args]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return f"{head}+changes" if changed else head


def paired_difference_ms(turns: Latencies, parses: Latencies) -> float:
    """The median over messages of a turn's time minus the bare parse of the same message."""
    pairs = zip(turns.seconds, parses.seconds, strict=True)
    return statistics.median(turn - parse for turn, parse in pairs) * 1000


async def compare(other: Path, count: int) -> dict[str, dict[str, float]]:
    workdir = Path(tempfile.mkdtemp(prefix="kasko-compare-"))
    model = service.ensure_model(log=lambda *_: None)
    rasa = service.start_server(model, service.free_port(), log_file=workdir / "rasa.log")
    processes = []
    try:
        service.wait_ready(rasa, timeout_seconds=300, log=lambda *_: None)
        bots = {}
        for name, checkout in (("this", ROOT), ("other", other)):
            (workdir / name).mkdir()
            database = migrated_sqlite_url(workdir / name)
            process, url = start_bot(rasa, database, workdir / f"{name}.log", checkout)
            processes.append(process)
            bots[name] = (process, url)
        async with aiohttp.ClientSession() as session:
            benches = {}
            for name, (process, url) in bots.items():
                await first_answer(session, url, process)
                benches[name] = Bench(session, rasa, url)
            texts = messages()[:count]
            opened = {
                name: [await bench.conversation() for _ in texts] for name, bench in benches.items()
            }
            this, other_turns, bare = await interleaved(
                [
                    lambda text: benches["this"].turn(opened["this"].pop(), text),
                    lambda text: benches["other"].turn(opened["other"].pop(), text),
                    benches["this"].parse,
                ],
                texts,
            )
    finally:
        for process in processes:
            process.terminate()
        rasa.stop()
    if this.errors or other_turns.errors or bare.errors:
        raise RuntimeError(
            f"errors: this {this.errors}, other {other_turns.errors}, bare {bare.errors}"
        )
    return {
        name: {
            "p50 ms": turns.p(50),
            "p95 ms": turns.p(95),
            "p50 / parse": turns.p(50) / bare.p(50),
            "p95 / parse": turns.p(95) / bare.p(95),
            "turn - parse ms": paired_difference_ms(turns, bare),
        }
        for name, turns in (("this", this), ("other", other_turns))
    } | {"bare parse": {"p50 ms": bare.p(50), "p95 ms": bare.p(95)}}


def report(figures: dict[str, dict[str, float]], other: Path, count: int) -> None:
    print(f"{count} questions, each the first of its conversation, one Rasa for both bots")
    columns = list(figures["this"])
    print(f"{'':34s}" + "".join(f"{column:>17s}" for column in columns))
    labels = {
        "this": f"this checkout ({commit_of(ROOT)})",
        "other": f"{other.name} ({commit_of(other)})",
        "bare parse": "bare Rasa parse",
    }
    for name, row in figures.items():
        cells = "".join(f"{row[c]:17.2f}" if c in row else f"{'':17s}" for c in columns)
        print(f"{labels[name][:34]:34s}{cells}".rstrip())
    gain = figures["other"]["turn - parse ms"] - figures["this"]["turn - parse ms"]
    print("turn - parse: the median over questions of a turn minus the same question's parse")
    print(f"this checkout's turn takes {gain:+.2f} ms less than the other's")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="the other checkout (with its own .venv)")
    parser.add_argument("--messages", type=int, default=900, help="how many questions")
    args = parser.parse_args(argv)
    other = args.other.resolve()
    if not (other / ".venv/bin/python").exists() or not (other / "bot").is_dir():
        print(f"error: {other} is no checkout with a .venv (run its scripts/setup.sh)")
        return 2
    figures = asyncio.run(compare(other, args.messages))
    report(figures, other, args.messages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
