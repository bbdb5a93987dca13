"""`python -m bot.storage.migrate [--url URL]`: bring the database schema to the newest revision.

Run once per deployment (not by every replica at start-up, where they would race).
The run command calls it for the default SQLite database.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from bot.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from bot.storage.database import create_database_engine, resolve_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def migrated_sqlite_url(folder: Path) -> str:
    """A new SQLite file in `folder`, migrated to the newest revision; its URL."""
    url = f"sqlite:///{folder / 'assistant.db'}"
    engine = create_database_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url


@contextmanager
def scratch_schema(postgres_url: str, prefix: str) -> Iterator[str]:
    """A migrated PostgreSQL schema of its own, dropped afterwards; yields the URL that
    selects it for any process (tests and the benchmark share one server this way).

    Raises OperationalError, before anything is created, when no server answers.
    """
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(resolve_url(postgres_url))
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in postgres_url else "?"
        url = f"{postgres_url}{separator}options={quote(f'-csearch_path={schema}')}"
        engine = create_database_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        try:
            yield url
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(DEFAULT_CONFIG_PATH))
    parser.add_argument("--url", help="database URL (default: config database.url)")
    args = parser.parse_args(argv)
    try:
        url = args.url or load_config(args.config).database.url
        engine = create_database_engine(url)
        upgrade(engine)
    except (ConfigError, OperationalError) as error:
        print(f"error: migration failed: {error}", file=sys.stderr)
        return 2
    print(f"Database schema is up to date ({engine.url.render_as_string(hide_password=True)}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
