"""Direct Line conversations and their activity logs: in the database, shared by all replicas.

The watermark is the number of activities a client has seen, as in Direct Line
3.0; activity ids are `<conversation>|<seq>`. The log lives in the database
(`SqlConversationLog`), so any bot process can answer any request of any
conversation: no sticky sessions. `MemoryConversationLog` has the same
behaviour in process memory, for unit tests.

A turn's message and replies are appended together with the conversation state
they lead to (`append(..., state=...)`), in one transaction: a reply is never in
the log without its state, and a state whose e-tag is stale writes neither.

Streaming clients (WebSocket) wait on `changed(conversation_id)`: a process
wakes its own sockets at once when it appends, and `watch()` notices what other
processes appended, with one query per poll for all of this process's open
streams.

Transcripts contain what users wrote, so conversations idle longer than the
time-to-live are treated as gone and deleted (`expire`, also run by
`python -m bot.manage purge`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from botbuilder.core import Storage
from sqlalchemy import Engine, Executable, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.storage.database import require_tables, run_blocking, session_factory
from bot.storage.models import DirectLineActivityRecord, DirectLineConversationRecord
from bot.storage.state import REPLACE, new_e_tag, stored_form, write_state

logger = logging.getLogger(__name__)

Activity = dict[str, Any]
State = dict[str, Any]
# Rows of other tables a turn writes in its transaction: (insert statement, rows).
Rows = Sequence[tuple[Executable, list[dict[str, Any]]]]
APPEND_ATTEMPTS = 5
CONVERSATIONS = DirectLineConversationRecord.__table__
ACTIVITIES = DirectLineActivityRecord.__table__

# The statements of every turn, built once (building them per call cost about
# as much as running them).
_TAKE_PLACES = (
    update(CONVERSATIONS)
    .where(CONVERSATIONS.c.id == bindparam("p_id"))
    .values(last_used_at=bindparam("p_now"), length=CONVERSATIONS.c.length + bindparam("p_count"))
    .returning(CONVERSATIONS.c.length)
)
_NEW_CONVERSATION = insert(CONVERSATIONS)
_NEW_ACTIVITIES = insert(ACTIVITIES)


def new_conversation_id() -> str:
    return secrets.token_urlsafe(18)


def activity_id(conversation_id: str, seq: int) -> str:
    return f"{conversation_id}|{seq:07d}"


def _stored(activity: Activity) -> str:
    return json.dumps(activity, ensure_ascii=False)


def _number(
    conversation_id: str, activities: list[Activity], start: int, reply_to_first: bool
) -> list[str]:
    """Give appended activities their ids from place `start` on (see `append`); the ids.

    Replies name the first activity in replyToId afresh each time: a retried append
    gets new places.
    """
    ids = []
    for offset, activity in enumerate(activities):
        activity["id"] = activity_id(conversation_id, start + offset)
        if reply_to_first and offset:
            activity["replyToId"] = ids[0]
        ids.append(activity["id"])
    return ids


class ConversationLog:
    """What the Direct Line endpoints need; change notification is shared by both stores."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self._watchers: dict[str, int] = {}

    async def create(self, conversation_id: str | None = None) -> str:
        raise NotImplementedError

    async def length(self, conversation_id: str) -> int | None:
        """How many activities the conversation has; None when it does not exist (or expired)."""
        raise NotImplementedError

    async def append(
        self,
        conversation_id: str,
        activities: list[Activity],
        state: State | None = None,
        reply_to_first: bool = False,
        also: Rows = (),
    ) -> list[str]:
        """Append in order, giving each its id; returns the ids.

        `state`: conversation state changes (botbuilder storage items) to write
        with the activities, all or nothing: a turn's state and its replies.
        `reply_to_first`: the first activity is a user's message and the others
        answer it: they name its id (known only here) in replyToId.
        `also`: rows of other tables in the same transaction (the turn's
        unanswered question, bot/storage/records.py); only a log in the database
        takes them.
        """
        raise NotImplementedError

    async def since(self, conversation_id: str, watermark: int) -> tuple[list[Activity], int]:
        """Activities after the watermark and the new watermark.

        A watermark past the end (a client of a conversation whose log was lost)
        returns the whole log, so nothing is missed.
        """
        raise NotImplementedError

    async def ensure(self, conversation_id: str) -> None:
        """The conversation exists: a valid token proves the right to its id."""
        if await self.length(conversation_id) is None:
            await self.create(conversation_id)

    # -- change notification for streams ---------------------------------------------------

    def subscribe(self, conversation_id: str) -> asyncio.Event:
        self._watchers[conversation_id] = self._watchers.get(conversation_id, 0) + 1
        return self._events.setdefault(conversation_id, asyncio.Event())

    def unsubscribe(self, conversation_id: str) -> None:
        left = self._watchers.get(conversation_id, 1) - 1
        if left <= 0:
            self._watchers.pop(conversation_id, None)
            self._events.pop(conversation_id, None)
        else:
            self._watchers[conversation_id] = left

    def _notify(self, conversation_id: str) -> None:
        event = self._events.get(conversation_id)
        if event is not None:
            event.set()

    async def watch(self, poll_seconds: float) -> None:
        """Wake local streams for what other processes appended (the memory store needs none)."""


class MemoryConversationLog(ConversationLog):
    """In process memory, bounded in count and time: for unit tests and a single process."""

    def __init__(self, max_conversations: int, ttl_seconds: int, state_storage: Storage) -> None:
        """`state_storage`: where the bot keeps conversation state, so that a turn's
        state written with its replies is the state the bot reads next."""
        super().__init__()
        self._state_storage = state_storage
        self._logs: OrderedDict[str, list[Activity]] = OrderedDict()
        self._used: dict[str, float] = {}
        self._max = max_conversations
        self._ttl = ttl_seconds

    async def create(self, conversation_id: str | None = None) -> str:
        self._expire()
        conversation_id = conversation_id or new_conversation_id()
        self._logs[conversation_id] = []
        self._used[conversation_id] = time.time()
        while len(self._logs) > self._max:
            old, _ = self._logs.popitem(last=False)
            self._used.pop(old, None)
        return conversation_id

    async def length(self, conversation_id: str) -> int | None:
        self._expire()
        log = self._logs.get(conversation_id)
        return None if log is None else len(log)

    async def append(
        self,
        conversation_id: str,
        activities: list[Activity],
        state: State | None = None,
        reply_to_first: bool = False,
        also: Rows = (),
    ) -> list[str]:
        if also:
            raise ValueError("rows of other tables need a conversation log in the database")
        if state:
            await self._state_storage.write(state)
        log = self._logs.setdefault(conversation_id, [])
        ids = _number(conversation_id, activities, len(log), reply_to_first)
        log.extend(activities)
        self._used[conversation_id] = time.time()
        self._notify(conversation_id)
        return ids

    async def since(self, conversation_id: str, watermark: int) -> tuple[list[Activity], int]:
        log = self._logs.get(conversation_id, [])
        if watermark > len(log):
            watermark = 0
        return list(log[watermark:]), len(log)

    def _expire(self) -> None:
        cutoff = time.time() - self._ttl
        for key in [k for k, used in self._used.items() if used < cutoff]:
            self._logs.pop(key, None)
            self._used.pop(key, None)


class SqlConversationLog(ConversationLog):
    """In the database (SQLite or PostgreSQL): every replica sees every conversation."""

    def __init__(self, engine: Engine, ttl_seconds: int) -> None:
        super().__init__()
        require_tables(
            engine,
            DirectLineConversationRecord.__tablename__,
            DirectLineActivityRecord.__tablename__,
        )
        self._engine = engine
        self._ttl = timedelta(seconds=ttl_seconds)
        self._seen: dict[str, int] = {}
        self._usual = SqliteTurnWrite(engine) if engine.dialect.name == "sqlite" else None

    # Plain statements on connections (no ORM unit of work): these run on every turn.

    async def create(self, conversation_id: str | None = None) -> str:
        conversation_id = conversation_id or new_conversation_id()
        await run_blocking(self._engine, self._create, conversation_id)
        return conversation_id

    def _create(self, conversation_id: str) -> None:
        now = datetime.now(UTC)
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    _NEW_CONVERSATION,
                    {"id": conversation_id, "created_at": now, "last_used_at": now, "length": 0},
                )
        except IntegrityError:
            pass  # created by another request or process a moment ago: the same result

    async def length(self, conversation_id: str) -> int | None:
        return await run_blocking(self._engine, self._length, conversation_id)

    def _length(self, conversation_id: str) -> int | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(CONVERSATIONS.c.last_used_at, CONVERSATIONS.c.length).where(
                    CONVERSATIONS.c.id == conversation_id
                )
            ).first()
        if row is None or _aware(row.last_used_at) < datetime.now(UTC) - self._ttl:
            return None
        return row.length

    async def append(
        self,
        conversation_id: str,
        activities: list[Activity],
        state: State | None = None,
        reply_to_first: bool = False,
        also: Rows = (),
    ) -> list[str]:
        ids = await run_blocking(
            self._engine, self._append, conversation_id, activities, state, reply_to_first, also
        )
        self._notify(conversation_id)
        return ids

    def _append(
        self,
        conversation_id: str,
        activities: list[Activity],
        state: State | None,
        reply_to_first: bool,
        also: Rows,
    ) -> list[str]:
        """One transaction of two plain statements (no ORM unit of work: this is on every turn).

        The conversation row's `length` is raised first, which returns where the new
        activities go and, in PostgreSQL, locks the row until the commit, so two
        processes appending to one conversation take turns. The row is created when
        it is missing (a token proved the right to the id); two processes creating
        it at once: the loser retries. Rows of other tables (`also`) go in the same
        transaction.
        """
        if self._usual is not None and state and activities:
            try:
                return self._usual.append(conversation_id, activities, state, reply_to_first, also)
            except UnusualTurn:
                pass  # rolled back: the general way below handles every case
        count = len(activities)
        for attempt in range(APPEND_ATTEMPTS):
            now = datetime.now(UTC)
            try:
                with self._engine.begin() as connection:
                    if state:
                        write_state(connection, state)  # first: a stale e-tag stops it all
                    for statement, rows in also:
                        connection.execute(statement, rows)
                    if not activities:
                        return []
                    end = connection.scalar(
                        _TAKE_PLACES, {"p_id": conversation_id, "p_now": now, "p_count": count}
                    )
                    if end is None:
                        connection.execute(
                            _NEW_CONVERSATION,
                            {
                                "id": conversation_id,
                                "created_at": now,
                                "last_used_at": now,
                                "length": count,
                            },
                        )
                        end = count
                    start = end - count
                    ids = _number(conversation_id, activities, start, reply_to_first)
                    rows = [
                        {
                            "conversation_id": conversation_id,
                            "seq": start + offset,
                            "data": _stored(activity),
                            "created_at": now,
                        }
                        for offset, activity in enumerate(activities)
                    ]
                    connection.execute(_NEW_ACTIVITIES, rows)
                return ids
            except IntegrityError:
                if attempt == APPEND_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def since(self, conversation_id: str, watermark: int) -> tuple[list[Activity], int]:
        return await run_blocking(self._engine, self._since, conversation_id, watermark)

    def _since(self, conversation_id: str, watermark: int) -> tuple[list[Activity], int]:
        with self._engine.connect() as connection:
            total = connection.scalar(_stored_length(conversation_id)) or 0
            if watermark > total:
                watermark = 0
            rows = connection.scalars(
                select(ACTIVITIES.c.data)
                .where(
                    ACTIVITIES.c.conversation_id == conversation_id,
                    ACTIVITIES.c.seq >= watermark,
                    ACTIVITIES.c.seq < total,
                )
                .order_by(ACTIVITIES.c.seq)
            ).all()
        return [json.loads(row) for row in rows], total

    async def watch(self, poll_seconds: float) -> None:
        while True:
            await asyncio.sleep(poll_seconds)
            watched = list(self._watchers)
            if not watched:
                continue
            try:
                counts = await run_blocking(self._engine, self._counts, watched)
            except Exception as error:  # noqa: BLE001 - keep watching through a database blip
                logger.warning("stream watcher: %s", type(error).__name__)
                continue
            for conversation_id, count in counts.items():
                if count != self._seen.get(conversation_id):
                    self._seen[conversation_id] = count
                    self._notify(conversation_id)
            for gone in set(self._seen) - set(watched):
                self._seen.pop(gone, None)

    def _counts(self, conversation_ids: list[str]) -> dict[str, int]:
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(CONVERSATIONS.c.id, CONVERSATIONS.c.length).where(
                    CONVERSATIONS.c.id.in_(conversation_ids)
                )
            ).all()
        return {conversation_id: length for conversation_id, length in rows}


def _stored_length(conversation_id: str):
    return select(CONVERSATIONS.c.length).where(CONVERSATIONS.c.id == conversation_id)


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; they were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def expire_conversations(engine: Engine, idle: timedelta, now: datetime) -> int:
    """Delete transcripts of conversations idle longer than `idle`; returns how many."""
    cutoff = now - idle
    with session_factory(engine).begin() as session:
        old = select(DirectLineConversationRecord.id).where(
            DirectLineConversationRecord.last_used_at < cutoff
        )
        session.execute(
            delete(DirectLineActivityRecord).where(
                DirectLineActivityRecord.conversation_id.in_(old.scalar_subquery())
            )
        )
        return session.execute(
            delete(DirectLineConversationRecord).where(
                DirectLineConversationRecord.last_used_at < cutoff
            )
        ).rowcount


class UnusualTurn(Exception):
    """Not a turn `SqliteTurnWrite` writes: the general way must."""


def _positional(statement: Executable, engine: Engine, columns: list[str] | None = None):
    """The statement's SQL for the engine, and the order its parameters go in."""
    compiled = statement.compile(dialect=engine.dialect, column_keys=columns)
    return compiled.string, tuple(compiled.positiontup or ())


class SqliteTurnWrite:
    """A question's turn written on SQLite's own connection: the statements the general
    way runs, compiled once by SQLAlchemy, without its per-statement machinery.

    Why: the write is the one step between the NLU's answer and the reply that
    must finish first, and it runs on a process that has idled through the
    parse. There SQLAlchemy's execution of the three statements took 1.3 ms
    where the same statements on the driver's cursor take 0.5 ms (0.52 and
    0.21 ms back to back; docs/benchmark.md).

    Only the usual turn: the conversation's row exists and every state item
    carries the e-tag it was read with, still current. Anything else (the
    welcome's first state, a row gone, a stale e-tag, a clash) raises
    `UnusualTurn` with nothing written, and `SqlConversationLog` writes the turn
    the general way, which knows every case. SQLite only: PostgreSQL's turn is
    set by its round trips, not by this.
    """

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.paramstyle != "qmark":
            raise ValueError("SqliteTurnWrite needs the sqlite3 driver's ? parameters")
        self._engine = engine
        self._replace = _positional(REPLACE, engine)
        self._take_places = _positional(_TAKE_PLACES, engine)
        self._insert = _positional(
            _NEW_ACTIVITIES, engine, ["conversation_id", "seq", "data", "created_at"]
        )
        self._time = ACTIVITIES.c.created_at.type.dialect_impl(engine.dialect).bind_processor(
            engine.dialect
        )
        self._other_inserts: dict[tuple[Executable, tuple[str, ...]], tuple] = {}

    def append(
        self,
        conversation_id: str,
        activities: list[Activity],
        state: State,
        reply_to_first: bool,
        also: Rows = (),
    ) -> list[str]:
        now = self._time(datetime.now(UTC))
        # The pool's connection without SQLAlchemy's transaction bookkeeping: about a
        # third of what was left of the write's cost.
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                ids = self._write(cursor, conversation_id, activities, state, reply_to_first, now)
                for statement, rows in also:
                    self._insert_rows(cursor, statement, rows)
            finally:
                cursor.close()
            connection.commit()
            return ids
        except sqlite3.Error as error:
            # A clash, a locked file: the general way retries, and reports what lasts
            # as SQLAlchemy's error, which the turn's error handler knows.
            connection.rollback()
            raise UnusualTurn(type(error).__name__) from error
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()  # back to the pool

    def _write(
        self,
        cursor,
        conversation_id: str,
        activities: list[Activity],
        state: State,
        reply_to_first: bool,
        now: str,
    ) -> list[str]:
        for key, value in state.items():
            data, expected = stored_form(value)
            if expected in (None, "*"):
                raise UnusualTurn("a state item without the e-tag it was read with")
            values = {
                "p_key": key,
                "p_data": data,
                "p_tag": new_e_tag(),
                "p_now": now,
                "p_expected": expected,
            }
            self._run(cursor, self._replace, values)
            if cursor.rowcount != 1:
                raise UnusualTurn("a state item new or changed since it was read")
        count = len(activities)
        places = {"p_id": conversation_id, "p_now": now, "p_count": count}
        ends = self._run(cursor, self._take_places, places).fetchall()
        if not ends:
            raise UnusualTurn("no row for the conversation")
        start = ends[0][0] - count
        ids = _number(conversation_id, activities, start, reply_to_first)
        sql, _ = self._insert
        rows = [
            (conversation_id, start + offset, _stored(activity), now)
            for offset, activity in enumerate(activities)
        ]
        cursor.executemany(sql, rows)
        return ids

    def _insert_rows(self, cursor, statement: Executable, rows: list[dict[str, Any]]) -> None:
        """Another table's insert (compiled once), its values through the columns' types."""
        columns = tuple(rows[0])
        compiled = self._other_inserts.get((statement, columns))
        if compiled is None:
            sql, order = _positional(statement, self._engine, list(columns))
            dialect = self._engine.dialect
            table = statement.table  # type: ignore[attr-defined]
            processors = [
                table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order
            ]
            compiled = self._other_inserts[(statement, columns)] = (sql, order, processors)
        sql, order, processors = compiled
        cursor.executemany(
            sql,
            [
                tuple(
                    process(row[name]) if process else row[name]
                    for name, process in zip(order, processors, strict=True)
                )
                for row in rows
            ],
        )

    @staticmethod
    def _run(cursor, statement: tuple[str, tuple[str, ...]], values: dict[str, Any]):
        sql, order = statement
        return cursor.execute(sql, tuple(values[name] for name in order))
