"""Quality signals for staff: "Did this help?" after topic answers, and unanswered questions.

A rating is one click (👍 / 👎); after 👎 the user may add a short comment or
skip. Each answer's buttons carry their own key, so a second click on the same
answer updates the rating instead of adding one. Questions the assistant could
not answer are recorded with the NLU's top guesses for content-gap review.

These records must not be lost either, but they are not worth bothering the
user about: when the database refuses one it waits in the conversation
state's outbox and is retried on the conversation's next turns (saving is
idempotent by key, so a retry never doubles it).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from bot.storage.redaction import redact
from content.store import ContentStore
from dialogs.messages import Button, Reply, UserMessage
from dialogs.records import (
    AnswerRating,
    Record,
    RecordNotSaved,
    RecordSink,
    UnansweredQuestion,
    new_key,
    record_from_dict,
    record_to_dict,
)
from dialogs.replies import ReplyFactory
from dialogs.state import ConversationData
from nlu.client import Parse

logger = logging.getLogger(__name__)

MAX_OUTBOX = 20
MAX_GUESSES = 3


class QualityDialog:
    def __init__(
        self,
        content: ContentStore,
        replies: ReplyFactory,
        sink: RecordSink,
        max_comment_chars: int,
    ) -> None:
        self._fb = content.feedback
        self._replies = replies
        self._sink = sink
        self._max_comment = max_comment_chars

    def rating_buttons(self, topic: str, language: str) -> list[Button]:
        key = new_key()
        return [
            Button(
                self._fb.buttons["rate_up"][language], {"rating": "up", "topic": topic, "key": key}
            ),
            Button(
                self._fb.buttons["rate_down"][language],
                {"rating": "down", "topic": topic, "key": key},
            ),
        ]

    async def rate(
        self,
        payload: dict[str, str],
        message: UserMessage,
        state: ConversationData,
        language: str,
        now: datetime,
    ) -> list[Reply]:
        topic = payload.get("topic", "")
        helpful = payload.get("rating") == "up"
        rating = AnswerRating(
            key=payload.get("key") or new_key(),
            topic=topic,
            helpful=helpful,
            language=language,
            channel=message.channel,
            conversation=message.conversation,
            created_at=now.isoformat(),
        )
        await self.save(rating, state)
        if helpful:
            state.rating_comment = None
            return [Reply(self._fb.text("rated_up", language), topic, language)]
        state.rating_comment = record_to_dict(rating)
        skip = Button(self._fb.buttons["skip"][language], {"rating_comment": "skip"})
        buttons = (skip, self._replies.feedback_button(language))
        return [Reply(self._fb.text("ask_comment", language), topic, language, buttons)]

    async def comment(
        self, text: str, payload: dict[str, str], state: ConversationData, language: str
    ) -> list[Reply] | None:
        """The optional comment after 👎; None when this message is not one (route it)."""
        pending = record_from_dict(state.rating_comment or {})
        state.rating_comment = None
        if not isinstance(pending, AnswerRating):
            return None
        if payload.get("rating_comment") == "skip":
            text = self._fb.text("comment_skipped", language)
            return [Reply(text, pending.topic, language, self._menu(language))]
        if payload or not any(ch.isalnum() for ch in text):
            return None
        cleaned = redact(text[: self._max_comment])
        await self.save(replace(pending, comment=cleaned.text), state)
        text = self._fb.text("comment_saved", language)
        buttons = self._menu(language)
        if cleaned.changed:
            # "soita mulle 040..." after 👎: a comment gets no reply, and its contact
            # details are removed; the feedback dialog is where to ask for one.
            text += " " + self._fb.text("comment_no_reply", language)
            buttons = (self._replies.feedback_button(language), *buttons)
        return [Reply(text, pending.topic, language, buttons)]

    async def unanswered(
        self,
        text: str,
        reason: str,
        parse: Parse | None,
        message: UserMessage,
        state: ConversationData,
        language: str,
        now: datetime,
    ) -> None:
        guesses = [
            {"intent": score.name, "confidence": round(score.confidence, 3)}
            for score in (parse.ranking if parse else [])[:MAX_GUESSES]
        ]
        record = UnansweredQuestion(
            key=new_key(),
            text=redact(text).text,
            reason=reason,
            language=language,
            channel=message.channel,
            conversation=message.conversation,
            created_at=now.isoformat(),
            guesses=guesses,
        )
        await self.save(record, state)

    async def save(self, record: Record, state: ConversationData) -> None:
        """Store now, or keep in the outbox for the next turn."""
        try:
            await self._sink.save(record)
        except RecordNotSaved:
            state.outbox = (state.outbox + [record_to_dict(record)])[-MAX_OUTBOX:]

    async def flush_outbox(self, state: ConversationData) -> None:
        """Retry records the database refused earlier, oldest first, until one fails."""
        while state.outbox:
            record = record_from_dict(state.outbox[0])
            if record is not None:
                try:
                    await self._sink.save(record)
                except RecordNotSaved:
                    return
            state.outbox = state.outbox[1:]

    def _menu(self, language: str) -> tuple[Button, ...]:
        return tuple(self._replies.menu_buttons(language) + [self._replies.help_button(language)])
