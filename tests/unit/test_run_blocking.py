"""Where database calls run (bot/storage/database.py `run_blocking`).

A real SQLite file; the PostgreSQL engine is only created, never connected.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading

from sqlalchemy import text

from bot.storage.database import create_database_engine, run_blocking

REQUEST = contextvars.ContextVar("request", default=None)


def thread_name() -> str:
    return threading.current_thread().name


async def test_sqlite_writes_queue_in_one_thread_in_order(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path / 'queue.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE log (n INTEGER)"))

    def write(n: int) -> str:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO log VALUES (:n)"), {"n": n})
        return thread_name()

    names = await asyncio.gather(*(run_blocking(engine, write, n) for n in range(30)))
    assert len(set(names)) == 1 and names[0].startswith("sqlite")
    assert names[0] != thread_name()
    with engine.connect() as connection:
        stored = [n for (n,) in connection.execute(text("SELECT n FROM log ORDER BY rowid"))]
    assert stored == list(range(30))  # in the order they were asked for
    engine.dispose()


async def test_sqlite_reads_and_postgresql_calls_use_the_shared_pool(tmp_path):
    sqlite = create_database_engine(f"sqlite:///{tmp_path / 'reads.db'}")
    postgres = create_database_engine("postgresql://nobody@127.0.0.1:1/never")
    assert not (await run_blocking(sqlite, thread_name, reads=True)).startswith("sqlite")
    assert not (await run_blocking(postgres, thread_name)).startswith("sqlite")
    sqlite.dispose()


async def test_the_callers_context_goes_along(tmp_path):
    """Request ids in logs come from context variables; they must reach the thread."""
    engine = create_database_engine(f"sqlite:///{tmp_path / 'context.db'}")
    REQUEST.set("req-1")
    assert await run_blocking(engine, REQUEST.get) == "req-1"
    assert await run_blocking(engine, REQUEST.get, reads=True) == "req-1"
    engine.dispose()
