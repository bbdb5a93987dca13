"""`python -m bot.manage`: the staff's maintenance commands.

    purge            delete records older than their retention period (config `retention:`)
    erase REFERENCE  erase one feedback (e.g. on the user's request) by its reference code

Run them where the service's config and DATABASE_URL are; they print what they
did and exit non-zero, with a clear message, when they could not.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from bot.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from bot.storage.database import SchemaNotReady, create_database_engine, require_tables
from bot.storage.models import FeedbackRecord
from bot.storage.retention import erase_feedback, purge


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.manage", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--config", default=str(DEFAULT_CONFIG_PATH))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("purge", help="delete records older than their retention period")
    erase = commands.add_parser("erase", help="erase one feedback by its reference code")
    erase.add_argument("reference")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        engine = create_database_engine(config.database.url)
        require_tables(engine, FeedbackRecord.__tablename__)
        if args.command == "purge":
            counts = purge(engine, config.retention, datetime.now(UTC))
            print("Purged: " + ", ".join(f"{kind} {n}" for kind, n in counts.items()))
            return 0
        if erase_feedback(engine, args.reference):
            print(f"Erased feedback {args.reference.strip().upper()}.")
            return 0
        print(f"No feedback with reference {args.reference!r}.", file=sys.stderr)
        return 1
    except (ConfigError, SchemaNotReady, SQLAlchemyError) as error:
        print(f"error: {type(error).__name__}: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
