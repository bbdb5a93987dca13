"""Parses started before the turn reads its state (nlu/early.py, bot/assistant_bot.py).

Test doubles for speed: a scripted NLU and in-memory state and transcripts; the
one test of the real Rasa client talks HTTP to a slow stand-in server in a
thread of its own. The time it saves is measured by the benchmark (docs/benchmark.md).
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from botbuilder.core import MemoryStorage

from bot.config import DEFAULT_CONFIG_PATH, load_config
from bot.directline.routes import BOT_ACCOUNT
from bot.directline.tokens import TokenIssuer
from nlu.client import NluUnavailable, RasaNluClient
from nlu.early import EarlyParses
from tests.conftest import one_rate_window
from tests.unit.doubles import ScriptedNlu, app_with_doubles
from tests.unit.test_directline import BASE, post, start

QUESTION = "how do I join the youth council?"


async def test_a_started_parse_is_taken_by_the_turn_not_asked_again():
    nlu = ScriptedNlu()
    nlu.add(QUESTION, "youth_council")
    early = EarlyParses(nlu)
    assert await early.start(QUESTION)
    assert nlu.calls == [QUESTION]  # on its way before start returned
    assert not await early.start(QUESTION)  # the same text again shares the parse
    parse = await early.parse("How do I join the  youth council?")
    assert parse.intent == "youth_council" and nlu.calls == [QUESTION]
    early.release(QUESTION)  # taken: nothing left to drop


async def test_a_parse_not_taken_is_dropped_when_its_request_ends():
    nlu = ScriptedNlu()
    early = EarlyParses(nlu)
    await early.start("hei")
    early.release("hei")
    await early.parse("hei")
    assert nlu.calls == ["hei", "hei"]  # asked again, not served from the dropped one


async def test_a_failed_early_parse_fails_its_turn_once_and_unclaimed_says_nothing():
    nlu = ScriptedNlu()
    nlu.down = True
    early = EarlyParses(nlu)
    await early.start("hei")
    with pytest.raises(NluUnavailable):
        await early.parse("hei")
    assert nlu.calls == ["hei"]

    reported = []
    asyncio.get_running_loop().set_exception_handler(
        lambda _loop, context: reported.append(context)
    )
    await early.start("moi")
    await asyncio.sleep(0)
    early.release("moi")
    gc.collect()
    assert reported == []  # no "Task exception was never retrieved"


class SlowNlu:
    """A stand-in for Rasa's /model/parse over real HTTP, answering after `delay` s, in a
    thread with its own loop so that the test's loop can be blocked meanwhile."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received: list[float] = []
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def __enter__(self) -> SlowNlu:
        threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True).start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)

    async def _serve(self) -> None:
        async def parse(request: web.Request) -> web.Response:
            self.received.append(time.monotonic())
            await asyncio.sleep(self.delay)
            return web.json_response({"intent": {"name": "greet", "confidence": 0.9}})

        app = web.Application()
        app.router.add_post("/model/parse", parse)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()


async def test_the_real_client_has_sent_the_request_when_start_returns():
    with SlowNlu(delay=0.2) as rasa:
        client = RasaNluClient(rasa.url, "", timeout_seconds=5)
        await client.parse("warm up")  # the connection is open, as in a running bot
        early = EarlyParses(client)
        await early.start("hei")
        sent = time.monotonic()
        time.sleep(0.3)  # the turn's own work, holding the loop: the NLU works meanwhile
        waited = time.monotonic()
        assert (await early.parse("hei")).intent == "greet"
        # Received before the loop was held, and answered while it was: nothing to wait for.
        assert rasa.received[-1] <= sent + 0.05
        assert time.monotonic() - waited < 0.1
        await client.close()


class WatchedStorage(MemoryStorage):
    """Conversation state in memory that notes how many NLU calls were made before each read."""

    def __init__(self, nlu: ScriptedNlu) -> None:
        super().__init__()
        self.nlu = nlu
        self.calls_at_read: list[int] = []

    async def read(self, keys):
        self.calls_at_read.append(len(self.nlu.calls))
        return await super().read(keys)


@pytest.fixture
async def watched(config):
    nlu = ScriptedNlu()
    nlu.add(QUESTION, "youth_council")
    storage = WatchedStorage(nlu)
    async with TestClient(TestServer(app_with_doubles(config, nlu, storage))) as client:
        client.nlu, client.storage = nlu, storage
        yield client


async def test_a_question_leaves_before_the_state_is_read_and_is_parsed_once(watched):
    conversation_id, headers = await start(watched)  # the welcome: this process knows it
    watched.storage.calls_at_read.clear()
    assert await post(watched, conversation_id, headers, {"type": "message", "text": QUESTION})
    assert watched.nlu.calls == [QUESTION]
    assert watched.storage.calls_at_read[0] == 1  # the question was on its way first
    replies = await activities(watched, conversation_id, headers)
    assert replies[-1]["channelData"]["topic"] == "youth_council"


async def test_a_conversation_this_process_has_not_answered_reads_its_state_first():
    """After a restart, or a turn on another replica, the state may be in a dialog step."""
    fixed = load_config(
        DEFAULT_CONFIG_PATH,
        environ={"BOT_ALLOW_UNAUTHENTICATED": "true"},
        overrides={"directline": {"token_secret": "s"}},
    )
    nlu = ScriptedNlu()
    nlu.add(QUESTION, "youth_council")
    storage = WatchedStorage(nlu)
    headers = {"Authorization": f"Bearer {TokenIssuer('s', 600).issue('elsewhere')}"}
    async with TestClient(TestServer(app_with_doubles(fixed, nlu, storage))) as client:
        question = {"type": "message", "text": QUESTION}
        assert await post(client, "elsewhere", headers, question) == 200
        assert storage.calls_at_read[0] == 0 and nlu.calls == [QUESTION]
        # Its turn was saved reading questions: the next question leaves first.
        storage.calls_at_read.clear()
        assert await post(client, "elsewhere", headers, {"type": "message", "text": "hei"})
        assert storage.calls_at_read[0] == 2


async def test_what_is_typed_into_the_feedback_dialog_never_reaches_the_nlu(watched, content):
    conversation_id, headers = await start(watched)
    typed = ["haluan antaa palautetta", "Kallion ala-aste", "Ruoka oli kylmää koko viikon"]
    assert await post(watched, conversation_id, headers, {"type": "message", "text": typed[0]})
    click = {"type": "message", "value": {"fb": "category", "value": "school_meals"}}
    assert await post(watched, conversation_id, headers, click) == 200
    for text in typed[1:]:
        assert await post(watched, conversation_id, headers, {"type": "message", "text": text})
    last = (await activities(watched, conversation_id, headers))[-1]
    assert last["text"] == content.feedback.text("ask_wants_reply", "fi")  # the dialog went on
    assert watched.nlu.calls == [typed[0]]  # the request that opened the dialog, only


async def test_a_conversation_over_its_rate_limit_starts_no_more_parses():
    limited = load_config(
        DEFAULT_CONFIG_PATH,
        environ={"BOT_ALLOW_UNAUTHENTICATED": "true"},
        overrides={"rate_limits": {"store": "memory", "per_conversation_per_minute": 2}},
    )
    nlu = ScriptedNlu()
    async with TestClient(TestServer(app_with_doubles(limited, nlu))) as client:
        await one_rate_window(needed_seconds=5)
        conversation_id, headers = await start(client)
        question = {"type": "message", "text": QUESTION}
        statuses = [await post(client, conversation_id, headers, question) for _ in range(5)]
        assert statuses == [200, 200, 429, 429, 429]
        # Two answered. The first refused request had started one, its count coming
        # after it; a refusal leaves the conversation unnoted, so no other started.
        assert nlu.calls == [QUESTION] * 3


async def activities(client, conversation_id: str, headers: dict) -> list[dict]:
    response = await client.get(
        f"{BASE}/conversations/{conversation_id}/activities", headers=headers
    )
    return [
        activity
        for activity in (await response.json())["activities"]
        if activity["from"]["id"] == BOT_ACCOUNT.id
    ]
