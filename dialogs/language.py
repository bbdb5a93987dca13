"""Which language a reply is in.

Explicit choice > confident detection > the conversation's language > channel locale.

Detection is weak on 1-3 word messages, so it only overrides the conversation's
language when it is confident. On the very first message, with nothing else to
go on, a less confident guess still beats the configured default.
Plain Finnish (fi-x-selko) is never detected: a user asks for it, and a Finnish
message then keeps it.

Before the statistical detector, a message's small words are counted
(content/language.yml `function_words`): two or more of one language's and none
of another's settle it, as do fewer that are at least half the message
("hello", "no moro"). That is right on every labelled message it decides
(1,012 of 1,548) and fixes messages the trigram detector got wrong,
confidently ("is it gonna rain in helsinki this weekend" and "hello" read as
Finnish); it also spares the detector's work on most full sentences.
"""

from __future__ import annotations

from collections.abc import Callable

from dialogs.state import ConversationData
from nlu.language import Detection, LanguageDetector

ANSWER_LANGUAGES = ("fi", "sv", "en", "fi-x-selko")


def language_from_locale(locale: str | None) -> str | None:
    """Map a channel locale ("sv-FI", "en-US", "fi-x-selko") to an answer language."""
    if not locale or not isinstance(locale, str):
        return None
    lowered = locale.strip().lower().replace("_", "-")
    if lowered.startswith("fi-x-selko"):
        return "fi-x-selko"
    primary = lowered.split("-")[0]
    return primary if primary in ("fi", "sv", "en") else None


def letter_count(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


class LanguagePolicy:
    """Decides and records the conversation's answer language for each message."""

    def __init__(
        self,
        detector: LanguageDetector,
        default: str,
        min_confidence: float,
        first_message_min_confidence: float,
        min_letters: int,
        by_words: Callable[[str], str | None] | None = None,
    ) -> None:
        """`by_words`: the language a message's small words settle, or None (Cues)."""
        self._detector = detector
        self._by_words = by_words or (lambda text: None)
        self._default = default
        self._min_confidence = min_confidence
        self._first_min_confidence = first_message_min_confidence
        self._min_letters = min_letters

    def current(self, state: ConversationData, locale: str | None) -> str:
        """The language to answer in when the message itself says nothing new."""
        return state.language or language_from_locale(locale) or self._default

    def observe(self, state: ConversationData, text: str, locale: str | None) -> str:
        """Update the conversation's language from one message and return it."""
        if state.language_explicit:
            return self.current(state, locale)
        base = self.current(state, locale)
        if state.language is not None and len(text.split()) == 1:
            # One word in a conversation with a language: its reply in the word's
            # language only when the word is that language's own ("kiitos" in an
            # English conversation, a polite habit in Finland); a word the languages
            # share or borrow ("feedback", "respons") keeps the conversation's.
            # The conversation keeps its language either way.
            own = self._by_words(text)
            return base if own is None or (own == "fi" and base == "fi-x-selko") else own
        first_guess = state.language is None and language_from_locale(locale) is None
        threshold = self._first_min_confidence if first_guess else self._min_confidence
        detection = None
        if letter_count(text) >= self._min_letters:
            detection = self._detect(text)
        language = base
        if detection is not None and detection.confidence >= threshold:
            language = detection.language
            if language == "fi" and base == "fi-x-selko":
                language = base
        state.language = language
        return language

    def guess(self, text: str) -> str | None:
        """The detector's best guess whatever its confidence (for "kan du svenska?")."""
        detection = self._detect(text) if letter_count(text) >= 3 else None
        return detection.language if detection else None

    def _detect(self, text: str) -> Detection | None:
        by_words = self._by_words(text)
        if by_words is not None:
            return Detection(by_words, 1.0)
        return self._detector.detect(text)
