"""`python -m bot.storage.migrate [--url URL]`: bring the database schema to the newest revision.

Run once per deployment (not by every replica at start-up, where they would race).
The run command calls it for the default SQLite database.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from bot.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from bot.storage.database import create_database_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


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
