"""The feedback dialog end to end: Direct Line over real HTTP, the bot as its own process,
the real trained Rasa model, and the rows in a real database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest
from sqlalchemy import select, text

from bot.storage.database import create_database_engine, session_factory
from bot.storage.models import AnswerRatingRecord, FeedbackRecord, UnansweredQuestionRecord
from tests.integration.conftest import start_bot, stop_bot
from tests.integration.dl import Conversation, buttons

REFERENCE = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\b")
FEEDBACK_TEXT = "Välitunnit ovat liian lyhyitä. Soita 040 765 4321."


def rows(database_url: str, model, *where) -> list:
    engine = create_database_engine(database_url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(model).where(*where)))
    finally:
        engine.dispose()


def stored_feedback(database_url: str, reference: str) -> list[FeedbackRecord]:
    return rows(database_url, FeedbackRecord, FeedbackRecord.reference == reference)


async def to_summary(chat: Conversation, start: str = "haluan antaa palautetta") -> dict:
    """From the first message to the summary: category, unit, text, no reply wanted."""
    *_, question = await chat.say(start)
    assert {"fb": "category", "value": "teaching"} in buttons(question), question["text"]
    [unit_q] = await chat.press(question, value="teaching")
    [text_q] = await chat.say("Kallion ala-aste")
    [reply_q] = await chat.say(FEEDBACK_TEXT)
    [summary] = await chat.press(reply_q, fb="no")
    return summary


@pytest.fixture(scope="module")
def postgres_bot(rasa_server, postgres_url, bot_log):
    process, url = start_bot(rasa_server, postgres_url, bot_log)
    yield url
    stop_bot(process)


@pytest.fixture(params=["sqlite", "postgres"])
def bot_and_database(request, bot_url, database_url):
    """(bot URL, its database URL) for a bot on SQLite and one on PostgreSQL."""
    if request.param == "sqlite":
        return bot_url, database_url
    return request.getfixturevalue("postgres_bot"), request.getfixturevalue("postgres_url")


async def test_feedback_in_chat_is_stored_redacted_with_the_shown_reference(
    bot_and_database, bot_log, content
):
    bot, database_url = bot_and_database
    async with aiohttp.ClientSession() as session:
        chat = Conversation(session, bot)
        await chat.start()
        summary = await to_summary(chat)
        assert "[puhelinnumero]" in summary["text"] and "765 4321" not in summary["text"]
        stored, complaints = await chat.press(summary, fb="send")
    reference = REFERENCE.search(stored["text"]).group(0)
    [row] = stored_feedback(database_url, reference)
    assert row.description == "Välitunnit ovat liian lyhyitä. Soita [puhelinnumero]."
    assert (row.service_code, row.unit, row.language, row.channel) == (
        "kasko-teaching",
        "Kallion ala-aste",
        "fi",
        "directline",
    )
    assert row.status == "open" and row.phase == "received" and not row.wants_reply
    assert len(row.conversation) == 24 and row.conversation not in chat.conversation_id
    assert content.feedback.text("formal_complaints", "fi") in complaints["text"]
    assert "Välitunnit" not in bot_log.read_text(errors="replace")


async def test_the_transcript_keeps_no_personal_data_the_user_typed(bot_url, content):
    """The Direct Line transcript (kept a day) holds the user's messages redacted: the
    feedback's phone number, and a contact address whose consent was then declined."""
    async with aiohttp.ClientSession() as session:
        chat = Conversation(session, bot_url)
        await chat.start()
        *_, question = await chat.say("haluan antaa palautetta")
        await chat.press(question, value="teaching")
        await chat.say("Kallion ala-aste")
        [reply_q] = await chat.say(FEEDBACK_TEXT)
        [method_q] = await chat.press(reply_q, fb="yes")
        [address_q] = await chat.press(method_q, fb="email")
        [consent_q] = await chat.say("huoltaja@example.com")
        assert consent_q["text"] == content.feedback.text(
            "ask_consent", "fi", days=180
        )  # the bot got the address as written
        *_, summary = await chat.press(consent_q, fb="no")
        async with session.get(chat.activities_url, headers=chat.headers) as response:
            transcript = (await response.json())["activities"]
    written = [a.get("text") or "" for a in transcript if a["from"]["id"].startswith("dl_")]
    assert "Välitunnit ovat liian lyhyitä. Soita [puhelinnumero]." in written
    assert "[sähköposti]" in written
    everything = str(transcript)
    assert "765 4321" not in everything and "huoltaja@example.com" not in everything
    assert content.feedback.text("no_reply", "fi") in summary["text"]


@pytest.mark.parametrize(
    "start, language",
    [("jag vill ge respons om skolan", "sv"), ("I would like to give feedback", "en")],
)
async def test_feedback_starts_from_the_nlu_in_other_languages(
    bot_url, database_url, start, language
):
    async with aiohttp.ClientSession() as session:
        chat = Conversation(session, bot_url)
        await chat.start()
        summary = await to_summary(chat, start)
        assert summary["locale"] == language
        stored, _ = await chat.press(summary, fb="send")
    [row] = stored_feedback(database_url, REFERENCE.search(stored["text"]).group(0))
    assert row.language == language


def _rename(database_url: str, old: str, new: str) -> None:
    engine = create_database_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
    engine.dispose()


async def test_database_failure_during_submit_loses_nothing(bot_and_database, content):
    """The feedback table cannot be written: the user is told, and a retry stores it once."""
    bot, database_url = bot_and_database
    async with aiohttp.ClientSession() as session:
        chat = Conversation(session, bot)
        await chat.start()
        summary = await to_summary(chat)
        _rename(database_url, "feedback", "feedback_unavailable")
        try:
            [failed] = await chat.press(summary, fb="send")
        finally:
            _rename(database_url, "feedback_unavailable", "feedback")
        assert failed["text"] == content.feedback.text("not_saved", "fi")
        stored, _ = await chat.press(failed, fb="send")
        reference = REFERENCE.search(stored["text"]).group(0)
        await chat.press(failed, fb="send")  # the old button again: nothing new is stored
    assert len(stored_feedback(database_url, reference)) == 1
    assert summary["text"] and reference in stored["text"]


async def test_bot_restart_between_feedback_steps(rasa_server, database_url, bot_log):
    first, url = start_bot(rasa_server, database_url, bot_log)
    try:
        async with aiohttp.ClientSession() as session:
            chat = Conversation(session, url)
            await chat.start()
            *_, question = await chat.say("haluan antaa palautetta")
            await chat.press(question, value="premises")
            [text_q] = await chat.say("Kallion ala-aste")
    finally:
        stop_bot(first)
    second, second_url = start_bot(rasa_server, database_url, bot_log)
    try:
        async with aiohttp.ClientSession() as session:
            chat.session, chat.base = session, second_url  # same conversation and token
            [reply_q] = await chat.say("Pihan valaistus on huono.")
            [summary] = await chat.press(reply_q, fb="no")
            assert "Kallion ala-aste" in summary["text"]
            stored, _ = await chat.press(summary, fb="send")
    finally:
        stop_bot(second)
    [row] = stored_feedback(database_url, REFERENCE.search(stored["text"]).group(0))
    assert row.service_code == "kasko-premises" and row.description == "Pihan valaistus on huono."


async def test_fifty_concurrent_conversations_store_fifty_feedbacks(bot_and_database):
    bot, database_url = bot_and_database

    async def one(session: aiohttp.ClientSession, number: int) -> str:
        chat = Conversation(session, bot)
        await chat.start()
        stored = await chat.give_feedback(
            "other", f"Kuormitustestin palaute numero {number}.", typed=False
        )
        return REFERENCE.search(stored["text"]).group(0)

    connector = aiohttp.TCPConnector(limit=50)
    async with aiohttp.ClientSession(connector=connector) as session:
        references = await asyncio.gather(*(one(session, n) for n in range(50)))
    assert len(set(references)) == 50
    stored = rows(database_url, FeedbackRecord, FeedbackRecord.reference.in_(references))
    assert len(stored) == 50
    assert sorted(r.description for r in stored) == sorted(
        f"Kuormitustestin palaute numero {n}." for n in range(50)
    )


async def test_rating_and_unanswered_question_are_stored(bot_url, database_url):
    async with aiohttp.ClientSession() as session:
        chat = Conversation(session, bot_url)
        await chat.start()
        [answer] = await chat.say("mikä on ruutiraha?")
        assert answer["channelData"]["topic"] == "ruuti_budget"
        key = next(b["key"] for b in buttons(answer) if b.get("rating") == "down")
        [ask] = await chat.press(answer, rating="down")
        await chat.say("Hakuaika puuttui.")
        question = "paljonko maksaa bussikortti aikuiselle?"
        [fallback] = await chat.say(question)
    [rating] = rows(database_url, AnswerRatingRecord, AnswerRatingRecord.key == key)
    assert (rating.topic, rating.helpful, rating.comment) == (
        "ruuti_budget",
        False,
        "Hakuaika puuttui.",
    )
    unanswered = rows(
        database_url, UnansweredQuestionRecord, UnansweredQuestionRecord.text == question
    )
    assert len(unanswered) == 1 and unanswered[0].reason in ("out_of_scope", "not_sure")
    assert fallback["channelData"]["topic"] == "out_of_scope"


async def test_two_bot_processes_serve_one_feedback_dialog(rasa_server, database_url, bot_log):
    """Turns alternate between two processes sharing the database: one feedback, stored once."""
    first, first_url = start_bot(rasa_server, database_url, bot_log)
    second, second_url = start_bot(rasa_server, database_url, bot_log)
    try:
        async with aiohttp.ClientSession() as session:
            chat = Conversation(session, first_url)
            await chat.start()
            stored = await chat.give_feedback(
                "communication", "Wilma-viestejä tulee liikaa.", bases=(first_url, second_url)
            )
    finally:
        stop_bot(first)
        stop_bot(second)
    [row] = stored_feedback(database_url, REFERENCE.search(stored["text"]).group(0))
    assert row.service_code == "kasko-communication" and row.unit is None


async def test_database_outage_mid_dialog_loses_nothing(
    rasa_server, postgres_url, bot_log, content
):
    """The whole database drops away (network cut) at the moment of sending, then returns."""
    from sqlalchemy.engine import make_url

    from tests.integration.tcp_proxy import TcpProxy

    real = make_url(postgres_url)
    proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
    await proxy.start()
    proxied = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    # The bot connects through the proxy, which runs on this event loop: start it in a thread.
    process, url = await asyncio.to_thread(start_bot, rasa_server, proxied, bot_log)
    try:
        async with aiohttp.ClientSession() as session:
            chat = Conversation(session, url)
            await chat.start()
            summary = await to_summary(chat)
            await proxy.cut()
            send = next(
                a for a in summary["suggestedActions"]["actions"] if a["value"]["fb"] == "send"
            )
            activity = {"type": "message", "text": send["text"], "value": send["value"]}
            async with session.post(
                chat.activities_url, json=activity, headers=chat.headers
            ) as response:
                # The transcript and the state are in the database too: the client is told
                # to send again, and keeps the message (the widget does).
                assert response.status == 503 and response.headers["Retry-After"]
                assert (await response.json())["error"]["code"] == "ServiceUnavailable"
            async with session.get(f"{url}/livez") as response:
                assert response.status == 200  # the process itself is fine
            await proxy.restore()
            stored, _ = await chat.press(summary, fb="send")
    finally:
        await asyncio.to_thread(stop_bot, process)
        await proxy.cut()
    reference = REFERENCE.search(stored["text"]).group(0)
    assert len(stored_feedback(postgres_url, reference)) == 1
