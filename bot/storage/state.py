"""botbuilder `Storage` in the database, with e-tag optimistic concurrency.

Conversation and user state survive a bot restart, and two bot processes that
share the database serve the same conversation. Every write gets a fresh
e-tag; a write that carries an older e-tag than the stored one is refused
(`StateConflict`), as botbuilder's other storages do, so a slower turn can
never silently overwrite a newer one. Values are JSON: the bot keeps its state
as plain dicts (dialogs/state.py).

SQLAlchemy runs synchronously off the event loop (`run_blocking`): the calls are
short and this keeps one code path for SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from botbuilder.core import Storage
from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.storage.database import autocommit_on_postgresql, require_tables, run_blocking
from bot.storage.models import BotStateRecord

E_TAG = "e_tag"
STATE = BotStateRecord.__table__

# Built once: these run in every turn, and building them cost about as much as running them.
_READ = select(STATE.c.key, STATE.c.data, STATE.c.e_tag).where(
    STATE.c.key.in_(bindparam("p_keys", expanding=True))
)
# A turn reads one key: `=` needs no expanding of the statement for each call, as `IN` does.
_READ_ONE = select(STATE.c.key, STATE.c.data, STATE.c.e_tag).where(
    STATE.c.key == bindparam("p_key")
)
_NEW_VALUES = {
    "data": bindparam("p_data"),
    "e_tag": bindparam("p_tag"),
    "updated_at": bindparam("p_now"),
}
_OVERWRITE = update(STATE).where(STATE.c.key == bindparam("p_key")).values(_NEW_VALUES)
# The usual write: the item as it was read, matched by its e-tag.
REPLACE = (
    update(STATE)
    .where(STATE.c.key == bindparam("p_key"), STATE.c.e_tag == bindparam("p_expected"))
    .values(_NEW_VALUES)
)
_EXISTS = select(STATE.c.key).where(STATE.c.key == bindparam("p_key"))
_CREATE = insert(STATE).values(key=bindparam("p_key"), **_NEW_VALUES)


class StateConflict(KeyError):
    """The stored item changed since it was read (e-tag mismatch)."""


class SqlStorage(Storage):
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        require_tables(engine, BotStateRecord.__tablename__)
        self._engine = engine
        self._reader = autocommit_on_postgresql(engine)  # a read is one statement

    async def read(self, keys: list[str]) -> dict[str, Any]:
        if not keys:
            return {}
        return await run_blocking(self._engine, self._read, list(keys))

    async def write(self, changes: dict[str, Any]) -> None:
        if changes is None:
            raise ValueError("changes are required when writing")
        if changes:
            await run_blocking(self._engine, self._write, dict(changes))

    async def delete(self, keys: list[str]) -> None:
        if keys:
            await run_blocking(self._engine, self._delete, list(keys))

    # Plain statements on a connection, not the ORM's unit of work: these run
    # twice in every turn, and the ORM's bookkeeping cost more than the SQL.

    def _read(self, keys: list[str]) -> dict[str, Any]:
        with self._reader.connect() as connection:
            if len(keys) == 1:
                rows = connection.execute(_READ_ONE, {"p_key": keys[0]})
            else:
                rows = connection.execute(_READ, {"p_keys": keys})
            result = {}
            for key, data, e_tag in rows:
                value = json.loads(data)
                if isinstance(value, dict):
                    value[E_TAG] = e_tag
                result[key] = value
            return result

    def _write(self, changes: dict[str, Any]) -> None:
        with self._engine.begin() as connection:
            write_state(connection, changes)

    def _delete(self, keys: list[str]) -> None:
        with self._engine.begin() as connection:
            connection.execute(delete(STATE).where(STATE.c.key.in_(keys)))


def write_state(connection: Connection, changes: dict[str, Any]) -> None:
    """Write state items in the caller's transaction, each checked against its e-tag.

    Also used by the Direct Line log, which writes a turn's state and its replies
    in one transaction.
    """
    for key, value in changes.items():
        data, expected = stored_form(value)
        _write_one(connection, key, data, expected)


def stored_form(value: Any) -> tuple[str, str | None]:
    """A state item as stored: its JSON without the e-tag, and the e-tag it was read with."""
    if not isinstance(value, dict):
        raise TypeError("SqlStorage stores plain dicts (JSON) only")
    return json.dumps({k: v for k, v in value.items() if k != E_TAG}), value.get(E_TAG)


def new_e_tag() -> str:
    return secrets.token_hex(16)  # as random as a uuid4, without building one


def _write_one(connection: Connection, key: str, data: str, expected: str | None) -> None:
    values = {
        "p_key": key,
        "p_data": data,
        "p_tag": new_e_tag(),
        "p_now": datetime.now(UTC),
    }
    if expected in (None, "*"):
        updated = connection.execute(_OVERWRITE, values).rowcount
    else:
        updated = connection.execute(REPLACE, {**values, "p_expected": expected}).rowcount
    if updated:
        return
    if connection.scalar(_EXISTS, {"p_key": key}) is not None:
        raise StateConflict(f"e-tag conflict writing state {key!r}")
    try:
        with connection.begin_nested():
            connection.execute(_CREATE, values)
    except IntegrityError as error:
        # Another process created the item between our update and insert.
        raise StateConflict(f"concurrent creation of state {key!r}") from error
