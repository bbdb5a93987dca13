"""The Direct Line conversation log in the database, on SQLite and on PostgreSQL.

The bot-level tests (test_scale_out.py, test_feedback_chat.py) use it through
HTTP; these pin down the log's own contract: places in order with no gaps, a
missing conversation row made on the first append, and the count kept on the
conversation row, also for logs written before that column existed.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bot.directline.store import SqlConversationLog, SqliteTurnWrite, UnusualTurn
from bot.storage.database import create_database_engine
from bot.storage.migrate import upgrade
from bot.storage.state import E_TAG, SqlStorage, StateConflict

DAY = 24 * 3600


def fresh_id() -> str:
    return f"log-{uuid.uuid4().hex[:12]}"


async def test_appends_take_places_in_order_and_readers_follow(engine):
    log = SqlConversationLog(engine, DAY)
    conversation = await log.create()
    assert await log.length(conversation) == 0
    first = await log.append(conversation, [{"type": "message", "text": "a"}])
    more = await log.append(conversation, [{"text": "b"}, {"text": "c"}])
    assert first + more == [f"{conversation}|{seq:07d}" for seq in range(3)]
    assert await log.length(conversation) == 3
    activities, watermark = await log.since(conversation, 1)
    assert [a["text"] for a in activities] == ["b", "c"] and watermark == 3
    # A watermark past the end (a client of a log that was lost) gets the whole log.
    activities, watermark = await log.since(conversation, 99)
    assert len(activities) == 3 and watermark == 3


async def test_concurrent_appends_to_one_conversation_leave_no_gap_and_no_twin(engine):
    log = SqlConversationLog(engine, DAY)
    conversation = fresh_id()  # no row yet: the appends race to create it, too
    batches = await asyncio.gather(
        *(log.append(conversation, [{"text": f"{n}-a"}, {"text": f"{n}-b"}]) for n in range(25))
    )
    ids = sorted(i for batch in batches for i in batch)
    assert ids == [f"{conversation}|{seq:07d}" for seq in range(50)]
    for batch in batches:  # each append's activities stay together, in order
        first = int(batch[0].rsplit("|", 1)[1])
        assert batch[1] == f"{conversation}|{first + 1:07d}"
    activities, watermark = await log.since(conversation, 0)
    assert watermark == 50 and len(activities) == 50


async def test_a_turns_state_and_replies_are_written_together_or_not_at_all(engine):
    log, storage = SqlConversationLog(engine, DAY), SqlStorage(engine)
    conversation = fresh_id()
    key = f"directline/conversations/{conversation}"
    await log.append(conversation, [{"text": "first answer"}], {key: {"step": 1}})
    stored = (await storage.read([key]))[key]
    assert stored["step"] == 1
    # A turn that read the state before that write (another replica, at the same
    # moment) carries an older e-tag: neither its state nor its reply is written.
    with pytest.raises(StateConflict):
        await log.append(
            conversation, [{"text": "lost the race"}], {key: {"step": 9, E_TAG: "old"}}
        )
    assert await log.length(conversation) == 1
    assert (await storage.read([key]))[key]["step"] == 1
    await log.append(conversation, [{"text": "next"}], {key: {"step": 2, E_TAG: stored[E_TAG]}})
    activities, _ = await log.since(conversation, 0)
    assert [a["text"] for a in activities] == ["first answer", "next"]
    assert (await storage.read([key]))[key]["step"] == 2


async def test_a_usual_turn_on_sqlite_is_stored_as_the_general_way_stores_it(sqlite_engine):
    """The lean write (SqliteTurnWrite) and the general one leave the same rows."""
    lean, general = SqlConversationLog(sqlite_engine, DAY), SqlConversationLog(sqlite_engine, DAY)
    general._usual = None  # noqa: SLF001 - the general way only, to compare with
    storage = SqlStorage(sqlite_engine)
    stored = {}
    for log in (lean, general):
        conversation = fresh_id()
        key = f"directline/conversations/{conversation}/"
        await log.append(conversation, [{"text": "hei"}, {"text": "Hei!"}], {key: {"step": 1}})
        read = (await storage.read([key]))[key]
        turn = [{"type": "message", "text": "mikä on ruutiraha?"}, {"text": "Ruutiraha on…"}]
        ids = await log.append(conversation, turn, {key: {**read, "step": 2}}, reply_to_first=True)
        assert ids == [f"{conversation}|0000002", f"{conversation}|0000003"]
        after = (await storage.read([key]))[key]
        assert after["step"] == 2 and after[E_TAG] != read[E_TAG]
        assert await log.length(conversation) == 4  # also reads back the time written
        activities, _ = await log.since(conversation, 2)
        stored[log] = [
            {k: v.replace(conversation, "C") for k, v in activity.items()}
            for activity in activities
        ]
        with sqlite_engine.connect() as connection:
            times = (
                connection.execute(
                    text(
                        "SELECT last_used_at FROM dl_conversation WHERE id = :id "
                        "UNION ALL SELECT created_at FROM dl_activity WHERE conversation_id = :id "
                        "UNION ALL SELECT updated_at FROM bot_state WHERE key = :key"
                    ),
                    {"id": conversation, "key": key},
                )
                .scalars()
                .all()
            )
        assert all(len(moment) == len("2026-12-07 19:04:48.030449") for moment in times)
    assert stored[lean] == stored[general]
    assert stored[lean][1]["replyToId"] == "C|0000002"


async def test_the_lean_sqlite_write_leaves_unusual_turns_to_the_general_way(sqlite_engine):
    log, storage = SqlConversationLog(sqlite_engine, DAY), SqlStorage(sqlite_engine)
    write = SqliteTurnWrite(sqlite_engine)
    conversation = fresh_id()
    key = f"directline/conversations/{conversation}/"
    await log.append(conversation, [{"text": "hei"}], {key: {"step": 1}})
    read = (await storage.read([key]))[key]
    unusual = {
        "stale e-tag": (conversation, {key: {"step": 2, E_TAG: "old"}}),
        "no e-tag": (conversation, {key: {"step": 2}}),
        "new state item": (conversation, {f"{key}x": {"step": 2, E_TAG: read[E_TAG]}}),
        "no conversation row": (fresh_id(), {key: {**read, "step": 2}}),
    }
    for case, (conversation_id, state) in unusual.items():
        with pytest.raises(UnusualTurn):
            write.append(conversation_id, [{"text": case}], state, reply_to_first=False)
        # Nothing of it was written, the state's change included.
        assert await log.length(conversation) == 1, case
        assert (await storage.read([key]))[key] == read, case
    # The general way then writes what it should: the missing row is made.
    missing, state = unusual["no conversation row"]
    assert await log.append(missing, [{"text": "x"}], state) == [f"{missing}|0000000"]
    assert (await storage.read([key]))[key]["step"] == 2


async def test_streams_see_lengths_of_the_conversations_they_watch(engine):
    log = SqlConversationLog(engine, DAY)
    watched, other = fresh_id(), fresh_id()
    await log.append(watched, [{"text": "x"}])
    await log.append(other, [{"text": "y"}, {"text": "z"}])
    assert log._counts([watched, other, fresh_id()]) == {watched: 1, other: 2}  # noqa: SLF001


async def test_upgrade_counts_the_logs_written_before_the_length_column(tmp_path):
    engine = create_database_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0004")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO dl_conversation VALUES ('old', :now, :now)"), {"now": now}
        )
        for seq in range(3):
            connection.execute(
                text("INSERT INTO dl_activity VALUES ('old', :seq, '{}', :now)"),
                {"seq": seq, "now": now},
            )
    upgrade(engine)
    log = SqlConversationLog(engine, DAY)
    assert await log.length("old") == 3
    assert await log.append("old", [{"text": "after the upgrade"}]) == ["old|0000003"]
    engine.dispose()
