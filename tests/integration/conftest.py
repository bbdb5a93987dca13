"""Real services for integration tests: the trained Rasa model served by Rasa, the bot
started as its own process (`python -m bot`), both on free loopback ports, and migrated
databases: SQLite files, and PostgreSQL schemas.

PostgreSQL: TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test;
each user works in a schema of its own, dropped afterwards. Where no server
answers, those tests are skipped with the reason shown in the summary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from bot.process import spawn_bot
from bot.storage.database import create_database_engine
from bot.storage.migrate import migrated_sqlite_url, scratch_schema
from nlu import service

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


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


def start_bot(
    rasa_server, database_url: str, log_file: Path, **settings: str
) -> tuple[subprocess.Popen, str]:
    """Start `python -m bot` on a free port against Rasa and a migrated database.

    `settings` are more environment variables; without a MICROSOFT_APP_ID among
    them the bot runs with the development setting (Bot Framework auth off).
    """
    port = int(settings.pop("BOT_PORT", 0)) or service.free_port()
    defaults = dict(
        DIRECTLINE_TOKEN_SECRET="integration-tests",
        BOT_ALLOW_UNAUTHENTICATED="false" if "MICROSOFT_APP_ID" in settings else "true",
        # Every test client shares 127.0.0.1 and the evaluation opens hundreds of
        # conversations: per-address limits off unless a test sets them.
        RATE_LIMIT_PER_ADDRESS="0",
        RATE_LIMIT_NEW_CONVERSATIONS="0",
    )
    process, url = spawn_bot(
        rasa_server.url,
        rasa_server.token,
        database_url,
        port,
        log_file,
        **{**defaults, **settings},
    )
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
    return migrated_sqlite_url(tmp_path_factory.mktemp("db"))


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


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory):
    engine = create_database_engine(migrated_sqlite_url(tmp_path_factory.mktemp("db")))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def postgres_url():
    """A migrated PostgreSQL schema of its own; the URL selects it for any process."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(scratch_schema(PG_URL, "kasko_test"))
        except OperationalError as error:
            pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {type(error).__name__}")
        yield url


@pytest.fixture(scope="module")
def postgres_engine(postgres_url):
    engine = create_database_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request):
    """Each test that takes `engine` runs on SQLite and on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_engine")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="browser tests: Debian's chromium is not installed (./scripts/test installs it)",
)


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium under Playwright's sync API, once per module.

    The sync API holds the event loop while it runs: in a module, put async tests
    before the browser tests.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def stand_ins():
    """The Bot Framework's cloud side on loopback (botframework_standins.py)."""
    from tests.integration.botframework_standins import StandIns

    stand_ins = StandIns()
    stand_ins.start()
    yield stand_ins
    stand_ins.stop()
