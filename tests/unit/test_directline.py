"""Direct Line subset over real HTTP (aiohttp test server).

Test doubles for speed: a scripted NLU and botbuilder's MemoryStorage (the database
storage has its own tests in test_state_storage.py).
"""

from __future__ import annotations

import asyncio
import copy
import json
from contextlib import asynccontextmanager

import pytest
from aiohttp.test_utils import TestClient, TestServer
from botbuilder.core import MemoryStorage
from sqlalchemy.exc import OperationalError

from bot.directline.store import MemoryConversationLog
from bot.directline.tokens import TokenIssuer
from bot.storage.state import StateConflict
from tests.conftest import one_rate_window
from tests.unit.doubles import ScriptedNlu, app_with_doubles

BASE = "/v3/directline"


def youth_council_nlu() -> ScriptedNlu:
    nlu = ScriptedNlu()
    nlu.add("how do I join the youth council?", "youth_council")
    return nlu


@pytest.fixture
async def client(config):
    nlu = youth_council_nlu()
    async with TestClient(TestServer(app_with_doubles(config, nlu))) as test_client:
        test_client.nlu = nlu
        yield test_client


async def start(client) -> tuple[str, dict]:
    response = await client.post(f"{BASE}/conversations")
    assert response.status == 201
    body = await response.json()
    return body["conversationId"], {"Authorization": f"Bearer {body['token']}"}


async def post(client, conversation_id, headers, activity) -> int:
    return (
        await client.post(
            f"{BASE}/conversations/{conversation_id}/activities", json=activity, headers=headers
        )
    ).status


async def test_start_post_get_with_watermark(client):
    conversation_id, headers = await start(client)
    response = await client.get(
        f"{BASE}/conversations/{conversation_id}/activities", headers=headers
    )
    body = await response.json()
    welcome = body["activities"]
    assert welcome and all(a["from"]["id"] != "dl_user" for a in welcome)
    assert all(a["channelData"]["topic"] == "greet" and a["locale"] == "fi" for a in welcome)
    watermark = body["watermark"]

    activity = {"type": "message", "text": "how do I join the youth council?", "from": {"id": "u1"}}
    response = await client.post(
        f"{BASE}/conversations/{conversation_id}/activities", json=activity, headers=headers
    )
    assert response.status == 200
    posted_id = (await response.json())["id"]

    response = await client.get(
        f"{BASE}/conversations/{conversation_id}/activities",
        params={"watermark": watermark},
        headers=headers,
    )
    body = await response.json()
    echoed, reply = body["activities"]
    assert echoed["id"] == posted_id and echoed["text"] == activity["text"]
    assert reply["replyToId"] == posted_id
    assert reply["channelData"] == {"topic": "youth_council"}
    assert reply["locale"] == "en"
    assert reply["suggestedActions"]["actions"][0]["type"] == "messageBack"
    assert int(body["watermark"]) == int(watermark) + 2

    # Nothing new after the latest watermark.
    response = await client.get(
        f"{BASE}/conversations/{conversation_id}/activities",
        params={"watermark": body["watermark"]},
        headers=headers,
    )
    assert (await response.json())["activities"] == []


async def test_token_generate_then_start_and_refresh(client):
    response = await client.post(f"{BASE}/tokens/generate")
    body = await response.json()
    headers = {"Authorization": f"Bearer {body['token']}"}
    response = await client.post(f"{BASE}/conversations", headers=headers)
    assert response.status == 201
    assert (await response.json())["conversationId"] == body["conversationId"]
    response = await client.post(f"{BASE}/tokens/refresh", headers=headers)
    refreshed = await response.json()
    assert refreshed["conversationId"] == body["conversationId"]
    assert refreshed["expires_in"] > 0


async def test_token_of_another_conversation_is_forbidden(client):
    first, _ = await start(client)
    _, other_headers = await start(client)
    response = await client.get(f"{BASE}/conversations/{first}/activities", headers=other_headers)
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "BadArgument"


async def test_expired_and_forged_tokens(client, config):
    conversation_id, _ = await start(client)
    wrong_key = TokenIssuer("another-secret", 60).issue(conversation_id)
    for token, code in ((wrong_key, "BadArgument"), ("garbage", "BadArgument")):
        response = await client.get(
            f"{BASE}/conversations/{conversation_id}/activities",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status == 403
        assert (await response.json())["error"]["code"] == code


def test_token_expiry_is_checked():
    issuer = TokenIssuer("secret", 60)
    token = issuer.issue("abc", now=1000)
    assert issuer.verify(token, now=1059).conversation_id == "abc"
    from bot.directline.tokens import TokenExpired

    with pytest.raises(TokenExpired):
        issuer.verify(token, now=1061)


def test_a_remembered_token_vouches_for_no_other():
    """Verified tokens are remembered; a copy changed anywhere is still refused, every time."""
    from bot.directline.tokens import TokenError

    issuer = TokenIssuer("secret", 60)
    token = issuer.issue("abc", now=1000)
    assert issuer.verify(token, now=1001).conversation_id == "abc"
    body, signature = token.split(".")
    forged_body = TokenIssuer("secret", 60).issue("xyz", now=1000).split(".")[0]
    tampered = (
        f"{body}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        f"{forged_body}.{signature}",
        TokenIssuer("other", 60).issue("abc", now=1000),
    )
    for forged in tampered:
        for _ in range(2):
            with pytest.raises(TokenError):
                issuer.verify(forged, now=1001)
    assert issuer.verify(token, now=1002).conversation_id == "abc"


def test_remembered_tokens_read_as_checked_ones_and_are_bounded(monkeypatch):
    """A token read from memory has the claims its signature gives (another process with
    the same secret checks it from scratch), and only the most recent are kept."""
    import bot.directline.tokens as tokens

    monkeypatch.setattr(tokens, "VERIFIED_KEPT", 3)
    issuer, fresh = TokenIssuer("secret", 60), TokenIssuer("secret", 60)
    issued = [issuer.issue(f"c{n}", now=1000) for n in range(5)]
    for token in issued:
        assert issuer.verify(token, now=1001) == fresh.verify(token, now=1001)
    assert len(issuer._verified) == 3  # noqa: SLF001 - the bound is the point


async def test_missing_or_malformed_authorization(client):
    conversation_id, _ = await start(client)
    url = f"{BASE}/conversations/{conversation_id}/activities"
    assert (await client.get(url)).status == 401
    assert (await client.get(url, headers={"Authorization": "Basic abc"})).status == 401
    assert (await client.get(url, headers={"Authorization": "Bearer"})).status == 401


async def test_valid_token_resumes_a_conversation_the_process_forgot(config):
    """After a restart the log is gone but the token is valid: the conversation resumes."""
    from bot.config import DEFAULT_CONFIG_PATH, load_config

    fixed = load_config(
        DEFAULT_CONFIG_PATH,
        environ={"BOT_ALLOW_UNAUTHENTICATED": "true"},
        overrides={"directline": {"token_secret": "s"}},
    )
    app = app_with_doubles(fixed, ScriptedNlu())
    token = TokenIssuer("s", 600).issue("gone-conversation")
    headers = {"Authorization": f"Bearer {token}"}
    async with TestClient(TestServer(app)) as test_client:
        url = f"{BASE}/conversations/gone-conversation/activities"
        response = await test_client.get(url, params={"watermark": "12"}, headers=headers)
        assert response.status == 200
        assert (await response.json())["activities"] == []
        message = {"type": "message", "text": "hei"}
        assert (await test_client.post(url, json=message, headers=headers)).status == 200
        # A client still holding its pre-restart watermark gets the new activities.
        response = await test_client.get(url, params={"watermark": "12"}, headers=headers)
        assert len((await response.json())["activities"]) == 2
        # A token only opens its own conversation.
        response = await test_client.get(
            f"{BASE}/conversations/another/activities", headers=headers
        )
        assert response.status == 403


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        (b"not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'"text"', "application/json", 400),
        (b'{"text": "hi"}', "application/json", 400),  # no type
        (b'{"type": "message", "text": 5}', "application/json", 400),
        (b'{"type": "message", "text": "hi", "attachments": "x"}', "application/json", 400),
        (b'{"type": "bogus"}', "application/json", 400),
        (b'{"type": "message", "text": "hi"}', "text/plain", 415),
        (b"\xff\xfe", "application/json", 400),
        (b"[" * 5000 + b"]" * 5000, "application/json", 400),
        (json.dumps({"type": "message", "text": "x" * 70000}).encode(), "application/json", 413),
    ],
)
async def test_bad_activity_bodies_get_4xx_with_reason(client, body, content_type, status):
    conversation_id, headers = await start(client)
    response = await client.post(
        f"{BASE}/conversations/{conversation_id}/activities",
        data=body,
        headers={**headers, "Content-Type": content_type},
    )
    assert response.status == status
    assert (await response.json())["error"]["message"]


@pytest.mark.parametrize(
    "text",
    ["", "   ", "x" * 10_000, "😀😀😀", "<script>alert(1)</script>", "a\u0000b\u0007c", "/greet"],
)
async def test_odd_messages_get_a_reply_never_an_error(client, text):
    conversation_id, headers = await start(client)
    status = await post(client, conversation_id, headers, {"type": "message", "text": text})
    assert status == 200
    response = await client.get(
        f"{BASE}/conversations/{conversation_id}/activities", headers=headers
    )
    activities = (await response.json())["activities"]
    reply = activities[-1]
    assert reply["from"]["id"] == "kasko-participation-assistant"
    assert reply["text"] and "<script>" not in reply["text"]
    assert reply["channelData"]["topic"]


async def test_slash_prefix_never_reaches_nlu_as_a_command(client):
    conversation_id, headers = await start(client)
    await post(client, conversation_id, headers, {"type": "message", "text": "/greet"})
    # The scripted NLU records what it was asked: the RasaNluClient strips the slash
    # (tested against a real HTTP server in test_nlu_client.py); here the router passes
    # the message on unchanged for the client to clean.
    assert client.nlu.calls[-1] == "/greet"


async def test_attachment_only_message(client):
    conversation_id, headers = await start(client)
    activity = {"type": "message", "attachments": [{"contentType": "image/png", "contentUrl": "x"}]}
    assert await post(client, conversation_id, headers, activity) == 200
    response = await client.get(
        f"{BASE}/conversations/{conversation_id}/activities", headers=headers
    )
    reply = (await response.json())["activities"][-1]
    assert reply["channelData"]["topic"] == "help"


async def test_unknown_path_is_json_404(client):
    response = await client.get("/v3/directline/nothing")
    assert response.status == 404
    assert "error" in await response.json()


class ExplodingNlu:
    """A test double whose parse fails unexpectedly (not an outage): a bug in a turn."""

    async def parse(self, text):
        raise RuntimeError("boom")


async def test_turn_error_gets_the_fixed_polite_reply_and_a_reset(config, content):
    app = app_with_doubles(config, ExplodingNlu())
    async with TestClient(TestServer(app)) as test_client:
        conversation_id, headers = await start(test_client)
        url = f"{BASE}/conversations/{conversation_id}/activities"
        message = {"type": "message", "text": "hei"}
        response = await test_client.post(url, json=message, headers=headers)
        assert response.status == 200
        activities = (await (await test_client.get(url, headers=headers)).json())["activities"]
        reply = activities[-1]
        assert reply["text"] == content.ui["error"]["fi"]
        assert "boom" not in reply["text"] and "Traceback" not in reply["text"]
        # The conversation still works afterwards: a button routes without the NLU.
        activity = {"type": "message", "text": "Mitä osaat?", "value": {"intent": "help"}}
        response = await test_client.post(url, json=activity, headers=headers)
        assert response.status == 200
        activities = (await (await test_client.get(url, headers=headers)).json())["activities"]
        assert activities[-1]["channelData"]["topic"] == "help"


async def test_memory_conversation_log_is_bounded():
    store = MemoryConversationLog(
        max_conversations=3, ttl_seconds=3600, state_storage=MemoryStorage()
    )
    ids = [await store.create() for _ in range(5)]
    assert await store.length(ids[0]) is None and await store.length(ids[1]) is None
    assert all([await store.length(i) == 0 for i in ids[2:]])


async def _next_activities(socket) -> dict:
    """The next non-empty stream message (empty ones are keep-alives)."""
    while True:
        message = await socket.receive(timeout=5)
        if message.data:
            return json.loads(message.data)


async def test_stream_pushes_replies_and_resumes_from_the_watermark(client):
    response = await client.post(f"{BASE}/conversations")
    body = await response.json()
    conversation_id, token = body["conversationId"], body["token"]
    assert body["streamUrl"].startswith("ws://") and f"t={token}" in body["streamUrl"]
    path = body["streamUrl"].split("//", 1)[1].split("/", 1)[1]
    headers = {"Authorization": f"Bearer {token}"}

    socket = await client.ws_connect("/" + path)
    welcome = await _next_activities(socket)
    assert welcome["activities"][0]["channelData"]["topic"] == "greet"
    seen = int(welcome["watermark"])
    activity = {"type": "message", "text": "how do I join the youth council?"}
    assert await post(client, conversation_id, headers, activity) == 200
    pushed = await _next_activities(socket)
    texts = [a.get("text") for a in pushed["activities"]]
    assert "how do I join the youth council?" in texts  # the user's own message, then the reply
    assert pushed["activities"][-1]["channelData"]["topic"] == "youth_council"
    await socket.close()

    # Reconnect from the old watermark: exactly what was missed.
    again = await client.ws_connect(f"/{path}&watermark={seen}")
    caught_up = await _next_activities(again)
    assert [a["id"] for a in caught_up["activities"]] == [a["id"] for a in pushed["activities"]]
    await again.close()


@pytest.mark.parametrize("query", ["", "?t=forged.token", "?t=%s&watermark=-1"])
async def test_stream_refuses_bad_tokens_and_watermarks(client, query):
    conversation_id, headers = await start(client)
    token = headers["Authorization"].split()[1]
    url = f"{BASE}/conversations/{conversation_id}/stream" + (
        query % token if "%s" in query else query
    )
    response = await client.get(url)
    assert response.status in (400, 401, 403)
    assert (await response.json())["error"]["code"]


async def test_rate_limits_answer_429_with_retry_after():
    from bot.config import DEFAULT_CONFIG_PATH, load_config

    limited = load_config(
        DEFAULT_CONFIG_PATH,
        environ={"BOT_ALLOW_UNAUTHENTICATED": "true"},
        overrides={
            "rate_limits": {
                "store": "memory",
                "per_conversation_per_minute": 2,
                "new_conversations_per_address_per_minute": 3,
            }
        },
    )
    app = app_with_doubles(limited, ScriptedNlu())
    async with TestClient(TestServer(app)) as client:
        await one_rate_window(needed_seconds=5)
        conversation_id, headers = await start(client)
        activity = {"type": "message", "text": "hei"}
        statuses = [await post(client, conversation_id, headers, activity) for _ in range(3)]
        assert statuses == [200, 200, 429]
        response = await client.post(
            f"{BASE}/conversations/{conversation_id}/activities", json=activity, headers=headers
        )
        assert int(response.headers["Retry-After"]) >= 1
        assert (await response.json())["error"]["code"] == "TooManyRequests"
        created = [(await client.post(f"{BASE}/conversations")).status for _ in range(3)]
        assert created == [201, 201, 429]  # the first start() counted too
        metrics = await (await client.get("/metrics")).text()
        assert 'kasko_rate_limited_total{scope="conversation"} 2.0' in metrics


class FailingLog(MemoryConversationLog):
    """A conversation log whose next `failures` appends fail after a moment, as a
    database going away while the turn is already running."""

    failures = 0

    async def append(self, conversation_id, activities, state=None, reply_to_first=False, also=()):
        if self.failures:
            self.failures -= 1
            await asyncio.sleep(0.01)
            raise OperationalError("INSERT", {}, Exception("database is gone"))
        return await super().append(conversation_id, activities, state, reply_to_first, also)


class CopyingMemoryStorage(MemoryStorage):
    """botbuilder's MemoryStorage hands out its own objects; a database hands out copies."""

    async def read(self, keys):
        return copy.deepcopy(await super().read(keys))


@asynccontextmanager
async def started(config, storage, log):
    """A conversation started on an app with these state storage and log doubles;
    yields the client, the conversation's id and headers, and its log's length."""
    app = app_with_doubles(config, youth_council_nlu(), storage, log)
    async with TestClient(TestServer(app)) as test_client:
        conversation_id, headers = await start(test_client)
        yield test_client, conversation_id, headers, len(log._logs[conversation_id])


async def test_a_turn_whose_write_fails_keeps_the_old_state_and_says_so(config):
    """The user's activity, the replies and the state are written in one transaction;
    when it fails, none of it is half there: the state stays as it was, and the
    user is told the message could not be handled, next to their message."""
    storage = CopyingMemoryStorage()
    log = FailingLog(max_conversations=10, ttl_seconds=3600, state_storage=storage)
    async with started(config, storage, log) as (test_client, conversation_id, headers, welcome):
        question = {"type": "message", "text": "how do I join the youth council?"}
        before = copy.deepcopy(storage.memory)
        log.failures = 1
        assert await post(test_client, conversation_id, headers, question) == 200
        assert storage.memory == before  # not one step ahead of the log
        user, apology = log._logs[conversation_id][welcome:]
        assert user["text"] == question["text"] and apology["replyToId"] == user["id"]
        assert apology["channelData"]["topic"] != "youth_council"
        # The user asks again: answered, and the state moves on.
        assert await post(test_client, conversation_id, headers, question) == 200
        assert storage.memory != before
        user, reply = log._logs[conversation_id][welcome + 2 : welcome + 4]
        assert user["text"] == question["text"]
        assert reply["replyToId"] == user["id"]
        assert reply["channelData"]["topic"] == "youth_council"


async def test_a_turn_that_cannot_write_at_all_answers_503_and_changes_nothing(config):
    storage = CopyingMemoryStorage()
    log = FailingLog(max_conversations=10, ttl_seconds=3600, state_storage=storage)
    async with started(config, storage, log) as (test_client, conversation_id, headers, welcome):
        before = copy.deepcopy(storage.memory)
        log.failures = 2  # the turn's write, and the write of its apology
        question = {"type": "message", "text": "how do I join the youth council?"}
        assert await post(test_client, conversation_id, headers, question) == 503
        assert storage.memory == before and len(log._logs[conversation_id]) == welcome


class StorageThatConflicts(CopyingMemoryStorage):
    """As if another replica wrote the conversation's state during every turn."""

    conflict = False

    async def write(self, changes):
        if self.conflict:
            raise StateConflict("e-tag conflict")
        await super().write(changes)


async def test_a_turn_that_lost_a_race_for_the_state_answers_409_and_writes_nothing(config):
    storage = StorageThatConflicts()
    log = MemoryConversationLog(max_conversations=10, ttl_seconds=3600, state_storage=storage)
    async with started(config, storage, log) as (test_client, conversation_id, headers, welcome):
        storage.conflict = True
        question = {"type": "message", "text": "how do I join the youth council?"}
        response = await test_client.post(
            f"{BASE}/conversations/{conversation_id}/activities", json=question, headers=headers
        )
        assert response.status == 409
        assert (await response.json())["error"]["code"] == "Conflict"
        assert [a["text"] for a in log._logs[conversation_id][welcome:]] == [question["text"]]
