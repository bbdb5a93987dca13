"""`python -m bench`: the assistant's performance, each figure beside a baseline from the same run.

Starts Rasa (the trained model) and the bot (its own process, a fresh SQLite
database, or with `--postgres URL` a PostgreSQL schema of its own) on loopback,
then measures, with the same messages for the bot and
for the bare baseline:

- turn latency p50/p95/p99 over Direct Line and over /api/messages (replies to a
  stand-in connector), beside bare Rasa `POST /model/parse` latency;
- throughput with 20 concurrent conversations, beside bare Rasa with 20
  concurrent callers, with the error count;
- a repeated question (served from the parse cache) beside bare parse;
- bot memory (RSS) at rest and after the load, the bot's and Rasa's CPU time
  per turn under the load (what sizes a replica), cold start to the first
  answer, and NLU training time;
- a do-nothing relay to Rasa (bench/relay.py), beside bare parse: the cost of
  the extra HTTP hop alone, the floor under any bot's turn latency.

The machines are noisy, so nothing is compared with figures from another run,
and each ratio's two sides are measured interleaved: every message goes to the
bot (or the relay) and to bare Rasa one right after the other. The
messages are the held-out questions (tests/data), each sent once per phase, so
the bot's parse cache cannot flatter the uncached figures.

Each measured question is the first question of its own conversation (opened,
with its welcome, before the clock starts). In one long conversation a
question that starts the feedback dialog would make the following questions
dialog answers that never reach the NLU, and the ratios would compare turns
without a parse with a parse.

    .venv/bin/python -m bench [--skip-training] [--json results.json] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.process import spawn_bot
from bot.storage.migrate import migrated_sqlite_url, scratch_schema
from nlu import service
from nlu.client import RasaNluClient
from nlu.evaluate import load_questions
from nlu.resilience import CircuitBreaker, ParseCache

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CONCURRENCY = 20
NEVER_REACHED = str(10**9)
TARGETS = {
    "turn p50 / parse p50": 1.3,
    "turn p95 / parse p95": 1.5,
    "throughput / bare": 0.8,
    "cached repeat / parse p50": 0.3,
    "bot RSS MB": 150,
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Latencies:
    seconds: list[float] = field(default_factory=list)
    errors: int = 0

    def p(self, q: float) -> float:
        return percentile(self.seconds, q) * 1000

    def row(self) -> str:
        return f"p50 {self.p(50):7.1f}  p95 {self.p(95):7.1f}  p99 {self.p(99):7.1f} ms"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc), to size replicas by."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def messages() -> list[str]:
    seen, texts = set(), []
    for path in sorted(DATA.glob("heldout*.yml")):
        for question in load_questions(path):
            key = question.text.strip().casefold()
            if key not in seen:
                seen.add(key)
                texts.append(question.text)
    random.Random(20261129).shuffle(texts)
    return texts


class Bench:
    def __init__(self, session: aiohttp.ClientSession, rasa: service.RasaServer, bot: str) -> None:
        self.session = session
        self.rasa = rasa
        self.bot = bot

    async def parse(self, text: str) -> float:
        started = time.perf_counter()
        async with self.session.post(
            f"{self.rasa.url}/model/parse", params={"token": self.rasa.token}, json={"text": text}
        ) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"parse HTTP {response.status}")
        return time.perf_counter() - started

    async def conversation(self) -> tuple[str, dict]:
        async with self.session.post(f"{self.bot}/v3/directline/conversations") as response:
            body = await response.json()
        return body["conversationId"], {"Authorization": f"Bearer {body['token']}"}

    async def turn(self, conversation: tuple[str, dict], text: str) -> float:
        conversation_id, headers = conversation
        started = time.perf_counter()
        async with self.session.post(
            f"{self.bot}/v3/directline/conversations/{conversation_id}/activities",
            json={"type": "message", "text": text},
            headers=headers,
        ) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"turn HTTP {response.status}")
        return time.perf_counter() - started

    async def relayed(self, relay: str, text: str) -> float:
        started = time.perf_counter()
        async with self.session.post(relay, json={"text": text}) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"relay HTTP {response.status}")
        return time.perf_counter() - started

    async def teams_install(self, service_url: str, conversation_id: str) -> None:
        """Open a Teams conversation as Teams does when the bot is installed: the
        greeting comes first, as the Direct Line conversations' welcome does."""
        activity = teams_activity(service_url, conversation_id, type="conversationUpdate")
        activity["membersAdded"] = [{"id": BENCH_BOT_ID}]
        async with self.session.post(f"{self.bot}/api/messages", json=activity) as response:
            await response.read()
            if response.status != 201:
                raise RuntimeError(f"/api/messages install HTTP {response.status}")

    async def teams_turn(self, service_url: str, conversation_id: str, text: str) -> float:
        activity = teams_activity(service_url, conversation_id, type="message", text=text)
        started = time.perf_counter()
        async with self.session.post(f"{self.bot}/api/messages", json=activity) as response:
            await response.read()
            if response.status != 201:
                raise RuntimeError(f"/api/messages HTTP {response.status}")
        return time.perf_counter() - started


BENCH_BOT_ID = "28:bench-bot"


def teams_activity(service_url: str, conversation_id: str, **fields: str) -> dict:
    """An activity as Teams sends it to /api/messages, in a personal chat."""
    return {
        "id": str(time.monotonic_ns()),
        "channelId": "msteams",
        "serviceUrl": service_url,
        "conversation": {"id": conversation_id, "conversationType": "personal"},
        "from": {"id": "29:bench-user"},
        "recipient": {"id": BENCH_BOT_ID},
        **fields,
    }


async def sequential(measure, texts: list[str]) -> Latencies:
    result = Latencies()
    for text in texts:
        await _timed(measure, text, result)
    return result


async def paired(measure, baseline, texts: list[str]) -> tuple[Latencies, Latencies]:
    """Each message through `measure` and through `baseline`, one right after the other.

    The host's speed drifts by tens of percent within a minute, so two blocks
    measured one after the other can differ by more than the bot's whole cost.
    Interleaved, a slow stretch hits both sides alike; the order alternates so
    neither side always runs first (on a warmer or a colder Rasa).
    """
    measured, base = await interleaved([measure, baseline], texts)
    return measured, base


async def interleaved(sides: list, texts: list[str]) -> list[Latencies]:
    """Each message through every side in turn, the order rotating by one each message."""
    results = [Latencies() for _ in sides]
    steps = list(zip(sides, results, strict=True))
    for index, text in enumerate(texts):
        shift = index % len(steps)
        for call, result in steps[shift:] + steps[:shift]:
            await _timed(call, text, result)
    return results


async def _timed(measure, item, result: Latencies) -> None:
    """`measure(item)`, which returns its seconds, into `result`; a failure is an error."""
    try:
        result.seconds.append(await measure(item))
    except (RuntimeError, aiohttp.ClientError):
        result.errors += 1


@dataclass
class Load:
    """Calls made by CONCURRENCY workers at once, summed over the phases run."""

    seconds: float = 0.0
    calls: Latencies = field(default_factory=Latencies)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return len(self.calls.seconds)

    @property
    def errors(self) -> int:
        return self.calls.errors

    async def run(self, call, items: list, watched: dict[str, int] | None = None) -> None:
        """`call(item)` for every item, split among the workers; also the CPU time that
        each `watched` process (name: pid) used meanwhile."""
        watched = watched or {}
        cpu_before = {name: cpu_seconds(pid) for name, pid in watched.items()}
        started = time.perf_counter()
        shares = [items[i::CONCURRENCY] for i in range(CONCURRENCY)]
        await asyncio.gather(*(self._worker(call, share) for share in shares))
        self.seconds += time.perf_counter() - started
        for name, pid in watched.items():
            self.cpu[name] = self.cpu.get(name, 0.0) + cpu_seconds(pid) - cpu_before[name]

    async def _worker(self, call, items: list) -> None:
        for item in items:
            await _timed(call, item, self.calls)

    def per_second(self) -> float:
        return self.done / self.seconds

    def cpu_per_call_ms(self, process: str) -> float:
        return self.cpu[process] / self.done * 1e3


async def connector_stand_in() -> tuple[web.AppRunner, str]:
    """Receives the bot's /api/messages replies, as the Bot Framework connector would."""

    async def reply(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"id": "1"})

    app = web.Application()
    app.router.add_post("/{tail:.*}", reply)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
    return runner, f"http://127.0.0.1:{port}/"


def start_bot(
    rasa: service.RasaServer, database_url: str, log: Path, checkout: Path = ROOT
) -> tuple[subprocess.Popen, str]:
    return spawn_bot(
        rasa.url,
        rasa.token,
        database_url,
        service.free_port(),
        log,
        checkout,
        BOT_ALLOW_UNAUTHENTICATED="true",
        # Counted in the database as in production, but never reached: one client
        # sends everything, so the real limits would refuse the benchmark itself.
        RATE_LIMIT_PER_ADDRESS=NEVER_REACHED,
        RATE_LIMIT_NEW_CONVERSATIONS=NEVER_REACHED,
        RATE_LIMIT_PER_CONVERSATION=NEVER_REACHED,
    )


def start_relay(rasa: service.RasaServer, log: Path) -> tuple[subprocess.Popen, str]:
    port = service.free_port()
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.relay", rasa.url, rasa.token, str(port)],
            cwd=ROOT,
            stdout=output,
            stderr=output,
        )
    return process, f"http://127.0.0.1:{port}/"


async def wait_for_relay(
    session: aiohttp.ClientSession, url: str, process: subprocess.Popen
) -> None:
    while process.poll() is None:
        try:
            async with session.post(url, json={"text": "hei"}) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("the relay exited; see its log")


async def first_answer(session: aiohttp.ClientSession, url: str, process: subprocess.Popen) -> None:
    while True:
        if process.poll() is not None:
            raise RuntimeError("the bot exited; see its log")
        try:
            async with session.post(f"{url}/v3/directline/conversations") as response:
                if response.status == 201:
                    body = await response.json()
                    break
        except aiohttp.ClientError:
            await asyncio.sleep(0.05)
    headers = {"Authorization": f"Bearer {body['token']}"}
    async with session.post(
        f"{url}/v3/directline/conversations/{body['conversationId']}/activities",
        json={"type": "message", "text": "mikä on ruutiraha?"},
        headers=headers,
    ) as response:
        await response.read()


def training_seconds() -> float:
    """A cold `rasa train nlu`: an empty training cache, so nothing is reused."""
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as cache:
        env = {**service.rasa_environment(), "RASA_CACHE_DIRECTORY": cache}
        started = time.perf_counter()
        subprocess.run(
            [
                str(service.rasa_executable()),
                "train",
                "nlu",
                "--config",
                "nlu/config.yml",
                "--nlu",
                "nlu/data",
                "--domain",
                "nlu/domain.yml",
                "--out",
                out,
                "--fixed-model-name",
                "bench",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - started


async def run(args: argparse.Namespace) -> dict:
    """Everything on a fresh SQLite file, or on a PostgreSQL schema of its own."""
    workdir = Path(tempfile.mkdtemp(prefix="kasko-bench-"))
    if args.postgres:
        with scratch_schema(args.postgres, "kasko_bench") as database_url:
            return await measure(args, workdir, database_url)
    return await measure(args, workdir, migrated_sqlite_url(workdir))


async def measure(args: argparse.Namespace, workdir: Path, database_url: str) -> dict:
    texts = messages()
    latency_texts, teams_texts = texts[:150], texts[150:300]
    load_texts = texts[300:] or texts
    model = service.ensure_model(log=lambda *_: None)
    rasa_started = time.perf_counter()
    rasa = service.start_server(model, service.free_port(), log_file=workdir / "rasa.log")
    service.wait_ready(rasa, timeout_seconds=300, log=lambda *_: None)
    rasa_cold = time.perf_counter() - rasa_started
    results: dict = {"messages": len(texts), "database": make_url(database_url).get_backend_name()}
    connector, service_url = await connector_stand_in()
    bot_started = time.perf_counter()
    process, bot = start_bot(rasa, database_url, workdir / "bot.log")
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:
            await first_answer(session, bot, process)
            results["bot cold start to first answer s"] = time.perf_counter() - bot_started
            results["rasa cold start to ready s"] = rasa_cold
            results["bot RSS at rest MB"] = rss_mb(process.pid)
            bench = Bench(session, rasa, bot)
            for text in texts[:10]:  # warm both sides up
                await bench.parse(text)

            fresh = [await bench.conversation() for _ in latency_texts]
            dl, bare_dl = await paired(
                lambda t: bench.turn(fresh.pop(), t), bench.parse, latency_texts
            )
            relay_process, relay = start_relay(rasa, workdir / "relay.log")
            try:
                await wait_for_relay(session, relay, relay_process)
                relayed, bare_relayed = await paired(
                    lambda t: bench.relayed(relay, t), bench.parse, latency_texts
                )
            finally:
                relay_process.terminate()
                relay_process.wait(timeout=30)
            # A new Teams conversation for each question, installed (greeted) first.
            installed = [f"bench-teams-{index}" for index in range(len(teams_texts))]
            for conversation_id in installed:
                await bench.teams_install(service_url, conversation_id)
            teams, bare_teams = await paired(
                lambda t: bench.teams_turn(service_url, installed.pop(), t),
                bench.parse,
                teams_texts,
            )

            repeated = "miten pääsen oppilaskuntaan?"
            await bench.turn(await bench.conversation(), repeated)  # now it is cached
            fresh = [await bench.conversation() for _ in range(100)]
            cached, bare_repeated = await paired(
                lambda t: bench.turn(fresh.pop(), t), bench.parse, [repeated] * 100
            )
            # The NLU step alone: the bot's own client stack (cache over breaker over
            # Rasa), built here against the same Rasa, a hit beside a bare parse.
            rasa_client = RasaNluClient(rasa.url, rasa.token, 5.0)
            cache = ParseCache(CircuitBreaker(rasa_client), rasa_client.model_id)
            await cache.parse(repeated)

            async def cached_parse(text: str) -> float:
                started = time.perf_counter()
                await cache.parse(text)
                return time.perf_counter() - started

            cache_hit = await sequential(cached_parse, [repeated] * 100)
            await rasa_client.close()

            # Bot and bare Rasa each take both halves of the load, in the order bot,
            # bare, bare, bot: a drift of the host's speed during the load hits both.
            halves = [load_texts[0::2], load_texts[1::2]]
            opened = [[await bench.conversation() for _ in half] for half in halves]
            bot_load, bare_load = Load(), Load()
            watched = {"bot": process.pid, "rasa": rasa.process.pid}
            for half, on_bot in ((0, True), (0, False), (1, False), (1, True)):
                if on_bot:
                    turns = list(zip(opened[half], halves[half], strict=True))
                    await bot_load.run(lambda pair: bench.turn(*pair), turns, watched)
                else:
                    await bare_load.run(bench.parse, halves[half])
            results["bot CPU per turn ms"] = bot_load.cpu_per_call_ms("bot")
            results["Rasa CPU per turn ms"] = bot_load.cpu_per_call_ms("rasa")
            results["bot RSS after load MB"] = rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
        rasa.stop()
        await connector.cleanup()

    results.update(
        {
            "direct line turn": dl,
            "bare parse (same messages)": bare_dl,
            "relay (no work)": relayed,
            "bare parse (relay messages)": bare_relayed,
            "/api/messages turn": teams,
            "bare parse (teams messages)": bare_teams,
            "cached repeat turn": cached,
            "bare parse (repeated)": bare_repeated,
            "parse cache hit (NLU step)": cache_hit,
            "throughput bot turns/s": bot_load.per_second(),
            "throughput bare parses/s": bare_load.per_second(),
            "throughput errors": bot_load.errors + bare_load.errors,
        }
    )
    if not args.skip_training:
        results["NLU training s"] = training_seconds()
    return results


def report(results: dict, args: argparse.Namespace) -> dict:
    dl, bare = results["direct line turn"], results["bare parse (same messages)"]
    teams, bare_teams = results["/api/messages turn"], results["bare parse (teams messages)"]
    relayed, bare_relayed = results["relay (no work)"], results["bare parse (relay messages)"]
    cached, bare_repeated = results["cached repeat turn"], results["bare parse (repeated)"]
    ratios = {
        "turn p50 / parse p50": dl.p(50) / bare.p(50),
        "turn p95 / parse p95": dl.p(95) / bare.p(95),
        "relay p50 / parse p50 (floor)": relayed.p(50) / bare_relayed.p(50),
        "relay p95 / parse p95 (floor)": relayed.p(95) / bare_relayed.p(95),
        "api/messages p50 / parse p50": teams.p(50) / bare_teams.p(50),
        "api/messages p95 / parse p95": teams.p(95) / bare_teams.p(95),
        "throughput / bare": results["throughput bot turns/s"]
        / results["throughput bare parses/s"],
        "cached repeat / parse p50": results["parse cache hit (NLU step)"].p(50)
        / bare_repeated.p(50),
        "cached repeat turn / parse p50": cached.p(50) / bare_repeated.p(50),
        "bot RSS MB": results["bot RSS after load MB"],
    }
    print(
        f"\nKasko participation assistant benchmark, {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{os.cpu_count()} CPUs, {platform.python_version()}, {results['database']}, "
        f"{results['messages']} messages"
    )
    print("-" * 78)
    print(f"{'Direct Line turn':34} {dl.row()}   errors {dl.errors}")
    print(f"{'  bare Rasa parse, same messages':34} {bare.row()}")
    print(f"{'relay to Rasa doing nothing else':34} {relayed.row()}   errors {relayed.errors}")
    print(f"{'  bare Rasa parse, same messages':34} {bare_relayed.row()}")
    print(f"{'/api/messages turn':34} {teams.row()}   errors {teams.errors}")
    print(f"{'  bare Rasa parse, same messages':34} {bare_teams.row()}")
    print(
        f"{'repeated question: NLU step (cache)':34} {results['parse cache hit (NLU step)'].row()}"
    )
    print(f"{'repeated question: whole turn':34} {cached.row()}")
    print(f"{'  bare Rasa parse, same question':34} {bare_repeated.row()}")
    print(
        f"{'throughput, 20 conversations':34} {results['throughput bot turns/s']:7.1f} turns/s"
        f"   errors {results['throughput errors']}"
    )
    print(
        f"{'  bare Rasa, 20 concurrent callers':34} "
        f"{results['throughput bare parses/s']:7.1f} parses/s"
    )
    print(
        f"{'CPU per turn under load: bot, Rasa':34} {results['bot CPU per turn ms']:7.2f} / "
        f"{results['Rasa CPU per turn ms']:.2f} ms"
    )
    print(
        f"{'bot RSS at rest / after load':34} {results['bot RSS at rest MB']:7.1f} / "
        f"{results['bot RSS after load MB']:.1f} MB"
    )
    print(
        f"{'cold start, bot to first answer':34} "
        f"{results['bot cold start to first answer s']:7.2f} s"
    )
    print(f"{'cold start, Rasa to model loaded':34} {results['rasa cold start to ready s']:7.2f} s")
    if "NLU training s" in results:
        print(f"{'NLU training (rasa train nlu)':34} {results['NLU training s']:7.1f} s")
    print("-" * 78)
    for name, value in ratios.items():
        target = TARGETS.get(name)
        if target is None:
            verdict = ""
        elif name in ("throughput / bare",):
            verdict = f"target >= {target}: {'met' if value >= target else 'NOT met'}"
        else:
            verdict = f"target <= {target}: {'met' if value <= target else 'NOT met'}"
        print(f"{name:34} {value:7.2f}   {verdict}")
    if args.json:
        flat = {
            key: (
                {"p50_ms": v.p(50), "p95_ms": v.p(95), "p99_ms": v.p(99), "errors": v.errors}
                if isinstance(v, Latencies)
                else v
            )
            for key, v in results.items()
        }
        Path(args.json).write_text(json.dumps({**flat, "ratios": ratios}, indent=2))
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark of the participation assistant.")
    parser.add_argument("--skip-training", action="store_true", help="skip the NLU training time")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run the bot on PostgreSQL (a schema of its own on this server, dropped "
        "afterwards) instead of a fresh SQLite file",
    )
    args = parser.parse_args(argv)
    try:
        results = asyncio.run(run(args))
    except OperationalError as error:
        print(f"error: the database is not reachable: {type(error).__name__}", file=sys.stderr)
        return 2
    report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
