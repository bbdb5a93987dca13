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


async def test_sqlite_calls_run_on_the_event_loop_one_at_a_time_in_order(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path / 'queue.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE log (n INTEGER)"))

    def write(n: int) -> str:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO log VALUES (:n)"), {"n": n})
        return thread_name()

    names = await asyncio.gather(*(run_blocking(engine, write, n) for n in range(30)))
    assert set(names) == {thread_name()}  # no hand-over to another thread
    with engine.connect() as connection:
        stored = [n for (n,) in connection.execute(text("SELECT n FROM log ORDER BY rowid"))]
    assert stored == list(range(30))  # in the order they were asked for
    engine.dispose()


async def test_postgresql_calls_leave_the_event_loop():
    postgres = create_database_engine("postgresql://nobody@127.0.0.1:1/never")
    assert await run_blocking(postgres, thread_name) != thread_name()
    postgres.dispose()


async def test_the_callers_context_goes_along(tmp_path):
    """Request ids in logs come from context variables; they must reach the thread."""
    sqlite = create_database_engine(f"sqlite:///{tmp_path / 'context.db'}")
    postgres = create_database_engine("postgresql://nobody@127.0.0.1:1/never")
    REQUEST.set("req-1")
    assert await run_blocking(sqlite, REQUEST.get) == "req-1"
    assert await run_blocking(postgres, REQUEST.get) == "req-1"
    sqlite.dispose()
    postgres.dispose()


def test_sqlite_case_blind_search_folds_finnish_and_swedish_letters(tmp_path):
    """Staff search "KYLMÄÄ" finds "kylmää" (SQLite's own lower() folds ASCII only)."""
    from sqlalchemy import literal, select

    engine = create_database_engine(f"sqlite:///{tmp_path / 'search.db'}")
    with engine.connect() as connection:
        found = connection.scalar(select(literal("Ruoka on kylmää").ilike("%KYLMÄÄ%")))
        swedish = connection.scalar(select(literal("Ångest i skolan").ilike("%ångest%")))
    assert found and swedish
    engine.dispose()
