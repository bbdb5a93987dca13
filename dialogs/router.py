"""The turn: one user message in, the replies out, channel-independent.

Order of decisions, each with its reason:
1. Button payloads route directly (no NLU guess needed for what the bot offered).
2. Unreadable input (empty, no words, too long, attachments only) gets a clear
   reply before any NLU call, so it never costs a Rasa round trip.
3. The answer language: explicit cues in the message, else detection
   (dialogs/language.py).
4. NLU; below the confidence threshold the bot says it is not sure.
5. Dispatch by intent to the answer, small-talk or fallback dialog.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from content.store import ContentStore
from content.text import fold
from dialogs.answer import AnswerDialog
from dialogs.fallback import FallbackDialog
from dialogs.language import ANSWER_LANGUAGES, LanguagePolicy
from dialogs.messages import Reply, UserMessage
from dialogs.replies import ReplyFactory
from dialogs.smalltalk import SmallTalkDialog
from dialogs.state import ConversationData
from nlu.client import NluClient, NluUnavailable, Parse

logger = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_SPACES = re.compile(r"\s+")
MIN_QUESTION_WORDS = 3


def normalise(text: str | None) -> str:
    """NFC, control and invisible characters removed, white space collapsed."""
    if not isinstance(text, str):
        return ""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


class Router:
    """Routes one message to a dialog and records what it offered for the next turn."""

    def __init__(
        self,
        content: ContentStore,
        nlu: NluClient,
        language: LanguagePolicy,
        confidence_threshold: float,
        suggestion_min_confidence: float,
        max_suggestions: int,
        max_message_chars: int,
    ) -> None:
        self._content = content
        self._nlu = nlu
        self._language = language
        self._threshold = confidence_threshold
        self._max_chars = max_message_chars
        self._replies = ReplyFactory(content)
        self._answers = AnswerDialog(content, self._replies)
        self._smalltalk = SmallTalkDialog(content, self._replies, self._answers)
        self._fallback = FallbackDialog(
            self._replies, set(content.topics), suggestion_min_confidence, max_suggestions
        )

    async def respond(self, message: UserMessage, state: ConversationData) -> list[Reply]:
        replies = await self._route(message, state)
        state.offered = {
            fold(button.label): button.payload for reply in replies for button in reply.buttons
        }
        return replies

    def error_reply(self, state: ConversationData, locale: str | None) -> Reply:
        """The fixed polite reply of the turn error handler."""
        return self._fallback.error(self._language.current(state, locale))

    def welcome(self, state: ConversationData, locale: str | None) -> list[Reply]:
        """Greeting when a user joins, in the channel's language, with language buttons."""
        language = self._language.current(state, locale)
        greeting = self._smalltalk.reply("greet", state, language)
        note = self._replies.ui_reply(
            "welcome_languages", language, "greet", self._replies.language_buttons(language)
        )
        # The greeting's own language buttons move to the note that explains them.
        first = greeting[0]
        return [Reply(first.text, first.topic, first.locale), note]

    async def _route(self, message: UserMessage, state: ConversationData) -> list[Reply]:
        text = normalise(message.text)
        payload = message.payload or state.offered.get(fold(text)) or {}
        if payload:
            routed = await self._route_payload(payload, state, message)
            if routed is not None:
                return routed
        language = self._language.current(state, message.locale)
        if not text:
            key = "attachment_only" if message.has_attachments else "empty_message"
            return [self._fallback.unreadable(key, language)]
        if len(text) > self._max_chars:
            return [self._fallback.unreadable("too_long", language, max_chars=self._max_chars)]
        if not has_words(text):
            return [self._fallback.unreadable("no_words", language)]

        cues = self._content.cues
        wants_plain = cues.wants_plain_language(text)
        requested = cues.requested_language(text)
        if wants_plain:
            state.choose_language("fi-x-selko")
        elif requested:
            state.choose_language(requested)
        language = self._language.observe(state, text, message.locale)
        explicit = wants_plain or bool(requested)
        nlu_text = text
        if explicit:
            # The NLU gets the question without the language request; a remainder of
            # one or two words ("selkokielellä kiitos") is too little to be a question.
            remainder = cues.without_language_cues(text)
            if len(remainder.split()) >= MIN_QUESTION_WORDS:
                nlu_text = remainder

        try:
            parse = await self._nlu.parse(nlu_text)
        except NluUnavailable:
            return [self._fallback.nlu_unavailable(language)]
        return self._dispatch(parse, text, state, language, explicit=explicit)

    def _dispatch(
        self, parse: Parse, text: str, state: ConversationData, language: str, explicit: bool
    ) -> list[Reply]:
        intent = parse.intent
        if explicit and not self._is_question(parse):
            # A language request with nothing else to answer: confirm and repeat.
            switched = "plain_language" if state.language == "fi-x-selko" else "change_language"
            return self._smalltalk.switch_language(switched, state, language)
        if intent == "plain_language":
            if language in ("sv", "en"):
                # "jag förstår inte": offer plain Finnish and the languages, don't force it.
                return self._smalltalk.choose_language_menu(language, intent)
            return self._smalltalk.switch_language(intent, state, "fi-x-selko")
        if intent == "change_language":
            target = self._language.guess(text)
            if target and target != language:
                return self._smalltalk.switch_language(intent, state, target)
            return self._smalltalk.choose_language_menu(language, intent)
        if parse.confidence < self._threshold:
            return [self._fallback.not_sure(parse, language)]
        if intent == "out_of_scope":
            return [self._fallback.out_of_scope(language)]
        if intent in self._content.topics:
            return [self._answers.begin(intent, state, language, text)]
        if intent in self._content.conversation:
            return self._smalltalk.reply(intent, state, language)
        logger.warning("NLU returned an intent without content: %s", intent)
        return [self._fallback.not_sure(parse, language)]

    def _is_question(self, parse: Parse) -> bool:
        """A topic or out-of-scope question, as opposed to small talk about the language."""
        return parse.intent in self._content.topics or parse.intent == "out_of_scope"

    async def _route_payload(
        self, payload: dict, state: ConversationData, message: UserMessage
    ) -> list[Reply] | None:
        """Buttons: a language, a level for the pending topic, or an intent to answer."""
        language = self._language.current(state, message.locale)
        chosen = payload.get("lang")
        if chosen in ANSWER_LANGUAGES:
            intent = "plain_language" if chosen == "fi-x-selko" else "change_language"
            return self._smalltalk.switch_language(intent, state, chosen)
        level = payload.get("level")
        if level in self._content.level_labels:
            reply = self._answers.on_level(level, state, language)
            return [reply] if reply is not None else None
        intent = payload.get("intent")
        if intent in self._content.topics:
            return [self._answers.begin(intent, state, language)]
        if intent in self._content.conversation and intent not in (
            "change_language",
            "plain_language",
        ):
            if intent == "out_of_scope":
                return [self._fallback.out_of_scope(language)]
            return self._smalltalk.reply(intent, state, language)
        return None
