"""The record store, retention and erasure on real SQLite and real PostgreSQL.

Every test taking `engine` runs on both (tests/integration/conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from bot.config import RetentionConfig
from bot.storage.database import session_factory
from bot.storage.models import (
    AnswerRatingRecord,
    BotStateRecord,
    FeedbackContact,
    FeedbackRecord,
    FeedbackStatusChange,
    UnansweredQuestionRecord,
)
from bot.storage.records import SqlRecordStore
from bot.storage.retention import erase_feedback, purge
from dialogs.records import (
    AnswerRating,
    FeedbackSubmission,
    RecordNotSaved,
    UnansweredQuestion,
    new_key,
    new_reference,
)
from tests.integration.conftest import ROOT, migrated_sqlite_url

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def submission(when: datetime = NOW, contact: bool = False, **changes) -> FeedbackSubmission:
    values = dict(
        reference=new_reference(),
        category="school_meals",
        service_code="kasko-meals",
        service_name="Kouluruoka",
        title="Kouluruoka: Kallion ala-aste",
        description="Ruoka oli kylmää.",
        language="fi",
        channel="directline",
        conversation="c0ffee",
        requested_at=when.isoformat(),
        unit="Kallion ala-aste",
        audience="basic",
    )
    if contact:
        values.update(
            contact_method="email", contact="a@example.com", consented_at=when.isoformat()
        )
    values.update(changes)
    return FeedbackSubmission(**values)


def count(engine, model, *where) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


async def test_feedback_is_stored_open311_shaped_once(engine):
    store = SqlRecordStore(engine)
    item = submission(contact=True)
    await store.save(item)
    await store.save(item)  # a retry after an unclear failure
    with session_factory(engine)() as session:
        row = session.scalar(
            select(FeedbackRecord).where(FeedbackRecord.reference == item.reference)
        )
        assert (row.status, row.phase, row.service_code) == ("open", "received", "kasko-meals")
        assert row.description == "Ruoka oli kylmää." and row.language == "fi"
        assert row.requested_at.replace(tzinfo=UTC) == NOW and row.wants_reply
        assert [h.phase for h in row.history] == ["received"]
        assert (row.contact.method, row.contact.value) == ("email", "a@example.com")
    assert count(engine, FeedbackRecord, FeedbackRecord.reference == item.reference) == 1


async def test_contact_is_stored_only_with_consent(engine):
    store = SqlRecordStore(engine)
    item = submission(contact_method="phone", contact="+358401234567", consented_at=None)
    await store.save(item)
    with session_factory(engine)() as session:
        row = session.scalar(
            select(FeedbackRecord).where(FeedbackRecord.reference == item.reference)
        )
        assert row.contact is None and not row.wants_reply


async def test_fifty_concurrent_submissions_with_retries_give_fifty_rows(engine):
    store = SqlRecordStore(engine)
    items = [submission(conversation=f"load-{i}") for i in range(50)]
    before = count(engine, FeedbackRecord)
    # Every submission is sent twice at the same time, like a double click.
    await asyncio.gather(*(store.save(item) for item in items + items))
    assert count(engine, FeedbackRecord) - before == 50
    references = [item.reference for item in items]
    assert count(engine, FeedbackRecord, FeedbackRecord.reference.in_(references)) == 50


async def test_rating_click_again_updates_and_comment_is_added(engine):
    store = SqlRecordStore(engine)
    key = new_key()
    base = dict(
        key=key,
        topic="ruuti_budget",
        language="sv",
        channel="msteams",
        conversation="c",
        created_at=NOW.isoformat(),
    )
    await store.save(AnswerRating(helpful=True, **base))
    await store.save(AnswerRating(helpful=False, **base))
    await store.save(AnswerRating(helpful=False, comment="saknade datum", **base))
    with session_factory(engine)() as session:
        [row] = session.scalars(select(AnswerRatingRecord).where(AnswerRatingRecord.key == key))
        assert (row.helpful, row.comment, row.language) == (False, "saknade datum", "sv")


async def test_unanswered_question_keeps_guesses(engine):
    store = SqlRecordStore(engine)
    item = UnansweredQuestion(
        key=new_key(),
        text="paljonko maksaa",
        reason="not_sure",
        language="fi",
        channel="directline",
        conversation="c",
        created_at=NOW.isoformat(),
        guesses=[{"intent": "school_board", "confidence": 0.21}],
    )
    await store.save(item)
    await store.save(item)
    with session_factory(engine)() as session:
        [row] = session.scalars(
            select(UnansweredQuestionRecord).where(UnansweredQuestionRecord.key == item.key)
        )
        assert json.loads(row.guesses) == [{"intent": "school_board", "confidence": 0.21}]
        assert not row.handled


async def test_database_error_is_record_not_saved(tmp_path):
    """A real failure: the feedback table is gone (as during a broken deployment)."""
    from bot.storage.database import create_database_engine

    engine = create_database_engine(migrated_sqlite_url(tmp_path))
    store = SqlRecordStore(engine)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE feedback RENAME TO feedback_away"))
    with pytest.raises(RecordNotSaved):
        await store.save(submission())
    engine.dispose()


async def test_purge_deletes_only_what_expired(engine):
    store = SqlRecordStore(engine)
    retention = RetentionConfig(
        feedback_days=100, contact_days=10, rating_days=50, unanswered_days=20, bot_state_days=5
    )
    old = submission(NOW - timedelta(days=101), contact=True)
    kept_without_contact = submission(NOW - timedelta(days=11), contact=True)
    fresh = submission(NOW - timedelta(days=1), contact=True)
    for item in (old, kept_without_contact, fresh):
        await store.save(item)
    rating_key, question_key = new_key(), new_key()
    await store.save(
        AnswerRating(
            key=rating_key,
            topic="t",
            helpful=True,
            language="fi",
            channel="x",
            conversation="c",
            created_at=(NOW - timedelta(days=51)).isoformat(),
        )
    )
    await store.save(
        UnansweredQuestion(
            key=question_key,
            text="q",
            reason="not_sure",
            language="fi",
            channel="x",
            conversation="c",
            created_at=(NOW - timedelta(days=19)).isoformat(),
        )
    )
    with session_factory(engine).begin() as session:
        session.add(
            BotStateRecord(
                key=f"old-{new_key()}", e_tag="e", data="{}", updated_at=NOW - timedelta(days=6)
            )
        )

    counts = purge(engine, retention, NOW)

    assert counts["feedback"] >= 1 and counts["contact"] >= 1 and counts["bot_state"] >= 1

    def exists(item):
        return count(engine, FeedbackRecord, FeedbackRecord.reference == item.reference) == 1

    assert not exists(old) and exists(kept_without_contact) and exists(fresh)
    with session_factory(engine)() as session:
        contacts = {
            ref for ref in session.scalars(select(FeedbackRecord.reference).join(FeedbackContact))
        }
    assert fresh.reference in contacts and kept_without_contact.reference not in contacts
    assert count(engine, AnswerRatingRecord, AnswerRatingRecord.key == rating_key) == 0
    assert (
        count(engine, UnansweredQuestionRecord, UnansweredQuestionRecord.key == question_key) == 1
    )
    orphans = select(FeedbackStatusChange.id).where(
        FeedbackStatusChange.feedback_id.not_in(select(FeedbackRecord.id))
    )
    with session_factory(engine)() as session:
        assert session.scalars(orphans).all() == []


async def test_erase_one_feedback_by_reference(engine):
    store = SqlRecordStore(engine)
    item, other = submission(contact=True), submission()
    await store.save(item)
    await store.save(other)
    assert erase_feedback(engine, item.reference.lower())
    assert not erase_feedback(engine, item.reference)
    assert count(engine, FeedbackRecord, FeedbackRecord.reference == item.reference) == 0
    assert count(engine, FeedbackRecord, FeedbackRecord.reference == other.reference) == 1


def manage(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=database_url)
    return subprocess.run(
        [sys.executable, "-m", "bot.manage", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_manage_command_purges_and_erases(tmp_path):
    """The staff command itself, as a process on a real database file."""
    from bot.storage.database import create_database_engine

    url = migrated_sqlite_url(tmp_path)
    engine = create_database_engine(url)
    item = submission(datetime.now(UTC))
    await SqlRecordStore(engine).save(item)

    purged = manage(url, "purge")
    assert purged.returncode == 0, purged.stderr
    assert "feedback 0" in purged.stdout  # a fresh feedback is kept
    erased = manage(url, "erase", item.reference)
    assert erased.returncode == 0 and item.reference in erased.stdout
    missing = manage(url, "erase", item.reference)
    assert missing.returncode == 1 and "No feedback" in missing.stderr
    assert count(engine, FeedbackRecord) == 0
    engine.dispose()


def test_manage_command_on_an_unmigrated_database_says_what_to_do(tmp_path):
    result = manage(f"sqlite:///{tmp_path / 'empty.db'}", "purge")
    assert result.returncode == 2
    assert "bot.storage.migrate" in result.stderr and "Traceback" not in result.stderr


def test_upgrade_from_the_first_schema_keeps_conversation_state(tmp_path):
    """A deployment that ran revision 0001 migrates to the feedback schema without loss."""
    from sqlalchemy import inspect

    from bot.storage.database import create_database_engine
    from bot.storage.migrate import upgrade

    engine = create_database_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0001")
    with session_factory(engine).begin() as session:
        session.add(BotStateRecord(key="kept", e_tag="e", data='{"a": 1}', updated_at=NOW))
    upgrade(engine)
    assert {"feedback", "feedback_contact", "answer_rating", "unanswered_question"} <= set(
        inspect(engine).get_table_names()
    )
    with session_factory(engine)() as session:
        assert session.get(BotStateRecord, "kept").data == '{"a": 1}'
    engine.dispose()
