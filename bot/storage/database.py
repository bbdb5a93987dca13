"""The database: SQLAlchemy 2 engine and sessions from one URL (SQLite default, PostgreSQL).

Sessions are owned by callers (storage classes), never opened inside model code.
The schema is created and changed only by migrations (`python -m bot.storage.migrate`).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, sessionmaker

from bot.config import PROJECT_ROOT


class Base(DeclarativeBase):
    """Base class of the typed models."""


class SchemaNotReady(RuntimeError):
    """The database has not been migrated to the schema this code needs."""


def resolve_url(url: str) -> str:
    """Relative SQLite paths are taken from the project root, and their folder is created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        if not path.is_absolute():
            path = PROJECT_ROOT / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return str(parsed.set(database=str(path)))
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        return str(parsed.set(drivername="postgresql+psycopg"))
    return url


def create_database_engine(url: str) -> Engine:
    """An engine; SQLite gets WAL and a busy timeout so two processes can share the file.

    `hide_parameters`: database errors and logs never show the values of a
    statement, which can be what a user wrote.
    """
    resolved = resolve_url(url)
    if make_url(resolved).get_backend_name() == "sqlite":
        engine = create_engine(resolved, connect_args={"timeout": 15}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):  # noqa: ANN001
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # WAL with synchronous=NORMAL: no fsync per commit; a power cut can lose
            # the last moments but never corrupts the file. Production uses PostgreSQL.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

        return engine
    return create_engine(resolved, pool_pre_ping=True, hide_parameters=True)


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def require_tables(engine: Engine, *tables: str) -> None:
    """Fail early, with the command to run, when migrations have not been applied."""
    present = set(inspect(engine).get_table_names())
    missing = [t for t in tables if t not in present]
    if missing:
        raise SchemaNotReady(
            f"database tables missing ({', '.join(missing)}): run "
            "'.venv/bin/python -m bot.storage.migrate' (the run command does it for SQLite)"
        )
