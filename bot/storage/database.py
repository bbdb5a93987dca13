"""The database: SQLAlchemy 2 engine and sessions from one URL (SQLite default, PostgreSQL).

Sessions are owned by callers (storage classes), never opened inside model code.
The schema is created and changed only by migrations (`python -m bot.storage.migrate`).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.dialects import postgresql, sqlite
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
            # SQLite's lower() folds ASCII only, so a case-blind search (ILIKE, which
            # SQLAlchemy writes as lower() LIKE lower() here) missed "KYLMÄÄ" for
            # "kylmää". Python's folds every letter, as PostgreSQL's ILIKE does.
            connection.create_function("lower", 1, _lower, deterministic=True)

        return engine
    return create_engine(resolved, pool_pre_ping=True, hide_parameters=True)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


T = TypeVar("T")


async def run_blocking(engine: Engine, call: Callable[..., T], *args: Any) -> T:
    """Run a blocking database call without holding up the event loop needlessly.

    PostgreSQL calls run in the default thread pool, in parallel: they wait on
    the network.

    SQLite calls run right here, on the event loop. SQLite is in-process and the
    statements of a turn take tens of microseconds; handing each to a thread and
    waking the loop when it is done cost more than the statement (the bot's CPU
    per turn fell by 0.5-1 ms when a turn's three calls moved here:
    docs/benchmark.md). Run
    one at a time on one thread, a process's writes never meet SQLite's busy
    handler, which made concurrent writers sleep in steps of milliseconds when
    they ran in a pool. The handler is still there for a second process on the
    same file (a `bot.manage` command, a staff page's thread): then the loop
    waits with the write, as briefly as that process holds the file. SQLite is
    the one-process setting; replicas use PostgreSQL.
    """
    if engine.dialect.name == "sqlite":
        return call(*args)
    loop = asyncio.get_running_loop()
    bound = functools.partial(contextvars.copy_context().run, call, *args)
    return await loop.run_in_executor(None, bound)


def upsert_dialect_insert(engine: Engine) -> Callable[..., Any]:
    """The engine's dialect `insert`, the one with `on_conflict_do_update/nothing`."""
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


def autocommit_on_postgresql(engine: Engine) -> Engine:
    """For calls that need no transaction around their statements (a read, a counter).

    On PostgreSQL each statement then commits by itself: no BEGIN and no COMMIT
    or ROLLBACK round trips, two of the four or five such a call costs. SQLite
    gains nothing (its transactions are in-process) and pays for switching the
    connection's mode, so it keeps the engine as it is. The result shares the
    engine's pool; give `run_blocking` the engine itself.
    """
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


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
