"""Answer dialog: a participation topic's answer, asking the learner's level first where it matters.

Steps: `begin` (topic recognised) -> either the answer, or the level question
with one button per level that has its own answer; `on_level` (a level chosen)
-> the answer. The level is remembered for the rest of the conversation.
Every answer ends with the "Did this help?" buttons (dialogs/quality.py).
"""

from __future__ import annotations

from collections.abc import Callable

from content.store import ContentStore
from dialogs.messages import Button, Reply
from dialogs.replies import ReplyFactory
from dialogs.state import ConversationData


class AnswerDialog:
    def __init__(
        self,
        content: ContentStore,
        replies: ReplyFactory,
        rating_buttons: Callable[[str, str], list[Button]] | None = None,
    ) -> None:
        self._content = content
        self._replies = replies
        self._rating_buttons = rating_buttons

    def begin(self, topic_id: str, state: ConversationData, language: str, text: str = "") -> Reply:
        """Answer a topic, using a level named in the message or remembered from earlier."""
        level_in_text = self._content.cues.level(text) if text else None
        if level_in_text:
            state.level = level_in_text
        entry = self._content.topics[topic_id]
        if level_in_text in entry.instead_at:
            # "Finns det föräldraförening på daghemmet?": a parents' association is a
            # school's; at daycare the guardians' body is the parent committee.
            return self.begin(entry.instead_at[level_in_text], state, language, text)
        if entry.needs_level(state.level):
            # "Onko päiväkodissa oppilaskuntaa?": the level asked about has no answer.
            return self._ask_level(topic_id, state, language, unavailable=level_in_text)
        return self._answer(topic_id, state, language)

    def on_level(self, level: str, state: ConversationData, language: str) -> Reply | None:
        """The user picked a level for the pending topic; None when nothing was pending."""
        topic_id = state.pending_topic
        if topic_id is None or topic_id not in self._content.topics:
            state.level = level
            return None
        return self.at_level(topic_id, level, state, language)

    def at_level(self, topic_id: str, level: str, state: ConversationData, language: str) -> Reply:
        """A topic at a level the user chose or typed ("entä lukiossa?").

        A level the topic has no answer for ("päiväkodissa?" after the student
        council) gets a reply that says so and offers the levels it has: the
        user asked something real, so repeating the level question as if
        nothing was said, or the "not sure" reply, would leave them guessing.
        """
        state.level = level
        entry = self._content.topics[topic_id]
        if entry.needs_level(level):
            return self._ask_level(topic_id, state, language, unavailable=level)
        return self._answer(topic_id, state, language)

    def ask_level_again(self, state: ConversationData, language: str) -> Reply:
        """The level question once more, in other words, after a reply that named no level."""
        return self._ask_level(state.pending_topic, state, language, again=True)

    def _ask_level(
        self,
        topic_id: str,
        state: ConversationData,
        language: str,
        unavailable: str | None = None,
        again: bool = False,
    ) -> Reply:
        entry = self._content.topics[topic_id]
        state.pending_topic = topic_id
        labels = self._content.level_labels
        buttons = [Button(labels[level][language], {"level": level}) for level in entry.variants]
        if unavailable is None:
            key = "clarify_level_again" if again else "clarify_level"
            return self._replies.ui_reply(key, language, topic_id, buttons)
        return self._replies.ui_reply(
            "level_not_covered",
            language,
            topic_id,
            buttons,
            title=entry.title[language],
            level=labels[unavailable][language],
        )

    def _answer(self, topic_id: str, state: ConversationData, language: str) -> Reply:
        state.pending_topic = None
        state.last_topic = topic_id
        rating = self._rating_buttons(topic_id, language) if self._rating_buttons else []
        return self._replies.entry_reply(
            topic_id, language, level=state.level, extra_buttons=rating
        )
