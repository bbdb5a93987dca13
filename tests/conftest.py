"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.config import AppConfig, load_config
from bot.ratelimit import WINDOW_SECONDS
from content.store import ContentStore, load_content

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def config() -> AppConfig:
    # The tests' bot runs without Bot Framework credentials: the development setting.
    return load_config(ROOT / "config.yml", environ={"BOT_ALLOW_UNAUTHENTICATED": "true"})


@pytest.fixture(scope="session")
def content(config: AppConfig) -> ContentStore:
    return load_content(config.content.path(), config.links)


async def one_rate_window(needed_seconds: float) -> None:
    """Wait, when fewer than `needed_seconds` of the current rate-limit window are left,
    for the next window to begin.

    Rate limits count in fixed windows of the wall clock (bot/ratelimit.py). A test
    whose requests must add up to a limit would otherwise fail when a window ends
    between them: the later requests start a new count.
    """
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < needed_seconds:
        await asyncio.sleep(left + 0.1)
