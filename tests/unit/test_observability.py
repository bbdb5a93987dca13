"""Request ids, JSON logs without message text, /metrics and /livez (in-process app with a
scripted NLU and memory stores as test doubles; /readyz with real Rasa and a real database
is in tests/integration/test_operations.py)."""

from __future__ import annotations

import json
import logging

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.observability import REQUEST_ID, JsonFormatter, RequestIdFilter
from tests.unit.doubles import ScriptedNlu, app_with_doubles

BASE = "/v3/directline"


@pytest.fixture
async def client(config):
    nlu = ScriptedNlu()
    nlu.add("mikä on ruutiraha", "ruuti_budget")
    async with TestClient(TestServer(app_with_doubles(config, nlu))) as test_client:
        yield test_client


async def test_request_id_is_returned_and_a_bad_one_replaced(client):
    response = await client.get("/livez", headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"
    response = await client.get("/livez", headers={"X-Request-Id": "<script>alert(1)"})
    assert response.headers["X-Request-Id"] != "<script>alert(1)"
    assert len(response.headers["X-Request-Id"]) == 16


async def test_metrics_count_turns_fallbacks_and_requests(client):
    started = await (await client.post(f"{BASE}/conversations")).json()
    headers = {"Authorization": f"Bearer {started['token']}"}
    url = f"{BASE}/conversations/{started['conversationId']}/activities"
    await client.post(url, json={"type": "message", "text": "mikä on ruutiraha"}, headers=headers)
    await client.post(url, json={"type": "message", "text": "paljonko kello on"}, headers=headers)
    response = await client.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain")
    body = await response.text()
    assert 'kasko_turns_total{channel="directline"} 3.0' in body  # welcome + 2 messages
    assert 'kasko_fallbacks_total{language="fi"} 1.0' in body
    assert "kasko_turn_seconds_bucket" in body
    assert 'kasko_http_requests_total{route="/v3/directline/conversations",status="201"}' in body
    assert "ruutiraha" not in body


def test_json_log_lines_carry_the_request_id_and_no_exception_message():
    record = logging.LogRecord(
        "bot", logging.ERROR, __file__, 1, "turn failed: %s", ("KeyError",), None
    )
    try:
        raise KeyError("hetu 131052-308T")
    except KeyError as error:
        record.exc_info = (type(error), error, error.__traceback__)
    token = REQUEST_ID.set("req-1")
    try:
        RequestIdFilter().filter(record)
    finally:
        REQUEST_ID.reset(token)
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["request_id"] == "req-1" and entry["message"] == "turn failed: KeyError"
    assert entry["exception"] == "KeyError" and entry["frames"]
    assert "131052" not in line
