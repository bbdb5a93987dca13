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

from bot.directline.store import SqlConversationLog
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
