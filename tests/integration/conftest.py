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

from bot.storage.database import create_database_engine
from bot.storage.migrate import upgrade
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


def start_bot(rasa_server, database_url: str, log_file: Path) -> tuple[subprocess.Popen, str]:
    """Start `python -m bot` on a free port against Rasa and a migrated database."""
    port = service.free_port()
    env = dict(
        os.environ,
        RASA_URL=rasa_server.url,
        RASA_TOKEN=rasa_server.token,
        BOT_PORT=str(port),
        DATABASE_URL=database_url,
        DIRECTLINE_TOKEN_SECRET="integration-tests",
    )
    with open(log_file, "ab") as log:
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
    return process, url


def stop_bot(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=15)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """A migrated SQLite database for the bot processes of this test session."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'assistant.db'}"
    engine = create_database_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def bot_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bot") / "bot.log"


@pytest.fixture(scope="session")
def bot_url(rasa_server, database_url, bot_log):
    process, url = start_bot(rasa_server, database_url, bot_log)
    yield url
    stop_bot(process)
    # The bot's log must never contain what users wrote (privacy by default).
    logged = bot_log.read_text(errors="replace")
    assert "oppilaskuntaan" not in logged and "youth council" not in logged
