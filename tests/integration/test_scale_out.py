"""Two bot processes, one PostgreSQL, no sticky sessions: a conversation whose requests
alternate between the replicas, its feedback dialog, its WebSocket stream reconnecting
to the other replica, and rate limits counted together.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from bot.storage.models import FeedbackRecord
from tests.conftest import one_rate_window
from tests.integration.conftest import start_bot, stop_bot
from tests.integration.dl import Conversation
from tests.integration.test_feedback_chat import REFERENCE, rows


@pytest.fixture(scope="module")
def replicas(rasa_server, postgres_url, bot_log):
    first, first_url = start_bot(rasa_server, postgres_url, bot_log)
    second, second_url = start_bot(rasa_server, postgres_url, bot_log)
    yield first_url, second_url
    stop_bot(first)
    stop_bot(second)


async def next_push(socket: aiohttp.ClientWebSocketResponse) -> dict:
    while True:
        message = await socket.receive(timeout=10)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"stream closed: {message.type}")
        if message.data:
            return json.loads(message.data)


def stream_url(base: str, body: dict, watermark: int | None = None) -> str:
    path = body["streamUrl"].split("/v3/", 1)[1]
    url = base.replace("http://", "ws://") + "/v3/" + path
    return url + (f"&watermark={watermark}" if watermark is not None else "")


async def test_a_conversation_alternates_between_replicas(replicas, postgres_url):
    a, b = replicas
    async with aiohttp.ClientSession() as session:
        chat = Conversation(session, a)  # started on A...
        await chat.start()
        chat.base = b  # ...and every request after this goes to the other replica
        [answer] = await chat.say("mikä on ruutiraha?")
        assert answer["channelData"]["topic"] == "ruuti_budget"
        stored = await chat.give_feedback(
            "participation", "Oppilaskunnan kokoukset ovat liian lyhyitä.", bases=(a, b)
        )
        # Both replicas show the same transcript, in the same order.
        logs = []
        for base in (a, b):
            async with session.get(
                f"{base}/v3/directline/conversations/{chat.conversation_id}/activities",
                headers=chat.headers,
            ) as response:
                logs.append([x["id"] for x in (await response.json())["activities"]])
        assert logs[0] == logs[1] and len(logs[0]) >= 14
    [row] = rows(
        postgres_url,
        FeedbackRecord,
        FeedbackRecord.reference == REFERENCE.search(stored["text"]).group(0),
    )
    assert row.service_code == "kasko-participation"


async def test_the_stream_follows_replies_written_by_the_other_replica(replicas):
    a, b = replicas
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{a}/v3/directline/conversations") as response:
            body = await response.json()
        headers = {"Authorization": f"Bearer {body['token']}"}
        activities = f"/v3/directline/conversations/{body['conversationId']}/activities"
        socket = await session.ws_connect(stream_url(a, body))
        welcome = await next_push(socket)
        seen = int(welcome["watermark"])
        # Posted to B; A's socket pushes it (A polls the database for other replicas' writes).
        await session.post(
            f"{b}{activities}",
            json={"type": "message", "text": "mikä on nuorisoneuvosto?"},
            headers=headers,
        )
        pushed = await next_push(socket)
        while pushed["activities"][-1]["from"]["id"] != "kasko-participation-assistant":
            pushed = await next_push(socket)
        assert pushed["activities"][-1]["channelData"]["topic"] == "youth_council"
        missed_from = int(pushed["watermark"])
        await socket.close()

        # A message is posted while no stream is open; the client reconnects to B from its
        # watermark and gets exactly what it missed.
        await session.post(
            f"{a}{activities}",
            json={"type": "message", "text": "mikä on ruutiraha?"},
            headers=headers,
        )
        async with session.get(
            f"{b}/v3/directline/conversations/{body['conversationId']}", headers=headers
        ) as response:
            resumed = await response.json()
        again = await session.ws_connect(stream_url(b, resumed, missed_from))
        caught_up = await next_push(again)
        texts = [x.get("text", "") for x in caught_up["activities"]]
        assert texts[0] == "mikä on ruutiraha?" and len(caught_up["activities"]) >= 2
        assert caught_up["activities"][-1]["channelData"]["topic"] == "ruuti_budget"
        assert int(caught_up["watermark"]) > missed_from > seen
        await again.close()


async def test_rate_limits_are_counted_across_replicas(rasa_server, postgres_url, bot_log):
    first, a = start_bot(rasa_server, postgres_url, bot_log, RATE_LIMIT_PER_CONVERSATION="4")
    second, b = start_bot(rasa_server, postgres_url, bot_log, RATE_LIMIT_PER_CONVERSATION="4")
    try:
        async with aiohttp.ClientSession() as session:
            await one_rate_window(needed_seconds=10)
            async with session.post(f"{a}/v3/directline/conversations") as response:
                body = await response.json()
            headers = {"Authorization": f"Bearer {body['token']}"}
            path = f"/v3/directline/conversations/{body['conversationId']}/activities"
            statuses = []
            for base in (a, b, a, b, a, b):
                async with session.post(
                    f"{base}{path}", json={"type": "message", "text": "kiitos"}, headers=headers
                ) as response:
                    statuses.append(response.status)
        # A counting failure lets requests through (bot/ratelimit.py) and is logged.
        uncounted = [x for x in bot_log.read_text().splitlines() if "not counted" in x]
        assert statuses == [200, 200, 200, 200, 429, 429], uncounted
    finally:
        stop_bot(first)
        stop_bot(second)
        await asyncio.sleep(0)
