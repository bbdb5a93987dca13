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
from bot.storage.records import SqlRecordStore
from bot.storage.state import E_TAG, SqlStorage, StateConflict
from dialogs.records import UnansweredQuestion, new_key

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


async def with_first_state(log, storage) -> tuple[str, str, dict]:
    """A conversation whose first turn wrote a state: its id, the state's key, the state."""
    conversation = fresh_id()
    key = f"directline/conversations/{conversation}/"
    await log.append(conversation, [{"text": "hei"}], {key: {"step": 1}})
    return conversation, key, (await storage.read([key]))[key]


def unanswered(text_: str) -> UnansweredQuestion:
    return UnansweredQuestion(
        key=new_key(),
        text=text_,
        reason="out_of_scope",
        language="fi",
        channel="directline",
        conversation="pseudonym",
        created_at=datetime(2026, 12, 8, 0, 30, tzinfo=UTC).isoformat(),
        guesses=[{"intent": "out_of_scope", "confidence": 0.81}],
    )


def unanswered_rows(engine, item: UnansweredQuestion) -> list[tuple]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT text, reason, language, channel, conversation, created_at, guesses,"
                    " handled FROM unanswered_question WHERE key = :key"
                ),
                {"key": item.key},
            )
        )


async def test_a_turns_unanswered_question_is_written_with_the_turn_or_not_at_all(engine):
    """In a turn's block the record waits and goes into the turn's one transaction: a
    turn that loses the race for the state stores none of it, the usual turn all of it
    (on SQLite the lean write, on PostgreSQL the general one)."""
    counted: list[str] = []
    records = SqlRecordStore(engine, on_saved=counted.append)
    log, storage = SqlConversationLog(engine, DAY), SqlStorage(engine)
    conversation, key, read = await with_first_state(log, storage)

    lost = unanswered("hävisi kilpailun")
    with records.with_turn() as waiting:
        await records.save(lost)
        assert unanswered_rows(engine, lost) == []  # waiting for the turn's write
        stale = {key: {**read, E_TAG: "old", "step": 9}}
        with pytest.raises(StateConflict):
            await log.append(conversation, [{"text": "x"}], stale, also=waiting.rows())
    assert unanswered_rows(engine, lost) == [] and counted == []

    item = unanswered("paljonko maksaa bussikortti?")
    with records.with_turn() as waiting:
        await records.save(item)
        turn = [{"type": "message", "text": item.text}, {"text": "En osaa vastata."}]
        state = {key: {**read, "step": 2}}
        await log.append(conversation, turn, state, reply_to_first=True, also=waiting.rows())
        waiting.written()
    [row] = unanswered_rows(engine, item)
    assert row.text == item.text and row.reason == "out_of_scope" and not row.handled
    assert counted == ["unanswered"]
    assert (await storage.read([key]))[key]["step"] == 2

    outside = unanswered("ei vuoron aikana")
    await records.save(outside)  # no turn's block: saved at once, as before
    assert len(unanswered_rows(engine, outside)) == 1

    # A task started in the block keeps its context after it: its record is saved at once.
    later, go = unanswered("tehtävä vuoron jälkeen"), asyncio.Event()

    async def after_the_turn():
        await go.wait()
        await records.save(later)

    with records.with_turn():
        task = asyncio.create_task(after_the_turn())
    go.set()
    await task
    assert len(unanswered_rows(engine, later)) == 1


async def test_the_lean_write_stores_a_turns_record_as_the_general_way_does(sqlite_engine):
    records = SqlRecordStore(sqlite_engine)
    lean, general = SqlConversationLog(sqlite_engine, DAY), SqlConversationLog(sqlite_engine, DAY)
    general._usual = None  # noqa: SLF001 - the general way only, to compare with
    storage = SqlStorage(sqlite_engine)
    stored = []
    for log in (lean, general):
        conversation, key, read = await with_first_state(log, storage)
        item = unanswered("mitä kuuluu kuulle?")
        with records.with_turn() as waiting:
            await records.save(item)
            await log.append(
                conversation, [{"text": "q"}], {key: {**read, "step": 2}}, also=waiting.rows()
            )
        stored.append(unanswered_rows(sqlite_engine, item))
    assert len(stored[0]) == 1 and stored[0] == stored[1]


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


async def test_a_direct_line_turn_writes_its_unanswered_question_in_its_own_write(
    tmp_path, monkeypatch
):
    """The app wires it: an unanswered question over Direct Line is stored, and never by
    a transaction of its own (test double: the NLU, scripted; the database is real)."""
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import create_app
    from bot.config import DEFAULT_CONFIG_PATH, load_config
    from bot.storage.migrate import migrated_sqlite_url
    from tests.unit.doubles import ScriptedNlu

    url = migrated_sqlite_url(tmp_path)
    config = load_config(
        DEFAULT_CONFIG_PATH,
        environ={"BOT_ALLOW_UNAUTHENTICATED": "true", "DATABASE_URL": url},
    )

    def no_transaction_of_its_own(self, item):
        raise AssertionError("an unanswered question of a Direct Line turn wrote on its own")

    monkeypatch.setattr(SqlRecordStore, "_save_unanswered", no_transaction_of_its_own)
    client = TestClient(TestServer(create_app(config, ScriptedNlu())))  # all: out_of_scope
    await client.start_server()
    try:
        started = await (await client.post("/v3/directline/conversations")).json()
        headers = {"Authorization": f"Bearer {started['token']}"}
        path = f"/v3/directline/conversations/{started['conversationId']}/activities"
        question = "paljonko maksaa bussikortti aikuiselle?"
        response = await client.post(
            path, json={"type": "message", "text": question}, headers=headers
        )
        assert response.status == 200
    finally:
        await client.close()
    engine = create_database_engine(url)
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT reason FROM unanswered_question WHERE text = :t"), {"t": question}
        ).all()
    assert [row.reason for row in stored] == ["out_of_scope"]
