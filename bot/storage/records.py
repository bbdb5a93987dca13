"""The real RecordSink: feedback, ratings and unanswered questions into the database.

Each save is one transaction and idempotent by the record's key: a feedback
whose reference is already stored is not stored again, a rating with a known
key is updated (a changed mind or an added comment), an unanswered question
with a known key is left as it is. A database error becomes `RecordNotSaved`,
which the dialogs turn into a plain message and a retry.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from bot.storage.database import (
    require_tables,
    run_blocking,
    session_factory,
    upsert_dialect_insert,
)
from bot.storage.models import (
    AnswerRatingRecord,
    FeedbackContact,
    FeedbackRecord,
    FeedbackStatusChange,
    UnansweredQuestionRecord,
)
from dialogs.records import (
    AnswerRating,
    FeedbackSubmission,
    Record,
    RecordNotSaved,
    UnansweredQuestion,
)

logger = logging.getLogger(__name__)

RECEIVED_BY = "assistant"


def _when(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


class SqlRecordStore:
    def __init__(self, engine: Engine, on_saved: Callable[[str], None] | None = None) -> None:
        require_tables(
            engine,
            FeedbackRecord.__tablename__,
            AnswerRatingRecord.__tablename__,
            UnansweredQuestionRecord.__tablename__,
        )
        self._engine = engine
        self._sessions = session_factory(engine)
        # A key already stored is left as it is (a retry from the outbox).
        self._new_unanswered = upsert_dialect_insert(engine)(
            UnansweredQuestionRecord.__table__
        ).on_conflict_do_nothing(index_elements=["key"])
        self._on_saved = on_saved or (lambda kind: None)

    async def save(self, record: Record) -> None:
        try:
            await run_blocking(self._engine, self._save, record)
        except IntegrityError:
            # A concurrent save of the same key won the race: the record is stored once.
            return
        except SQLAlchemyError as error:
            logger.warning("%s not saved: %s", record.kind, type(error).__name__)
            raise RecordNotSaved(record.kind) from error
        self._on_saved(record.kind)

    def _save(self, record: Record) -> None:
        if isinstance(record, UnansweredQuestion):
            self._save_unanswered(record)
            return
        with self._sessions.begin() as session:
            if isinstance(record, FeedbackSubmission):
                self._save_feedback(session, record)
            elif isinstance(record, AnswerRating):
                self._save_rating(session, record)
            else:
                raise TypeError(f"unknown record {type(record).__name__}")

    def _save_feedback(self, session: Session, item: FeedbackSubmission) -> None:
        exists = session.scalar(
            select(FeedbackRecord.id).where(FeedbackRecord.reference == item.reference)
        )
        if exists is not None:
            return
        requested = _when(item.requested_at)
        consented = bool(item.contact and item.contact_method and item.consented_at)
        feedback = FeedbackRecord(
            reference=item.reference,
            service_code=item.service_code,
            service_name=item.service_name,
            title=item.title,
            description=item.description,
            status="open",
            phase="received",
            requested_at=requested,
            updated_at=requested,
            language=item.language,
            channel=item.channel,
            unit=item.unit,
            audience=item.audience,
            conversation=item.conversation,
            wants_reply=consented,
        )
        feedback.history.append(
            FeedbackStatusChange(phase="received", changed_at=requested, changed_by=RECEIVED_BY)
        )
        if consented:
            feedback.contact = FeedbackContact(
                method=item.contact_method,
                value=item.contact,
                consented_at=_when(item.consented_at),
            )
        session.add(feedback)

    def _save_rating(self, session: Session, item: AnswerRating) -> None:
        row = session.scalar(select(AnswerRatingRecord).where(AnswerRatingRecord.key == item.key))
        if row is None:
            session.add(
                AnswerRatingRecord(
                    key=item.key,
                    topic=item.topic,
                    helpful=item.helpful,
                    comment=item.comment,
                    language=item.language,
                    channel=item.channel,
                    conversation=item.conversation,
                    created_at=_when(item.created_at),
                )
            )
            return
        row.helpful = item.helpful
        if item.comment:
            row.comment = item.comment

    def _save_unanswered(self, item: UnansweredQuestion) -> None:
        """One plain statement: this runs in the turn of every question the assistant
        could not answer, where the ORM's query and unit of work cost 1.5-2 ms."""
        with self._engine.begin() as connection:
            connection.execute(
                self._new_unanswered,
                {
                    "key": item.key,
                    "text": item.text,
                    "reason": item.reason,
                    "guesses": json.dumps(item.guesses, ensure_ascii=False),
                    "language": item.language,
                    "channel": item.channel,
                    "conversation": item.conversation,
                    "created_at": _when(item.created_at),
                    "handled": False,
                },
            )
