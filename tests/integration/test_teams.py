"""Teams over /api/messages: the bot as its own process with real Rasa, Teams-shaped payloads,
real JWT validation against a signing key published on loopback, and replies that
arrive at a stand-in connector at `serviceUrl` (tests/integration/botframework_standins.py).
"""

from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import one_rate_window
from tests.integration.botframework_standins import StandIns, load_payload
from tests.integration.conftest import start_bot, stop_bot


@pytest.fixture(scope="module")
def teams_bot(rasa_server, database_url, bot_log, stand_ins):
    """A bot with Bot Framework authentication on (an app id), as in production."""
    process, url = start_bot(rasa_server, database_url, bot_log, **stand_ins.bot_environment())
    yield url
    stop_bot(process)


async def post(url: str, body, token: str | None = None, **headers) -> tuple[int, dict]:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers.setdefault("Content-Type", "application/json")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/api/messages", data=data, headers=headers) as response:
            text = await response.text()
            return response.status, (json.loads(text) if text.startswith("{") else {})


def fresh(payload: dict) -> dict:
    """The payload in a conversation of its own, so replies can be told apart."""
    payload["conversation"]["id"] += f"-{uuid.uuid4().hex[:8]}"
    return payload


async def replies(stand_ins: StandIns, payload: dict, count: int = 1) -> list:
    """The bot's replies to this conversation that reached the connector."""
    for _ in range(50):
        found = stand_ins.replies_to(payload["conversation"]["id"])
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    return stand_ins.replies_to(payload["conversation"]["id"])


async def test_personal_message_is_answered_through_the_connector(teams_bot, stand_ins, content):
    payload = fresh(load_payload("personal_message.json", stand_ins))
    status, _ = await post(teams_bot, payload, stand_ins.token())
    assert status == 201
    [reply] = await replies(stand_ins, payload)
    assert reply.authorization == f"Bearer {stand_ins.outbound_token}"
    assert reply.path.endswith(f"/activities/{payload['id']}")
    activity = reply.body
    assert activity["channelData"]["topic"] == "ruuti_budget" and activity["locale"] == "fi"
    assert activity["text"].startswith(content.topics["ruuti_budget"].answer["fi"][:40])
    # Personal chat: quick replies as suggested actions.
    assert activity["suggestedActions"]["actions"] and not activity.get("attachments")


async def test_channel_mention_is_stripped_and_buttons_come_on_a_card(teams_bot, stand_ins):
    payload = fresh(load_payload("channel_mention.json", stand_ins))
    status, _ = await post(teams_bot, payload, stand_ins.token())
    assert status == 201
    [reply] = await replies(stand_ins, payload)
    activity = reply.body
    assert activity["channelData"]["topic"] == "youth_council" and activity["locale"] == "en"
    # Group chats and channels show no suggested actions: the buttons are on a hero card.
    assert not activity.get("suggestedActions")
    [card] = activity["attachments"]
    assert card["contentType"] == "application/vnd.microsoft.card.hero"
    values = [button["value"] for button in card["content"]["buttons"]]
    assert {"rating": "up"}.items() <= values[-2].items()


async def test_install_in_personal_scope_greets_in_the_users_language(
    teams_bot, stand_ins, content
):
    payload = fresh(load_payload("conversation_update_installed.json", stand_ins))
    status, _ = await post(teams_bot, payload, stand_ins.token())
    assert status == 201
    greeting, languages = await replies(stand_ins, payload, count=2)
    assert greeting.body["locale"] == "sv"
    assert greeting.body["text"] == content.conversation["greet"].answer["sv"]
    assert languages.body["suggestedActions"]["actions"]


async def test_a_button_click_in_a_channel_card_routes_by_its_value(teams_bot, stand_ins):
    payload = fresh(load_payload("channel_mention.json", stand_ins))
    payload.update(text="", value={"intent": "school_board"}, entities=[])
    status, _ = await post(teams_bot, payload, stand_ins.token())
    assert status == 201
    [reply] = await replies(stand_ins, payload)
    assert reply.body["channelData"]["topic"] == "school_board"


@pytest.mark.parametrize(
    "case",
    ["no token", "wrong audience", "expired", "signed by another key", "other serviceUrl"],
)
async def test_a_request_without_a_valid_token_gets_401_and_no_reply(teams_bot, stand_ins, case):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = {
        "no token": None,
        "wrong audience": stand_ins.token(audience="someone-else"),
        "expired": stand_ins.token(expires_in=-3600),  # past the 5-minute clock tolerance
        "signed by another key": stand_ins.token(key=other_key),
        "other serviceUrl": stand_ins.token(service_url="http://127.0.0.1:9/elsewhere/"),
    }[case]
    payload = fresh(load_payload("personal_message.json", stand_ins))
    status, body = await post(teams_bot, payload, token)
    assert status == 401 and body["error"]["code"] == "Unauthorized"
    await asyncio.sleep(0.3)
    assert stand_ins.replies_to(payload["conversation"]["id"]) == []


@pytest.mark.parametrize(
    "body, headers, status",
    [
        (b'{"type": "message"}', {"Content-Type": "text/plain"}, 415),
        (b"{not json", {}, 400),
        (b"[1, 2, 3]", {}, 400),
        (b'{"type": "message", "channelId": "msteams"}', {}, 400),
        (  # found by the fuzz test: botbuilder failed on it inside the turn (502)
            b'{"type": "message", "channelId": "msteams", "serviceUrl": "http://127.0.0.1:9/",'
            b' "conversation": {"id": "c"}, "entities": [null]}',
            {},
            400,
        ),
        (b"x" * 300_000, {}, 413),
        (b"{}", {"Authorization": "Bearer not-a-jwt"}, 401),
        (b"{}", {"Authorization": "Basic dXNlcjpwYXNz"}, 401),
    ],
)
async def test_bad_requests_get_a_4xx_before_the_adapter(
    teams_bot, stand_ins, body, headers, status
):
    # A well-formed token, so that what is wrong is the request itself.
    token = None if "Authorization" in headers else stand_ins.token()
    code, answer = await post(teams_bot, body, token, **headers)
    assert code == status and answer["error"]["message"]


async def test_development_setting_accepts_unauthenticated_requests(
    rasa_server, database_url, bot_log, stand_ins
):
    """No app id and the explicit development setting (the run command's default)."""
    process, url = start_bot(rasa_server, database_url, bot_log)
    try:
        payload = fresh(load_payload("personal_message.json", stand_ins))
        status, _ = await post(url, payload)
        assert status == 201
        [reply] = await replies(stand_ins, payload)
        assert reply.authorization == "" and reply.body["channelData"]["topic"] == "ruuti_budget"
    finally:
        stop_bot(process)


async def test_a_conversation_over_its_rate_limit_gets_429_and_no_reply(teams_bot, stand_ins):
    """30 messages a minute per conversation, as on Direct Line (config.yml)."""
    await one_rate_window(needed_seconds=20)
    payload = fresh(load_payload("channel_mention.json", stand_ins))
    payload.update(text="", value={"intent": "school_board"}, entities=[])
    statuses = [(await post(teams_bot, payload, stand_ins.token()))[0] for _ in range(31)]
    assert statuses == [201] * 30 + [429]
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {stand_ins.token()}"}
        async with session.post(
            f"{teams_bot}/api/messages", json=payload, headers=headers
        ) as response:
            assert response.status == 429 and int(response.headers["Retry-After"]) >= 1
    assert len(await replies(stand_ins, payload, count=31)) == 30


async def test_a_question_after_the_install_greeting_is_answered(teams_bot, stand_ins, content):
    """The greeting's turn leaves the conversation reading questions: the next one goes to
    the NLU before its turn reads the state (nlu/early.py), and is answered as ever."""
    installed = fresh(load_payload("conversation_update_installed.json", stand_ins))
    assert (await post(teams_bot, installed, stand_ins.token()))[0] == 201
    await replies(stand_ins, installed, count=2)
    question = load_payload("personal_message.json", stand_ins)
    question["conversation"]["id"] = installed["conversation"]["id"]
    assert (await post(teams_bot, question, stand_ins.token()))[0] == 201
    *_, answer = await replies(stand_ins, installed, count=3)
    assert answer.body["channelData"]["topic"] == "ruuti_budget"
    assert answer.body["text"].startswith(content.topics["ruuti_budget"].answer["fi"][:40])
