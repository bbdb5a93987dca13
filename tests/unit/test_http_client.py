"""The lean JSON POST client (nlu/http.py) against real sockets on loopback.

The servers here are small asyncio servers that answer as told, byte for byte,
so that what real servers do only now and then (closing a kept-alive
connection, cutting a response off, answering late) happens on every run.
The client against the real Rasa is tested in tests/integration.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from nlu.client import NluUnavailable, RasaNluClient
from nlu.http import HttpError, JsonPoster, read_response


def answer(body: bytes, status: str = "200 OK", headers: str = "") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{headers}"
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


class ScriptedServer:
    """Answers each request with the next of `script`'s actions, counting connections.

    An action is bytes to send, "close" (close without answering) or ("late", s, bytes).
    """

    def __init__(self, script: list) -> None:
        self.script = list(script)
        self.connections = 0
        self.requests: list[tuple[str, dict]] = []
        self.url = ""

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/model/parse"
        return self

    async def __aexit__(self, *_exc) -> None:
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.script:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                length = next(
                    int(line.split(":")[1]) for line in lines if line.startswith("Content-Length")
                )
                body = json.loads(await reader.readexactly(length))
                self.requests.append((lines[0], body))
                action = self.script.pop(0)
                if action == "close":
                    break
                if isinstance(action, tuple):
                    _, delay, action = action
                    await asyncio.sleep(delay)
                writer.write(action)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


async def test_posts_json_and_reuses_one_connection():
    async with ScriptedServer([answer(b'{"n": 1}'), answer(b'{"n": 2}')]) as server:
        poster = JsonPoster(server.url, {"token": "s3cret"})
        first = await poster.post({"text": "hei"})
        second = await poster.post({"text": "moi"})
        poster.close()
    assert (first.status, json.loads(first.body)) == (200, {"n": 1})
    assert json.loads(second.body) == {"n": 2}
    assert server.connections == 1
    assert server.requests == [
        ("POST /model/parse?token=s3cret HTTP/1.1", {"text": "hei"}),
        ("POST /model/parse?token=s3cret HTTP/1.1", {"text": "moi"}),
    ]


async def test_a_kept_connection_the_server_closed_is_retried_once_on_a_new_one():
    # The second request meets the connection closing (the server's keep-alive
    # timeout, just as the request went out): asked again on a new connection.
    async with ScriptedServer([answer(b'{"n": 1}'), "close", answer(b'{"n": 2}')]) as server:
        poster = JsonPoster(server.url)
        await poster.post({"text": "hei"})
        second = await poster.post({"text": "moi"})
        poster.close()
    assert json.loads(second.body) == {"n": 2}
    assert server.connections == 2
    assert [body["text"] for _, body in server.requests] == ["hei", "moi", "moi"]


async def test_a_new_connection_closed_without_an_answer_is_an_error_not_a_retry():
    async with ScriptedServer(["close", answer(b"{}")]) as server:
        poster = JsonPoster(server.url)
        with pytest.raises(HttpError):
            await poster.post({"text": "hei"})
        poster.close()
    assert server.connections == 1


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}",  # cut off in the body
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}",  # no length
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
    ],
)
async def test_answers_it_does_not_read_are_errors(reply):
    async with ScriptedServer([reply]) as server:  # then the server closes the connection
        poster = JsonPoster(server.url)
        with pytest.raises(HttpError):
            async with asyncio.timeout(5):
                await poster.post({"text": "hei"})
        poster.close()


async def test_connection_close_is_honoured_and_other_statuses_returned():
    script = [answer(b'{"e": 1}', "401 Unauthorized", "Connection: close\r\n"), answer(b"{}")]
    async with ScriptedServer(script) as server:
        poster = JsonPoster(server.url)
        refused = await poster.post({"text": "hei"})
        again = await poster.post({"text": "hei"})
        poster.close()
    assert refused.status == 401 and again.status == 200
    assert server.connections == 2


async def test_a_request_given_up_never_hands_its_late_answer_to_the_next():
    script = [("late", 0.3, answer(b'{"n": "late"}')), answer(b'{"n": "next"}')]
    async with ScriptedServer(script) as server:
        poster = JsonPoster(server.url)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await poster.post({"text": "slow"})
        following = await poster.post({"text": "next"})
        poster.close()
    assert json.loads(following.body) == {"n": "next"}
    assert server.connections == 2


async def test_a_connection_that_answered_twice_is_not_reused():
    script = [answer(b'{"n": 1}') + answer(b'{"n": "extra"}'), answer(b'{"n": 2}')]
    async with ScriptedServer(script) as server:
        poster = JsonPoster(server.url)
        first = await poster.post({"text": "hei"})
        second = await poster.post({"text": "moi"})
        poster.close()
    assert [json.loads(r.body)["n"] for r in (first, second)] == [1, 2]
    assert server.connections == 2


def test_read_response_waits_for_the_whole_answer_and_leaves_the_rest():
    whole = answer(b'{"a": 1}')
    buffer = bytearray(whole[:-3])
    assert read_response(buffer) is None
    buffer = bytearray(whole + b"HTTP/1.1")
    response = read_response(buffer)
    assert (response.status, response.body, response.keep_alive) == (200, b'{"a": 1}', True)
    assert buffer == b"HTTP/1.1"
    assert read_response(bytearray(b"HTTP/1.0 204 No Content\r\nContent-Length: 0\r\n\r\n"))


def test_only_http_urls():
    with pytest.raises(ValueError):
        JsonPoster("ftp://127.0.0.1/model/parse")


async def test_rasa_client_turns_every_failure_into_nlu_unavailable():
    parse = json.dumps({"intent": {"name": "greet", "confidence": 0.9}}).encode()
    script = [answer(b"not json"), answer(b"{}", "500 Internal Server Error"), answer(parse)]
    async with ScriptedServer(script) as server:
        client = RasaNluClient(server.url.removesuffix("/model/parse"), "t", timeout_seconds=2)
        for _ in range(2):
            with pytest.raises(NluUnavailable):
                await client.parse("hei")
        assert (await client.parse("/hei")).intent == "greet"
        await client.close()
    assert server.requests[-1] == ("POST /model/parse?token=t HTTP/1.1", {"text": "hei"})


async def test_rasa_client_times_out_as_nlu_unavailable():
    async with ScriptedServer([("late", 1.0, answer(b"{}"))]) as server:
        client = RasaNluClient(server.url.removesuffix("/model/parse"), "", timeout_seconds=0.2)
        with pytest.raises(NluUnavailable, match="TimeoutError"):
            await client.parse("hei")
        await client.close()


async def test_nothing_listening_is_nlu_unavailable():
    from nlu.service import free_port

    client = RasaNluClient(f"http://127.0.0.1:{free_port()}", "", timeout_seconds=2)
    with pytest.raises(NluUnavailable):
        await client.parse("hei")
    await client.close()
