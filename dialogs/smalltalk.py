"""Small talk: the replies of the conversation intents, and language switches."""

from __future__ import annotations

from content.store import ContentStore
from dialogs.answer import AnswerDialog
from dialogs.messages import Reply
from dialogs.replies import ReplyFactory
from dialogs.state import ConversationData

# Replies that close or abandon what was going on: a pending level question ends.
_ENDS_PENDING = {"cancel", "deny", "goodbye", "thanks", "greet", "help"}
# Replies that lead somewhere: offer the help menu button under them.
_OFFER_HELP = {"bot_challenge", "human_contact", "privacy", "deny", "thanks"}
# Replies that also offer to start the feedback dialog.
_OFFER_FEEDBACK = {"help", "human_contact", "thanks"}


class SmallTalkDialog:
    def __init__(self, content: ContentStore, replies: ReplyFactory, answers: AnswerDialog) -> None:
        self._content = content
        self._replies = replies
        self._answers = answers

    def reply(self, intent: str, state: ConversationData, language: str) -> list[Reply]:
        if intent in _ENDS_PENDING:
            state.pending_topic = None
        extra = [self._replies.help_button(language)] if intent in _OFFER_HELP else []
        if intent in _OFFER_FEEDBACK:
            extra.append(self._replies.feedback_button(language))
        if intent == "greet":
            if state.greeted:  # the introduction once is enough: "hei" again invites the question
                return [self._replies.ui_reply("greet_again", language, intent)]
            state.greeted = True
            extra = self._replies.language_buttons(except_language=language)
        return [self._replies.entry_reply(intent, language, extra_buttons=extra)]

    def switch_language(self, intent: str, state: ConversationData, language: str) -> list[Reply]:
        """Confirm a chosen language, then repeat the last answer in it so nothing is lost."""
        state.choose_language(language)
        replies = [self._replies.entry_reply(intent, language)]
        if state.pending_topic:
            replies.append(self._answers.begin(state.pending_topic, state, language))
        elif state.last_topic:
            replies.append(self._answers.begin(state.last_topic, state, language))
        return replies

    def choose_language_menu(
        self, language: str, intent: str, text_key: str = "choose_language"
    ) -> list[Reply]:
        """A language request without a clear target: offer the languages as buttons."""
        buttons = self._replies.language_buttons()
        return [self._replies.ui_reply(text_key, language, intent, buttons)]

    def languages_offered(self, language: str) -> list[Reply]:
        """A message in a language we do not answer in: which languages there are, said in
        each, one message per language so a screen reader reads each in its own voice.
        The conversation's language comes last, with the buttons: the widget follows
        the last reply's language."""
        base = "fi" if language == "fi-x-selko" else language
        others = [code for code in ("en", "sv", "fi") if code != base]
        replies = [
            self._replies.ui_reply("other_language", code, "change_language") for code in others
        ]
        return replies + self.choose_language_menu(language, "change_language", "other_language")
