"""Load and faults, on loopback and bounded in time: the bot as its own process with the real
Rasa model and a real database.

- 20 concurrent conversations x 200 turns, 50 of the turns' dialogs being feedback
  submissions: no errors, 50 rows.
- Rasa stopped in the middle: every reply within 2 s, honest, with the help menu;
  when Rasa is back the bot recovers by itself (no restart).
- /readyz follows Rasa's state.
(Database outages and bot restarts mid-dialog: tests/integration/test_feedback_chat.py.)
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from bot.storage.models import FeedbackRecord
from nlu import service
from tests.integration.conftest import start_bot, stop_bot
from tests.integration.dl import Conversation, buttons
from tests.integration.test_feedback_chat import REFERENCE, rows

CONVERSATIONS = 20
TURNS = 200
FEEDBACKS = 50
QUESTIONS = [
    "miten pääsen oppilaskuntaan?",
    "mikä on ruutiraha?",
    "how do I join the youth council?",
    "vad är ungdomsfullmäktige?",
    "miten voin vaikuttaa kouluruokaan?",
    "mitä vanhempaintoimikunta tekee?",
    "kiitos",
    "what can you do?",
    "paljonko bussikortti maksaa?",
    "hur kan jag påverka på daghemmet?",
]
FEEDBACK_TURNS = 6  # start, category, unit, text, no reply, send


@pytest.fixture(scope="module")
def load_bot(rasa_server, database_url, bot_log):
    process, url = start_bot(rasa_server, database_url, bot_log, RATE_LIMIT_PER_CONVERSATION="0")
    yield url
    stop_bot(process)


async def feedback(chat: Conversation, number: int) -> str:
    stored = await chat.give_feedback(
        "participation", f"Kuormitustestin palaute {number}.", typed=False
    )
    return REFERENCE.search(stored["text"]).group(0)


async def test_twenty_conversations_two_hundred_turns_fifty_feedbacks(load_bot, database_url):
    errors: list[str] = []
    references: list[str] = []
    turns = 0

    async def one(session: aiohttp.ClientSession, index: int) -> None:
        nonlocal turns
        chat = Conversation(session, load_bot)
        await chat.start()
        due = FEEDBACKS // CONVERSATIONS + (1 if index < FEEDBACKS % CONVERSATIONS else 0)
        done = 0
        while done < TURNS:
            if due and done % 60 == 0:
                references.append(await feedback(chat, index * 10 + due))
                due -= 1
                done += FEEDBACK_TURNS
                continue
            try:
                replies = await chat.say(QUESTIONS[(index + done) % len(QUESTIONS)])
                if not replies:
                    errors.append("no reply")
            except AssertionError as error:
                errors.append(str(error)[:80])
            done += 1
        turns += done

    started = time.monotonic()
    connector = aiohttp.TCPConnector(limit=CONVERSATIONS)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(one(session, i) for i in range(CONVERSATIONS)))
    seconds = time.monotonic() - started
    print(f"{turns} turns in {seconds:.1f} s ({turns / seconds:.0f} turns/s)")
    assert errors == []
    assert turns >= CONVERSATIONS * TURNS
    assert len(references) == FEEDBACKS == len(set(references))
    stored = rows(database_url, FeedbackRecord, FeedbackRecord.reference.in_(references))
    assert len(stored) == FEEDBACKS


async def test_rasa_stopped_mid_run_then_back(database_url, bot_log, content, tmp_path):
    model = service.ensure_model()
    port, token = service.free_port(), "fault-test-token"
    rasa = service.start_server(model, port, token=token, log_file=tmp_path / "rasa.log")
    service.wait_ready(rasa, timeout_seconds=300)
    process, url = start_bot(rasa, database_url, bot_log)
    try:
        async with aiohttp.ClientSession() as session:
            chat = Conversation(session, url)
            await chat.start()
            [answer] = await chat.say("mikä on ruutiraha?")
            assert answer["channelData"]["topic"] == "ruuti_budget"

            rasa.stop()
            async with session.get(f"{url}/readyz") as response:
                assert response.status == 503
                assert (await response.json())["checks"]["nlu"] == "unavailable"
            for question in (
                "miten pääsen oppilaskuntaan?",
                "mitä tekee nuorisoneuvosto?",
                "kuka päättää koulun säännöistä?",
                "what is a school board?",
            ):
                started = time.monotonic()
                [reply] = await chat.say(question)
                assert time.monotonic() - started < 2.0
                assert reply["text"] == content.ui_text("nlu_unavailable", reply["locale"])
                assert {"intent": "help"} in buttons(reply)  # the way forward: the help menu
            # Buttons still work without the NLU.
            [by_button] = await chat.say("Oppilaskunta", value={"intent": "student_council"})
            assert by_button["channelData"]["topic"] == "student_council"

            rasa = service.start_server(model, port, token=token, log_file=tmp_path / "rasa2.log")
            service.wait_ready(rasa, timeout_seconds=300)
            deadline = time.monotonic() + 30
            recovered = False
            while time.monotonic() < deadline and not recovered:
                [reply] = await chat.say("mikä on nuorisoneuvosto?")
                recovered = reply["channelData"]["topic"] == "youth_council"
                if not recovered:
                    await asyncio.sleep(1)
            assert recovered, "the bot did not recover by itself after Rasa came back"
            assert process.poll() is None  # same bot process: no restart needed
            async with session.get(f"{url}/readyz") as response:
                assert response.status == 200
    finally:
        stop_bot(process)
        rasa.stop()
