"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import AppConfig, load_config
from content.store import ContentStore, load_content

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def config() -> AppConfig:
    # The tests' bot runs without Bot Framework credentials: the development setting.
    return load_config(ROOT / "config.yml", environ={"BOT_ALLOW_UNAUTHENTICATED": "true"})


@pytest.fixture(scope="session")
def content(config: AppConfig) -> ContentStore:
    return load_content(config.content.path(), config.links)
