"""`python -m nlu.evaluate` against a bot that refuses it: a clear message, never a trace.
The refusing bot is a stand-in HTTP server (a test double for the bot's rate limit)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nlu.evaluate import main

HELDOUT = Path(__file__).resolve().parents[1] / "data" / "heldout.yml"


def refusing_server(status: int) -> ThreadingHTTPServer:
    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
            self.send_response(status)
            self.send_header("Retry-After", "30")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize(
    ("status", "said"),
    [(429, "RATE_LIMIT_NEW_CONVERSATIONS=0"), (503, "answered 503")],
)
def test_a_refusing_bot_gets_a_clear_message(capsys, status, said):
    server = refusing_server(status)
    try:
        code = main([str(HELDOUT), "--url", f"http://127.0.0.1:{server.server_address[1]}"])
    finally:
        server.shutdown()
    assert code == 2
    error = capsys.readouterr().err
    assert said in error and "Traceback" not in error
