"""botbuilder `Storage` in the database, with e-tag optimistic concurrency.

Conversation and user state survive a bot restart, and two bot processes that
share the database serve the same conversation. Every write gets a fresh
e-tag; a write that carries an older e-tag than the stored one is refused
(`StateConflict`), as botbuilder's other storages do, so a slower turn can
never silently overwrite a newer one. Values are JSON: the bot keeps its state
as plain dicts (dialogs/state.py).

SQLAlchemy runs synchronously in a worker thread: the calls are short and this
keeps one code path for SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from botbuilder.core import Storage
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from bot.storage.database import require_tables, session_factory
from bot.storage.models import BotStateRecord

E_TAG = "e_tag"


class StateConflict(KeyError):
    """The stored item changed since it was read (e-tag mismatch)."""


class SqlStorage(Storage):
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        require_tables(engine, BotStateRecord.__tablename__)
        self._sessions = session_factory(engine)

    async def read(self, keys: list[str]) -> dict[str, Any]:
        if not keys:
            return {}
        return await asyncio.to_thread(self._read, list(keys))

    async def write(self, changes: dict[str, Any]) -> None:
        if changes is None:
            raise ValueError("changes are required when writing")
        if changes:
            await asyncio.to_thread(self._write, dict(changes))

    async def delete(self, keys: list[str]) -> None:
        if keys:
            await asyncio.to_thread(self._delete, list(keys))

    def _read(self, keys: list[str]) -> dict[str, Any]:
        with self._sessions() as session:
            rows = session.scalars(select(BotStateRecord).where(BotStateRecord.key.in_(keys)))
            result = {}
            for row in rows:
                value = json.loads(row.data)
                if isinstance(value, dict):
                    value[E_TAG] = row.e_tag
                result[row.key] = value
            return result

    def _write(self, changes: dict[str, Any]) -> None:
        with self._sessions.begin() as session:
            for key, value in changes.items():
                if not isinstance(value, dict):
                    raise TypeError("SqlStorage stores plain dicts (JSON) only")
                expected = value.get(E_TAG)
                data = json.dumps({k: v for k, v in value.items() if k != E_TAG})
                self._write_one(session, key, data, expected)

    def _write_one(self, session, key: str, data: str, expected: str | None) -> None:
        now = datetime.now(UTC)
        new_tag = uuid.uuid4().hex
        condition = BotStateRecord.key == key
        if expected not in (None, "*"):
            condition = condition & (BotStateRecord.e_tag == expected)
        updated = session.execute(
            update(BotStateRecord).where(condition).values(data=data, e_tag=new_tag, updated_at=now)
        ).rowcount
        if updated:
            return
        exists = session.scalar(select(BotStateRecord.key).where(BotStateRecord.key == key))
        if exists is not None:
            raise StateConflict(f"e-tag conflict writing state {key!r}")
        try:
            with session.begin_nested():
                session.add(BotStateRecord(key=key, data=data, e_tag=new_tag, updated_at=now))
        except IntegrityError as error:
            # Another process created the item between our update and insert.
            raise StateConflict(f"concurrent creation of state {key!r}") from error

    def _delete(self, keys: list[str]) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(BotStateRecord).where(BotStateRecord.key.in_(keys)))
