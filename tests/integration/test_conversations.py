"""Real conversations over real HTTP.

The bot process, its Direct Line endpoint and the trained Rasa model, nothing replaced.
"""

from __future__ import annotations

import re
import uuid

import aiohttp
import pytest

from nlu.client import RasaNluClient
from tests.integration.dl import Conversation, buttons

pytestmark = pytest.mark.integration


@pytest.fixture
async def chat(bot_url):
    async with aiohttp.ClientSession() as session:
        conversation = Conversation(session, bot_url)
        await conversation.start()
        yield conversation


async def test_welcome_offers_languages(bot_url):
    async with aiohttp.ClientSession() as session:
        welcome = await Conversation(session, bot_url).start()
    assert welcome[0]["channelData"]["topic"] == "greet"
    assert {"lang": "sv"} in buttons(welcome[-1]) and {"lang": "en"} in buttons(welcome[-1])


async def test_each_question_is_parsed_once_greeting_language_request_and_all(chat, bot_url):
    """A question leaves for the NLU before its turn reads the state (nlu/early.py); the
    turn then takes that parse. Were the two texts to differ (the greeting, the
    language request and a phone number come off before the NLU), each question
    would be parsed twice: two cache lookups instead of one."""
    tag = uuid.uuid4().hex[:6]  # new texts: nothing of an earlier test is in the cache
    questions = [
        f"Hei! Miten pääsen oppilaskuntaan, kun olen seiskalla (koodi {tag})?",
        f"mikä on ruutiraha {tag}? sano helposti",
        f"How do I join the youth council {tag}? Call me on 040 123 4567",
        f"hur kan jag påverka på daghemmet {tag}?",
    ]
    before = await cache_lookups(bot_url)
    for question in questions:
        assert await chat.say(question)
    after = await cache_lookups(bot_url)
    assert after["miss"] - before["miss"] == len(questions)
    assert after["hit"] == before["hit"]


async def cache_lookups(bot_url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{bot_url}/metrics") as response:
            metrics = await response.text()
    found = dict(re.findall(r'kasko_nlu_cache_total\{result="(\w+)"\} ([0-9.]+)', metrics))
    return {result: float(found.get(result, 0)) for result in ("hit", "miss")}


async def test_finnish_student_council_asks_level_then_answers(chat, content):
    [question] = await chat.say("miten pääsen oppilaskuntaan?")
    assert question["channelData"]["topic"] == "student_council"
    assert question["locale"] == "fi"
    assert question["text"] == content.ui["clarify_level"]["fi"]
    levels = [b["level"] for b in buttons(question)]
    assert levels == ["basic", "upper_secondary"]
    [answer] = await chat.click(question, 0)
    assert answer["channelData"]["topic"] == "student_council"
    assert answer["text"].startswith(content.topics["student_council"].variants["basic"]["fi"])
    # The level is remembered: no second question for another level-dependent topic.
    [plans] = await chat.say("miten voin vaikuttaa opetussuunnitelmaan")
    assert plans["channelData"]["topic"] == "learning_plans"
    assert plans["text"].startswith(content.topics["learning_plans"].variants["basic"]["fi"])


async def test_swedish_daycare_question(chat, content):
    [reply] = await chat.say("hur kan jag påverka på daghemmet?")
    assert reply["locale"] == "sv"
    assert reply["channelData"]["topic"] == "parent_committee"
    assert reply["text"].startswith(content.topics["parent_committee"].variants["ecec"]["sv"])


async def test_english_youth_council(chat, content):
    [reply] = await chat.say("how do I join the youth council?")
    assert reply["locale"] == "en"
    assert reply["channelData"]["topic"] == "youth_council"
    assert reply["text"].startswith(content.topics["youth_council"].answer["en"])
    related = {b["intent"] for b in buttons(reply) if "intent" in b}
    assert related == set(content.topics["youth_council"].related)
    assert [b["rating"] for b in buttons(reply) if "rating" in b] == ["up", "down"]


async def test_plain_finnish_on_request_and_it_sticks(chat, content):
    [reply] = await chat.say("mikä on ruutiraha? sano helposti")
    assert reply["locale"] == "fi-x-selko"
    assert reply["channelData"]["topic"] == "ruuti_budget"
    assert reply["text"].startswith(content.topics["ruuti_budget"].answer["fi-x-selko"])
    [follow] = await chat.say("mikä on nuorisoneuvosto")
    assert follow["locale"] == "fi-x-selko"
    assert follow["channelData"]["topic"] == "youth_council"


async def test_language_switch_mid_conversation(chat, content):
    [first] = await chat.say("mikä on vanhempainyhdistys?")
    assert (first["locale"], first["channelData"]["topic"]) == ("fi", "parents_association")
    replies = await chat.say("puhu ruotsia")
    assert [r["locale"] for r in replies] == ["sv", "sv"]
    assert replies[0]["channelData"]["topic"] == "change_language"
    assert replies[1]["text"].startswith(content.topics["parents_association"].answer["sv"])
    # The explicit choice sticks even when the next question is in Finnish.
    [after] = await chat.say("miten voin antaa palautetta kaupungille?")
    assert after["locale"] == "sv"


async def test_plain_language_after_an_answer_repeats_it_simply(chat, content):
    await chat.say("mikä on johtokunta?")
    replies = await chat.say("en ymmärrä, selkokielellä kiitos")
    assert [r["locale"] for r in replies] == ["fi-x-selko", "fi-x-selko"]
    assert replies[-1]["channelData"]["topic"] == "school_board"


async def test_out_of_scope_declines_politely(chat, content):
    [reply] = await chat.say("paljonko päiväkoti maksaa kuukaudessa?")
    assert reply["channelData"]["topic"] == "out_of_scope"
    assert {"intent": "help"} in buttons(reply)


async def test_nonsense_gets_a_fallback_with_buttons(chat):
    [reply] = await chat.say("qwxz plöörp zzkrt")
    assert reply["channelData"]["topic"] == "out_of_scope"
    assert {"intent": "help"} in buttons(reply)


async def test_greeting_help_and_privacy_in_every_language(chat):
    for text, topic, locale in [
        ("hei", "greet", "fi"),
        ("vad kan du hjälpa mig med?", "help", "sv"),
        ("what happens to my data?", "privacy", "en"),
        ("oletko robotti?", "bot_challenge", "fi"),
    ]:
        [reply, *_] = await chat.say(text)
        assert (reply["channelData"]["topic"], reply["locale"]) == (topic, locale), text


@pytest.mark.parametrize(
    "text",
    ["", "   ", "x" * 10_000, "🙂🙂", "<script>alert('x')</script>", "hei\u0000\u0007", "/greet"],
)
async def test_bad_input_gets_a_clear_reply(chat, text):
    [reply] = await chat.say(text)
    assert reply["text"] and reply["channelData"]["topic"]
    assert "<script>" not in reply["text"]


async def test_attachment_without_text(chat, content):
    [reply] = await chat.say(attachments=[{"contentType": "image/png", "contentUrl": "data:,"}])
    assert reply["text"] == content.ui["attachment_only"]["fi"]


async def test_slash_commands_never_reach_rasa_as_intents(rasa_server):
    """Rasa would answer '/out_of_scope' with confidence 1.0 if the slash reached it."""
    client = RasaNluClient(rasa_server.url, rasa_server.token, timeout_seconds=10)
    try:
        parse = await client.parse("/student_council")
        assert parse.confidence < 1.0
        command = await client.parse("//out_of_scope")
        assert command.confidence < 1.0
    finally:
        await client.close()


async def test_rasa_rejects_requests_without_its_token(rasa_server):
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{rasa_server.url}/model/parse", json={"text": "hei"}) as response:
            assert response.status == 401


async def test_bot_restart_mid_dialog_continues(rasa_server, database_url, bot_log, content):
    """State lives in the database: a new bot process answers the pending level question."""
    from tests.integration.conftest import start_bot, stop_bot

    first, url = start_bot(rasa_server, database_url, bot_log)
    try:
        async with aiohttp.ClientSession() as session:
            chat = Conversation(session, url)
            await chat.start()
            [question] = await chat.say("miten pääsen oppilaskuntaan?")
            assert [b["level"] for b in buttons(question)] == ["basic", "upper_secondary"]
    finally:
        stop_bot(first)
    second, second_url = start_bot(rasa_server, database_url, bot_log)
    try:
        async with aiohttp.ClientSession() as session:
            chat.session, chat.base = session, second_url  # same conversation and token
            [answer] = await chat.click(question, 1)
            assert answer["channelData"]["topic"] == "student_council"
            expected = content.topics["student_council"].variants["upper_secondary"]["fi"]
            assert answer["text"].startswith(expected)
    finally:
        stop_bot(second)


async def test_rasa_down_gives_a_polite_fallback(database_url, bot_log, content):
    """No NLU server at all: the bot still answers, honestly, within the NLU timeout."""
    import time
    from types import SimpleNamespace

    from nlu.service import free_port
    from tests.integration.conftest import start_bot, stop_bot

    nowhere = SimpleNamespace(url=f"http://127.0.0.1:{free_port()}", token="x")
    process, url = start_bot(nowhere, database_url, bot_log)
    try:
        async with aiohttp.ClientSession() as session:
            chat = Conversation(session, url)
            await chat.start()
            started = time.monotonic()
            [reply] = await chat.say("miten pääsen oppilaskuntaan?")
            assert time.monotonic() - started < 4
            assert reply["text"] == content.ui["nlu_unavailable"]["fi"]
            assert reply["channelData"]["topic"] == "out_of_scope"
            assert {"intent": "help"} in buttons(reply)
            # Buttons still work without the NLU.
            [answer] = await chat.click(reply, 0)
            assert answer["channelData"]["topic"] == buttons(reply)[0]["intent"]
    finally:
        stop_bot(process)
