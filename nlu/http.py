"""JSON POSTed to one URL over kept-alive HTTP/1.1 connections: the bot's parse call to Rasa.

Every typed question waits for this call, and aiohttp's client spent about 0.2 ms
of Python on each request before the request left and again on its answer
(docs/benchmark.md, 2026-12-07 evening). A parse is a small JSON POST to one
known server that answers with JSON and a Content-Length, so `JsonPoster` sends
prepared bytes on an open connection and reads one response back: the handful
of HTTP/1.1 rules that call needs. Everything else the bot asks Rasa (the model
id, readiness) still goes through aiohttp.

Left out on purpose, each an `HttpError` (the NLU then counts as unavailable,
and the circuit breaker and the turn's fallback deal with it): responses
without a Content-Length (chunked ones included; Rasa's Sanic server always
sends one for JSON), redirects, proxies, compression and bodies over
MAX_BODY_BYTES.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

MAX_HEAD_BYTES = 16 * 1024
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_IDLE = 32  # connections kept open between requests; more at once are closed after use
_HEAD_END = b"\r\n\r\n"


class HttpError(Exception):
    """The server's answer was no HTTP/1.1 response this client reads, or it was cut off."""


class ConnectionClosed(HttpError):
    """The server closed the connection before any byte of the response."""


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    keep_alive: bool  # the connection may carry the next request


def read_response(buffer: bytearray) -> Response | None:
    """The response at the start of `buffer`, removed from it; None while it is incomplete."""
    head_end = buffer.find(_HEAD_END)
    if head_end < 0:
        if len(buffer) > MAX_HEAD_BYTES:
            raise HttpError("response head too long")
        return None
    status_line, *header_lines = bytes(buffer[:head_end]).decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise HttpError("not an HTTP/1.x status line")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "transfer-encoding" in headers:
        raise HttpError("only responses with a Content-Length are read")
    length = headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_BODY_BYTES:
        raise HttpError("missing or unusable Content-Length")
    end = head_end + len(_HEAD_END) + int(length)
    if len(buffer) < end:
        return None
    body = bytes(buffer[head_end + len(_HEAD_END) : end])
    del buffer[:end]
    keep_alive = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
    return Response(int(code), body, keep_alive)


class _Connection(asyncio.Protocol):
    """One connection, one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.open = True
        self._buffer = bytearray()
        self._answer: asyncio.Future[Response] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        answer = self._answer
        if answer is None or answer.done():
            self.close()  # bytes nobody asked for: this connection is out of step
            return
        try:
            response = read_response(self._buffer)
        except HttpError as error:
            answer.set_exception(error)
            self.close()
            return
        if response is not None:
            if self._buffer:
                response.keep_alive = False  # more than one response: never reuse
            answer.set_result(response)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        answer = self._answer
        if answer is not None and not answer.done():
            error = HttpError("connection cut off in the response")
            answer.set_exception(ConnectionClosed("closed") if not self._buffer else error)

    async def exchange(self, request: bytes) -> Response:
        self._answer = asyncio.get_running_loop().create_future()
        try:
            self.transport.write(request)  # type: ignore[union-attr]
            return await self._answer
        finally:
            self._answer = None

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.abort()  # nothing of ours is unsent when a connection is given up


class JsonPoster:
    """POSTs JSON to one URL (query included) and returns the response's status and body.

    Connections are reused most-recent first: the one least likely to have been
    closed by the server's keep-alive timeout. A reused connection the server
    closed just as the request went out is retried once on a new one, as a
    parse has no side effects. The caller sets the time limit; a request it
    cancels closes its connection, so a late answer is never read as the next.
    """

    def __init__(self, url: str, params: dict[str, str] | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = ssl.create_default_context() if parts.scheme == "https" else None
        target = (parts.path or "/") + (f"?{urlencode(params)}" if params else "")
        self._head = (
            f"POST {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: "
        ).encode("latin-1")
        self._idle: list[_Connection] = []

    async def post(self, payload: object) -> Response:
        body = json.dumps(payload).encode()
        request = self._head + str(len(body)).encode() + _HEAD_END + body
        while self._idle:
            connection = self._idle.pop()
            if connection.open:
                try:
                    return await self._exchange(connection, request)
                except ConnectionClosed:
                    break
        return await self._exchange(await self._connect(), request)

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(
            _Connection, self._host, self._port, ssl=self._ssl
        )
        return connection

    async def _exchange(self, connection: _Connection, request: bytes) -> Response:
        try:
            response = await connection.exchange(request)
        except BaseException:
            connection.close()
            raise
        if response.keep_alive and connection.open and len(self._idle) < MAX_IDLE:
            self._idle.append(connection)
        else:
            connection.close()
        return response

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
