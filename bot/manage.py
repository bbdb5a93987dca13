"""`python -m bot.manage`: the staff's maintenance commands.

    purge                           delete records older than their retention period
    erase REFERENCE                 erase one feedback (e.g. on the user's request)
    create-admin USERNAME           the first admin of the staff app (/staff)
    add-staff USERNAME --role R     a reviewer or another admin
    reset-password USERNAME         a new password (signs the user out everywhere)

Passwords are read from the terminal without echo, or with --password-stdin
from standard input (for scripts); never from the command line.

Run them where the service's config and DATABASE_URL are; they print what they
did and exit non-zero, with a clear message, when they could not.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from bot.staff.accounts import ROLES, AccountError, Accounts
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
    for name, text in (
        ("create-admin", "create the first admin of the staff app"),
        ("add-staff", "add a staff user"),
        ("reset-password", "set a new password for a staff user"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("username")
        command.add_argument("--password-stdin", action="store_true")
        if name == "add-staff":
            command.add_argument("--role", choices=ROLES, default="reviewer")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        engine = create_database_engine(config.database.url)
        require_tables(engine, FeedbackRecord.__tablename__)
        if args.command in ("create-admin", "add-staff", "reset-password"):
            return _staff_command(args, engine)
        if args.command == "purge":
            counts = purge(
                engine,
                config.retention,
                datetime.now(UTC),
                timedelta(seconds=config.directline.conversation_ttl_seconds),
            )
            print("Purged: " + ", ".join(f"{kind} {n}" for kind, n in counts.items()))
            return 0
        if erase_feedback(engine, args.reference):
            print(f"Erased feedback {args.reference.strip().upper()}.")
            return 0
        print(f"No feedback with reference {args.reference!r}.", file=sys.stderr)
        return 1
    except AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ConfigError, SchemaNotReady, SQLAlchemyError) as error:
        print(f"error: {type(error).__name__}: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password (at least 12 characters): ")
    if getpass.getpass("Again: ") != first:
        raise AccountError("the passwords differ")
    return first


def _staff_command(args: argparse.Namespace, engine) -> int:
    accounts = Accounts(engine)
    if args.command == "reset-password":
        accounts.reset_password(args.username, _password(args.password_stdin))
        accounts.audit("manage", "password_reset", args.username)
        print(f"New password set for {args.username}.")
        return 0
    role = "admin" if args.command == "create-admin" else args.role
    accounts.create(args.username, _password(args.password_stdin), role)
    accounts.audit("manage", "user_created", args.username, role)
    print(f"Created {role} {args.username}. Sign in at /staff.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
