"""Fallbacks: not sure, out of scope, NLU down, and messages that cannot be read.

All of them answer honestly and leave a way forward (buttons); none of them
pretends to answer a topic.
"""

from __future__ import annotations

from dialogs.messages import Reply
from dialogs.replies import ReplyFactory
from nlu.client import Parse


class FallbackDialog:
    def __init__(
        self,
        replies: ReplyFactory,
        topic_ids: set[str],
        suggestion_min_confidence: float,
        max_suggestions: int,
        crisis_line: str = "",
    ) -> None:
        self._replies = replies
        self._topic_ids = topic_ids
        self._min = suggestion_min_confidence
        self._max = max_suggestions
        self._crisis_line = crisis_line

    def not_sure(self, parse: Parse, language: str, context: str | None = None) -> Reply:
        """Low confidence: the likeliest participation topics as buttons, plus help.

        `context`: the topic answered just before, offered first: a short follow-up
        ("miten pääsen hallitukseen?") is most likely about it.
        """
        likely = [
            score.name
            for score in parse.ranking
            if score.name in self._topic_ids and score.confidence >= self._min
        ]
        if context in self._topic_ids:
            likely = [context, *(name for name in likely if name != context)]
        likely = likely[: self._max]
        # What was not understood may be a complaint ("ruoka on pahaa"): the way to give
        # feedback is always one button away.
        ways_on = [self._replies.help_button(language), self._replies.feedback_button(language)]
        if not likely:  # "did you mean one of these?" with nothing to choose would puzzle
            return self._replies.ui_reply("not_sure_no_guesses", language, "out_of_scope", ways_on)
        buttons = self._replies.topic_buttons(likely, language) + ways_on
        return self._replies.ui_reply("not_sure", language, "out_of_scope", buttons)

    def out_of_scope(self, language: str) -> Reply:
        ways_on = [self._replies.help_button(language), self._replies.feedback_button(language)]
        return self._replies.entry_reply("out_of_scope", language, extra_buttons=ways_on)

    def distress(self, language: str) -> Reply:
        """Bullying or despair: where to get help, and the pupil welfare answer."""
        buttons = self._replies.topic_buttons(["student_welfare"], language)
        reply = self._replies.ui_reply("distress", language, "distress", buttons)
        if not self._crisis_line:
            return reply
        line = self._replies.content.ui_text(
            "distress_crisis_line", language, number=self._crisis_line
        )
        return Reply(f"{reply.text} {line}", reply.topic, reply.locale, reply.buttons)

    def nlu_unavailable(self, language: str) -> Reply:
        buttons = self._replies.menu_buttons(language) + [self._replies.help_button(language)]
        return self._replies.ui_reply("nlu_unavailable", language, "out_of_scope", buttons)

    def unreadable(self, key: str, language: str, **values) -> Reply:
        """Empty, wordless, too long or attachment-only messages: say why, offer the menu."""
        buttons = self._replies.menu_buttons(language) + [self._replies.help_button(language)]
        return self._replies.ui_reply(key, language, "help", buttons, **values)

    def error(self, language: str) -> Reply:
        return self._replies.ui_reply(
            "error", language, "out_of_scope", [self._replies.help_button(language)]
        )

    def storage_unavailable(self, language: str) -> Reply:
        return self._replies.ui_reply("storage_unavailable", language, "out_of_scope")
