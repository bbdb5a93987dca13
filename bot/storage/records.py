"""The real RecordSink: feedback, ratings and unanswered questions into the database.

Each save is one transaction and idempotent by the record's key: a feedback
whose reference is already stored is not stored again, a rating with a known
key is updated (a changed mind or an added comment), an unanswered question
with a known key is left as it is. A database error becomes `RecordNotSaved`,
which the dialogs turn into a plain message and a retry.

One exception: in a turn whose channel writes the turn in one transaction
(Direct Line, `with_turn`), an unanswered question waits and is written in that
transaction, with the turn's state and replies, instead of in one of its own
before the reply.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Executable, select
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


class RecordsWithTurn:
    """Unanswered questions of one turn, waiting to be written in the turn's transaction.

    A question the assistant could not answer was a transaction of its own before
    the reply (one in seven of the held-out questions): on the user's wait, and
    on PostgreSQL a few more round trips. The turn's one write takes `rows()` and
    calls `written()` once its transaction is committed.
    """

    def __init__(self, store: SqlRecordStore) -> None:
        self._store = store
        self._waiting: list[UnansweredQuestion] = []
        self.open = True  # False once the turn's block is left: nothing writes it then

    def add(self, record: UnansweredQuestion) -> None:
        self._waiting.append(record)

    def rows(self) -> list[tuple[Executable, list[dict[str, Any]]]]:
        """The statement and its rows, for the turn's transaction (none when nothing waits)."""
        if not self._waiting:
            return []
        return [(self._store.new_unanswered, [unanswered_values(r) for r in self._waiting])]

    def written(self) -> None:
        for record in self._waiting:
            self._store.counted(record)
        self._waiting.clear()


_WITH_TURN: ContextVar[RecordsWithTurn | None] = ContextVar("records_with_turn", default=None)


def unanswered_values(item: UnansweredQuestion) -> dict[str, Any]:
    """An unanswered question's row."""
    return {
        "key": item.key,
        "text": item.text,
        "reason": item.reason,
        "guesses": json.dumps(item.guesses, ensure_ascii=False),
        "language": item.language,
        "channel": item.channel,
        "conversation": item.conversation,
        "created_at": _when(item.created_at),
        "handled": False,
    }


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
        self.new_unanswered = upsert_dialect_insert(engine)(
            UnansweredQuestionRecord.__table__
        ).on_conflict_do_nothing(index_elements=["key"])
        self._on_saved = on_saved or (lambda kind: None)

    @contextmanager
    def with_turn(self) -> Iterator[RecordsWithTurn]:
        """Within this block (one turn), unanswered questions wait for the turn's write."""
        waiting = RecordsWithTurn(self)
        token = _WITH_TURN.set(waiting)
        try:
            yield waiting
        finally:
            waiting.open = False
            _WITH_TURN.reset(token)

    def counted(self, record: Record) -> None:
        self._on_saved(record.kind)

    async def save(self, record: Record) -> None:
        waiting = _WITH_TURN.get()
        # A task started in the turn keeps its context after the turn: its record is
        # saved at once, never added to a list no write will take.
        if waiting is not None and waiting.open and isinstance(record, UnansweredQuestion):
            waiting.add(record)
            return
        try:
            await run_blocking(self._engine, self._save, record)
        except IntegrityError:
            # A concurrent save of the same key won the race: the record is stored once.
            return
        except SQLAlchemyError as error:
            logger.warning("%s not saved: %s", record.kind, type(error).__name__)
            raise RecordNotSaved(record.kind) from error
        self.counted(record)

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
            connection.execute(self.new_unanswered, unanswered_values(item))
