"""Real services for integration tests: the trained Rasa model served by Rasa, and the bot
started as its own process (`python -m bot`), both on free loopback ports, once per session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from nlu import service

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def rasa_server(tmp_path_factory):
    if not service.rasa_executable().exists():
        pytest.skip("integration: .venv-nlu is missing; run ./scripts/test, which sets it up")
    model = service.ensure_model()
    log_file = tmp_path_factory.mktemp("rasa") / "rasa.log"
    server = service.start_server(model, service.free_port(), log_file=log_file)
    try:
        service.wait_ready(server, timeout_seconds=300)
    except RuntimeError:
        server.stop()
        print(log_file.read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    yield server
    server.stop()
    # Rasa's log must not contain what users wrote either.
    logged = log_file.read_text(errors="replace")
    assert "oppilaskuntaan" not in logged and "youth council" not in logged


def _wait_http(url: str, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bot exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {seconds} s")


@pytest.fixture(scope="session")
def bot_url(rasa_server, tmp_path_factory):
    port = service.free_port()
    env = dict(
        os.environ, RASA_URL=rasa_server.url, RASA_TOKEN=rasa_server.token, BOT_PORT=str(port)
    )
    log_file = tmp_path_factory.mktemp("bot") / "bot.log"
    with open(log_file, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/livez", process, 60)
    except RuntimeError:
        process.kill()
        print(log_file.read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    yield url
    process.terminate()
    process.wait(timeout=15)
    # The bot's log must never contain what users wrote (privacy by default).
    logged = log_file.read_text(errors="replace")
    assert "oppilaskuntaan" not in logged and "youth council" not in logged
