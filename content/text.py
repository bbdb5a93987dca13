"""Text folding and phrase matching shared by the content cues and the NLU front end.

Users type without umlauts ("paivakoti"), in any case, with punctuation around
words. Cue phrases in content/language.yml are matched on folded word lists so
that one list entry covers all those spellings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

_FOLD = str.maketrans({"ä": "a", "ö": "o", "å": "a", "é": "e", "ü": "u"})
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case, NFKC-normalise and strip Nordic accents."""
    return unicodedata.normalize("NFKC", text).lower().translate(_FOLD)


@lru_cache(maxsize=1024)
def _folded_words(text: str) -> tuple[str, ...]:
    return tuple(fold(word) for word in original_words(text))


def words(text: str) -> list[str]:
    """The folded words of a text, punctuation dropped (cached: a turn asks several times)."""
    return list(_folded_words(text))


def original_words(text: str) -> list[str]:
    """The words of a text as written (NFKC), punctuation dropped."""
    return _WORD.findall(unicodedata.normalize("NFKC", text))


class Phrase:
    """One cue phrase: folded words, where a trailing '*' on a word matches any ending."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.parts = [(w.rstrip("*"), w.endswith("*")) for w in fold(source).split()]
        if not self.parts or not all(stem for stem, _ in self.parts):
            raise ValueError(f"empty cue phrase {source!r}")

    def _word_matches(self, word: str, index: int) -> bool:
        stem, is_prefix = self.parts[index]
        return word.startswith(stem) if is_prefix else word == stem

    def spans(self, message_words: list[str]) -> list[range]:
        """Where the phrase occurs as consecutive words of the message (word indexes)."""
        size = len(self.parts)
        found = []
        for start in range(len(message_words) - size + 1):
            # The first word decides for almost every position: check it alone first.
            if self._word_matches(message_words[start], 0) and all(
                self._word_matches(message_words[start + i], i) for i in range(1, size)
            ):
                found.append(range(start, start + size))
        return found

    def found_in(self, message_words: list[str]) -> bool:
        """True when the phrase occurs as consecutive words of the message."""
        return bool(self.spans(message_words))

    def is_whole(self, message_words: list[str]) -> bool:
        """True when the message consists of this phrase only."""
        return len(message_words) == len(self.parts) and self.found_in(message_words)


PREFIX_KEY = 3  # a '*' stem is indexed by its first letters (cue stems are longer)


class Phrases:
    """Cue phrases, looked up by their first word.

    Every free-text question is checked against the cues (about 190 phrases).
    Checking every phrase at every word of the message was a tenth of the bot's
    CPU time in a turn; the index narrows that to the few phrases that can begin
    at one of the message's words, with the same answers.
    """

    def __init__(self, phrases: Iterable[Phrase]) -> None:
        self._all = tuple(phrases)
        self._exact: dict[str, list[Phrase]] = {}
        self._prefixed: dict[str, list[Phrase]] = {}
        self._short: list[Phrase] = []  # '*' stems shorter than PREFIX_KEY: always tried
        for phrase in self._all:
            stem, is_prefix = phrase.parts[0]
            if not is_prefix:
                self._exact.setdefault(stem, []).append(phrase)
            elif len(stem) >= PREFIX_KEY:
                self._prefixed.setdefault(stem[:PREFIX_KEY], []).append(phrase)
            else:
                self._short.append(phrase)

    def __iter__(self) -> Iterator[Phrase]:
        return iter(self._all)

    def _candidates(self, message_words: list[str]) -> set[Phrase]:
        """The phrases whose first word matches some word of the message (every caller's
        answer is the same in any order)."""
        found = set(self._short)
        exact, prefixed = self._exact, self._prefixed
        for word in message_words:  # most words begin no phrase: test before updating
            if word in exact:
                found.update(exact[word])
            key = word[:PREFIX_KEY]
            if key in prefixed:
                found.update(prefixed[key])
        return found

    def spans(self, message_words: list[str]) -> list[range]:
        return [
            s for phrase in self._candidates(message_words) for s in phrase.spans(message_words)
        ]

    def found_in(self, message_words: list[str]) -> bool:
        return any(phrase.found_in(message_words) for phrase in self._candidates(message_words))

    def is_whole(self, message_words: list[str]) -> bool:
        return any(phrase.is_whole(message_words) for phrase in self._candidates(message_words))

    def opens(self, message_words: list[str], after: int = 0) -> bool:
        """True when a phrase begins the message, after at most `after` other words
        ("hei, haluan valittaa": one greeting word first)."""
        return any(span.start <= after for span in self.spans(message_words))
