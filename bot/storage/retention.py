"""Retention: delete what has been kept long enough, and erase one feedback on request.

Days per record type come from config (`retention:`). Contact details have
their own, shorter period: the feedback text stays for quality follow-up after
the contact details it was sent with are gone. Children are deleted explicitly
before their feedback, so the result does not depend on the database enforcing
ON DELETE CASCADE (SQLite does not by default).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select

from bot.config import RetentionConfig
from bot.directline.store import expire_conversations
from bot.storage.database import session_factory
from bot.storage.models import (
    AnswerRatingRecord,
    BotStateRecord,
    FeedbackContact,
    FeedbackRecord,
    FeedbackStatusChange,
    RateLimitRecord,
    UnansweredQuestionRecord,
)


def _delete_feedback(session, condition) -> int:
    ids = select(FeedbackRecord.id).where(condition).scalar_subquery()
    session.execute(delete(FeedbackContact).where(FeedbackContact.feedback_id.in_(ids)))
    session.execute(delete(FeedbackStatusChange).where(FeedbackStatusChange.feedback_id.in_(ids)))
    return session.execute(delete(FeedbackRecord).where(condition)).rowcount


def purge(
    engine: Engine,
    retention: RetentionConfig,
    now: datetime,
    transcript_idle: timedelta | None = None,
) -> dict[str, int]:
    """Delete every record older than its retention period; return counts by kind.

    `transcript_idle`: Direct Line transcripts of conversations idle that long go too
    (the service's `directline.conversation_ttl_seconds`), with old rate-limit windows.
    """

    def before(days: int) -> datetime:
        return now - timedelta(days=days)

    simple = (
        ("contact", FeedbackContact.consented_at, retention.contact_days),
        ("rating", AnswerRatingRecord.created_at, retention.rating_days),
        ("unanswered", UnansweredQuestionRecord.created_at, retention.unanswered_days),
        ("bot_state", BotStateRecord.updated_at, retention.bot_state_days),
    )
    with session_factory(engine).begin() as session:
        counts = {
            "feedback": _delete_feedback(
                session, FeedbackRecord.requested_at < before(retention.feedback_days)
            )
        }
        for kind, column, days in simple:
            statement = delete(column.class_).where(column < before(days))
            counts[kind] = session.execute(statement).rowcount
        window = int(now.timestamp() // 60) - 1
        session.execute(delete(RateLimitRecord).where(RateLimitRecord.window_start < window))
    if transcript_idle is not None:
        counts["transcripts"] = expire_conversations(engine, transcript_idle, now)
    return counts


def erase_feedback(engine: Engine, reference: str) -> bool:
    """Erase one feedback, its contact details and history; False when no such reference."""
    with session_factory(engine).begin() as session:
        return _delete_feedback(session, FeedbackRecord.reference == reference.strip().upper()) > 0
