"""The content store: answers, UI strings and language cues loaded from YAML and validated.

Content is data that staff edit (docs/content-format.md). Loading checks the
schema and collects every problem before raising, so one start-up attempt shows
all the files to fix, not just the first.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from content.text import Phrase, Phrases, fold, original_words, words

LANGUAGES = ("fi", "sv", "en", "fi-x-selko")
LEVELS = ("ecec", "basic", "upper_secondary", "liberal_adult")
MIN_FUNCTION_WORDS = 2  # of one language, and none of another, to decide a message's language
OTHER_LANGUAGE_WORD_MIN_LETTERS = 4  # one word alone counts from this length ("Tere", "Hola")
OTHER_LANGUAGE_QUESTION_MAX_WORDS = 6  # "do you have info in somali"; longer is a question
UI_KEYS = (
    "clarify_level",
    "clarify_level_again",
    "level_not_covered",
    "distress",
    "distress_crisis_line",
    "greet_again",
    "level_noted",
    "no_easy_language",
    "other_language",
    "still_unclear",
    "not_sure_no_guesses",
    "not_sure",
    "nlu_unavailable",
    "empty_message",
    "no_words",
    "too_long",
    "attachment_only",
    "error",
    "read_more",
    "button_help",
    "choose_language",
    "welcome_languages",
    "language_continues",
    "storage_unavailable",
)
_URL = re.compile(r"https?://[^\s)>\]]+")
_WELL_FORMED_URL = re.compile(r"^https://[a-z0-9.-]+\.[a-z]{2,}(/[\w\-./?%&=#~+]*)?$", re.I)
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class ContentError(ValueError):
    """Content files do not match the schema; `problems` lists every finding."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid content:\n- " + "\n- ".join(problems))
        self.problems = problems


Texts = dict[str, str]


@dataclass(frozen=True)
class Entry:
    """One answerable thing: a participation topic or a conversation intent's reply."""

    id: str
    kind: str  # "topic" or "conversation"
    title: Texts
    answer: Texts | None
    related: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    ask: str | None = None
    variants: dict[str, Texts] = field(default_factory=dict)
    instead_at: dict[str, str] = field(default_factory=dict)  # level -> the topic answering there

    def text(self, language: str, level: str | None = None) -> str:
        """The answer for a language, the level's variant where there is one."""
        if level and level in self.variants:
            return self.variants[level][language]
        if self.answer is None:
            raise KeyError(f"{self.id} needs a level, one of {sorted(self.variants)}")
        return self.answer[language]

    def needs_level(self, level: str | None) -> bool:
        """True when the answer cannot be given without asking the level first."""
        if self.ask != "level":
            return False
        return not (level in self.variants or (level and self.answer is not None))


@dataclass(frozen=True)
class GuardianQuestion:
    """language.yml `guardian_question`: the general "how can I as a parent take part?"."""

    topic: str
    sure_above: float
    instead_of: frozenset[str]
    guardian: Phrases
    taking_part: Phrases

    def answers(self, text: str, intent: str, confidence: float, threshold: float) -> bool:
        """The message asks it and the NLU's answer is a general topic it is unsure of."""
        message = words(text)
        if not (self.guardian.found_in(message) and self.taking_part.found_in(message)):
            return False
        return confidence < threshold or (
            intent in self.instead_of and confidence < self.sure_above
        )


@dataclass(frozen=True)
class Cues:
    """Phrases in a message that choose the answer language or reveal the level."""

    plain_language: Phrases
    switch_language: dict[str, Phrases]
    language_names: dict[str, Phrases]
    levels: dict[str, Phrases]
    level_statement_words: frozenset[str]
    school_words: Phrases
    service_language: Phrases
    service_words: Phrases
    function_words: dict[str, frozenset[str]]
    other_languages: dict[str, frozenset[str]]
    other_language_names: Phrases
    other_language_questions: Phrases
    what_it_means: Phrases
    negations: frozenset[str]
    follow_up: Phrases
    openers: frozenset[str]
    announcements: Phrases
    distress: Phrases
    guardian_question: GuardianQuestion

    @cached_property
    def _language_requests(self) -> Phrases:
        """The phrases `without_language_cues` removes."""
        return Phrases(
            [*self.plain_language, *(p for ps in self.switch_language.values() for p in ps)]
        )

    def language_by_function_words(self, text: str) -> str | None:
        """The language whose small words the message uses, when that is unambiguous.

        Words of one language's list and none of the others', two or more of them
        or at least half the message ("hello", "no moro"); else None, and a
        statistical detector decides (dialogs/language.py).
        """
        message = words(text)
        hits = {
            language: sum(word in listed for word in message)
            for language, listed in self.function_words.items()
        }
        found = [language for language, count in hits.items() if count]
        if len(found) != 1:
            return None
        count = hits[found[0]]
        return found[0] if count >= MIN_FUNCTION_WORDS or 2 * count >= len(message) else None

    def other_language(self, text: str) -> str | None:
        """The language, not an answer language, whose small words the message uses:
        two or more of one such language's, and more than of the answer languages';
        or one such word of four letters or more as the whole message ("Tere!")."""
        message = words(text)
        ours = sum(word in listed for listed in self.function_words.values() for word in message)
        for language, listed in self.other_languages.items():
            count = sum(word in listed for word in message)
            if count >= MIN_FUNCTION_WORDS and count > ours:
                return language
            if count == len(message) == 1 and len(message[0]) >= OTHER_LANGUAGE_WORD_MIN_LETTERS:
                return language  # "Tere!", "Hola": a greeting alone
        return None

    def asks_what_it_means(self, text: str) -> bool:
        """The whole message says the last answer was not understood."""
        return self.what_it_means.is_whole(self.after_opener(text))

    def asks_for_other_language(self, text: str) -> bool:
        """A short question to the assistant naming a language it does not answer in
        ("puhutko somalia?", not "voiko koulussa opiskella saksaa?")."""
        message = words(text)
        return (
            len(message) <= OTHER_LANGUAGE_QUESTION_MAX_WORDS
            and self.other_language_names.found_in(message)
            and self.other_language_questions.found_in(message)
        )

    def after_opener(self, text: str) -> list[str]:
        """The message's words without one greeting-like first word ("hei", "hello")."""
        message = words(text)
        return message[1:] if message and message[0] in self.openers else message

    def without_opener(self, text: str) -> str:
        """The message as written, without one greeting-like first word."""
        first = next(iter(original_words(text)), "")
        if not first or fold(first) not in self.openers or first not in text:
            return text
        rest = text[text.index(first) + len(first) :]
        return rest.lstrip(" ,.!:;-")

    def announces_question(self, text: str) -> bool:
        """The whole message says a question is coming ("minulla on kysymys", "I have a
        question"): the NLU read it as goodbye ("I have to go"), so it is not asked."""
        return self.announcements.is_whole(self.after_opener(text))

    def language_request_only(self, text: str) -> str | None:
        """The language a message asks for when that is all it says ("på svenska",
        "in English please", "selkokielellä"), else None."""
        if self.wants_plain_language(text):
            language = "fi-x-selko"
        else:
            language = self.requested_language(text)
        if language is None:
            return None
        named = any(names.is_whole(words(text)) for names in self.language_names.values())
        return language if named or len(words(self.without_language_cues(text))) <= 1 else None

    def tells_of_distress(self, text: str) -> bool:
        """Bullying, feeling unsafe or in despair ("mua kiusataan", "I don't feel safe")."""
        return self.distress.found_in(words(text))

    def is_follow_up(self, text: str) -> bool:
        """The message opens like a follow-up question ("entä ...", "what about ...")."""
        return self.follow_up.opens(words(text))

    def wants_plain_language(self, text: str) -> bool:
        return self.plain_language.found_in(words(text))

    @cached_property
    def _language_phrases(self) -> Phrases:
        """Every phrase `requested_language` looks for: almost every message holds none."""
        return Phrases(
            p
            for phrases in (*self.switch_language.values(), *self.language_names.values())
            for p in phrases
        )

    def requested_language(self, text: str) -> str | None:
        """A language asked for by phrase ("på svenska") or by a bare name ("English")."""
        message = words(text)
        # Each answer below needs one of these phrases in the message. One look over
        # them all settles the usual question (4 of 300 held-out questions hold one),
        # where the languages one by one took over twice as long: it runs before the
        # question leaves for the NLU (question_for_nlu).
        if not self._language_phrases.found_in(message):
            return None
        return self._language_requested_in(message)

    def _language_requested_in(self, message: list[str]) -> str | None:
        for language, phrases in self.switch_language.items():
            if any(not self._negated(message, span.start) for span in phrases.spans(message)):
                return language
        # A bare name, also after a follow-up opening: "entä ruotsiksi?", "and in English?"
        rests = [message] + [
            message[s.stop :] for s in self.follow_up.spans(message) if s.start == 0
        ]
        for language, phrases in self.language_names.items():
            if any(phrases.is_whole(rest) for rest in rests):
                return language
        return None

    def _negated(self, message: list[str], start: int) -> bool:
        """A negation right before `start`: "I don't speak Finnish" is no request to
        speak it ("don't" is the words "don" and "t"). Only the one word before: the
        Swedish article "en" is also the Finnish "I don't"."""
        return start > 0 and message[start - 1] in self.negations

    def without_language_cues(self, text: str) -> str:
        """The message with plain-language and language-switch phrases removed.

        "mikä on ruutiraha? sano helposti" -> "mikä on ruutiraha": the NLU then sees
        the question, not the request about the language, which the language
        layer has already handled.
        """
        originals = original_words(text)
        message = [fold(word) for word in originals]
        covered = {i for span in self._language_requests.spans(message) for i in span}
        return " ".join(word for i, word in enumerate(originals) if i not in covered)

    def level(self, text: str) -> str | None:
        """The learner's level if the message names exactly one."""
        return self._level_of(text)

    @cached_property
    def _level_of(self) -> Callable[[str], str | None]:
        """`level`, remembered for recent messages: a turn asks it up to five times, two
        of them after the NLU's answer, where every step is on the user's wait."""

        def level_of(text: str) -> str | None:
            message = words(text)
            found = [lvl for lvl, phrases in self.levels.items() if phrases.found_in(message)]
            return found[0] if len(found) == 1 else None

        return lru_cache(maxsize=1024)(level_of)

    def asks_about_service_language(self, text: str) -> bool:
        """A language as a kind of service: "is there Swedish-language daycare?"."""
        message = words(text)
        return self.service_language.found_in(message) and self.service_words.found_in(message)

    def school_level(self, text: str) -> str | None:
        """Basic education, when the message names a school without its kind ("koulussa",
        "i skolan", "at school"): for follow-ups after an answer for another level."""
        return "basic" if self.school_words.found_in(words(text)) else None

    def tells_level(self, text: str) -> str | None:
        """The level a message only tells ("olen amiksessa", "im in grade 8"): its one
        level's name, and nothing but `level_statement_words` besides."""
        level = self.level(text)
        if level is None:
            return None
        message = words(text)
        named = {i for span in self.levels[level].spans(message) for i in span}
        rest = [word for i, word in enumerate(message) if i not in named]
        return level if all(word in self.level_statement_words for word in rest) else None


FEEDBACK_TEXT_KEYS = (
    "ask_category", "choose_one", "ask_unit", "ask_text", "text_too_long",
    "unit_too_long", "ask_wants_reply", "ask_contact_method", "ask_email", "ask_phone",
    "bad_email", "bad_phone", "ask_consent", "consent_declined", "summary", "no_unit",
    "no_reply", "reply_to", "redacted_note", "mark_identity_code", "mark_phone",
    "mark_email", "mark_name", "ask_send", "ask_edit", "stored",
    "stored_contact", "stored_no_contact", "formal_complaints", "not_saved", "cancelled",
    "expired", "help", "rated_up", "ask_comment", "comment_saved", "comment_no_reply",
    "comment_skipped", "no_draft", "offer_opening", "text_taken", "category_chosen",
    "about_category", "about_unit", "ask_unit_or_text",
)  # fmt: skip
FEEDBACK_BUTTON_KEYS = (
    "skip", "yes", "no", "email", "phone", "send", "edit", "cancel", "retry",
    "edit_category", "edit_unit", "edit_text", "edit_contact", "rate_up", "rate_down",
    "use_opening", "as_unit", "as_text",
)  # fmt: skip


@dataclass(frozen=True)
class FeedbackCategory:
    id: str
    service_code: str
    label: Texts
    words: Phrases  # typed words that name it ("koulun ruoka", "skolmaten", "lunch")


# The steps whose buttons can also be answered by typing, and the answers' word lists
# (feedback.yml `answers`). A typed answer is short; a longer message at these steps
# is something else and gets the question again.
TYPED_ANSWERS = {
    "wants_reply": ("yes", "no"),
    "consent": ("yes", "no"),
    "contact_method": ("email", "phone"),
    "contact": ("no",),  # "en halua antaa numeroa": no reply after all
    "unit": ("skip", "no", "yes"),  # "en tiedä", "ei": no unit; "ok": no unit name either
    "text": ("yes", "no", "skip"),  # to "Use that message", or a bare "ok" that is no feedback
    "confirm": ("send",),  # "joo", "lähetä se", "yes send it"
}
MAX_TYPED_WORDS = 4
# "I don't want to give my number" (i, don, t, want, ...) at the address question.
MAX_TYPED_ANSWER_WORDS = {"contact": 8}
# On the summary, what to change can be typed too ("teksti", "change the unit").
EDIT_PARTS = ("category", "unit", "text", "contact")
# Where a free text is also a fair answer ("ei toimi" is feedback, "Ei koulua" a
# unit), a typed answer must be the whole message; these words may come with it.
WHOLE_ANSWER_STEPS = frozenset({"unit", "text", "confirm"})
POLITE_WORDS = frozenset({"kiitos", "kiitti", "tack", "thanks", "please", "pls"})
OTHER_CATEGORY = "other"


@dataclass(frozen=True)
class FeedbackContent:
    """The feedback dialog's categories, texts, buttons and command words (feedback.yml)."""

    categories: dict[str, FeedbackCategory]
    texts: dict[str, Texts]
    buttons: dict[str, Texts]
    cancel_words: frozenset[str]
    help_words: frozenset[str]
    requests: Phrases
    questions: Phrases
    question_openers: frozenset[str]
    answers: dict[str, Phrases]

    def text(self, key: str, language: str, **values: Any) -> str:
        text = self.texts[key][language]
        return text.format(**values) if values else text

    def is_cancel(self, text: str) -> bool:
        return _whole_message(text) in self.cancel_words

    def is_help(self, text: str) -> bool:
        return _whole_message(text) in self.help_words

    def asks_about_step(self, step: str, text: str) -> bool:
        """A question about what the category or unit step asks ("what do you mean by
        unit?"), or at the unit step a question ("mikä on ruutiraha?": a question word
        first, a question mark last; "Kallion ala-aste?" is a unit's name)."""
        if step not in ("category", "unit"):
            return False
        message = words(text)
        if self.questions.found_in(message):
            return True
        return (
            step == "unit"
            and text.rstrip().endswith("?")
            and bool(message)
            and message[0] in self.question_openers
        )

    def is_request(self, message_words: list[str]) -> bool:
        """The message opens with "I want to complain" or the like. `message_words`: its
        words after a greeting (`Cues.after_opener`); a question that only mentions a
        request ("who do I contact if I want to complain", "jos haluan antaa
        palautetta, kenelle...") does not open with one."""
        return self.requests.opens(message_words)

    def typed_answer(self, step: str, text: str) -> tuple[str, str | None] | None:
        """The button a typed message stands for at a step, as (action, value); None when
        it names none or more than one.

        A category counts when its words are anywhere in the message (the feedback
        itself may come as the answer); "something else" only when no other
        category is named ("ruoka ja muu" is about the food).
        """
        message = words(text)
        if step == "category":
            found = [c.id for c in self.categories.values() if c.words.found_in(message)]
            if len(found) > 1 and OTHER_CATEGORY in found:
                found.remove(OTHER_CATEGORY)
            return ("category", found[0]) if len(found) == 1 else None
        choices = TYPED_ANSWERS.get(step, ())
        if not choices or len(message) > MAX_TYPED_ANSWER_WORDS.get(step, MAX_TYPED_WORDS):
            return None
        if step in WHOLE_ANSWER_STEPS:
            bare = [word for word in message if word not in POLITE_WORDS]
            found = [choice for choice in choices if self.answers[choice].is_whole(bare)]
        else:
            found = [choice for choice in choices if self.answers[choice].found_in(message)]
        if len(found) == 1:
            return found[0], None
        if step == "confirm":
            parts = [p for p in EDIT_PARTS if self.answers[f"edit_{p}"].found_in(message)]
            return ("edit", parts[0]) if len(parts) == 1 else None
        return None


def _whole_message(text: str) -> str:
    """A message folded for whole-message command words; punctuation-only kept as is."""
    folded = " ".join(words(text))
    return folded or text.strip()


@dataclass(frozen=True)
class ContentStore:
    """All content, looked up by id; built only by `load_content`."""

    topics: dict[str, Entry]
    conversation: dict[str, Entry]
    ui: dict[str, Texts]
    level_labels: dict[str, Texts]
    language_labels: Texts
    cues: Cues
    links: dict[str, str]
    feedback: FeedbackContent

    def entry(self, entry_id: str) -> Entry:
        return self.topics.get(entry_id) or self.conversation[entry_id]

    def ui_text(self, key: str, language: str, **values: Any) -> str:
        text = self.ui[key][language]
        return text.format(**values) if values else text

    @cached_property
    def _titles(self) -> dict[str, str]:
        """Each topic's title in every language, as words, -> the topic (unique titles)."""
        found: dict[str, set[str]] = {}
        for topic in self.topics.values():
            for title in topic.title.values():
                found.setdefault(" ".join(words(title)), set()).add(topic.id)
        return {key: ids.pop() for key, ids in found.items() if len(ids) == 1 and key}

    def topic_titled(self, text: str) -> str | None:
        """The topic whose title the whole message is ("Vanhempaintoimikunta", "Who is
        responsible?"): a menu label typed, or remembered from an earlier menu."""
        return self._titles.get(" ".join(words(text)))


class _Checker:
    """Collects schema problems with the file they were found in."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def texts(self, where: str, raw: Any, *, max_chars: int = 2000) -> Texts:
        if not isinstance(raw, dict):
            self.fail(where, f"expected a mapping with keys {', '.join(LANGUAGES)}")
            return {}
        result: Texts = {}
        for language in LANGUAGES:
            value = raw.get(language)
            if not isinstance(value, str) or not value.strip():
                self.fail(where, f"missing or empty text for language {language!r}")
                continue
            if len(value) > max_chars:
                self.fail(where, f"{language} text longer than {max_chars} characters")
            for url in _URL.findall(value):
                if not _WELL_FORMED_URL.match(url):
                    self.fail(where, f"{language} text has a malformed or non-https link {url!r}")
            result[language] = value.strip()
        extra = sorted(set(raw) - set(LANGUAGES))
        if extra:
            self.fail(where, f"unknown language keys {extra}")
        return result

    def id_list(self, where: str, raw: Any, allowed: set[str], what: str) -> tuple[str, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            self.fail(where, f"expected a list of {what}")
            return ()
        for item in raw:
            if item not in allowed:
                self.fail(where, f"unknown {what} {item!r}")
        return tuple(raw)


def _read_yaml(path: Path, checker: _Checker) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        checker.fail(str(path.name), f"cannot be read as YAML: {error}")
        return None


def read_topic_ids(path: Path) -> tuple[list[str], list[str]]:
    """Participation topic ids and conversation intent ids from topics.yml."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    topics = [item["id"] for item in data["participation_topics"]]
    conversation = [item["id"] for item in data["conversation_intents"]]
    return topics, conversation


def _load_entry(
    path: Path, kind: str, related_ids: set[str], link_names: set[str], checker: _Checker
) -> Entry | None:
    where = f"{kind}s/{path.name}" if kind == "topic" else f"conversation/{path.name}"
    raw = _read_yaml(path, checker)
    if not isinstance(raw, dict):
        checker.fail(where, "expected a mapping")
        return None
    known = {
        "id",
        "title",
        "answer",
        "related",
        "links",
        "sources",
        "ask",
        "variants",
        "instead_at",
    }
    for key in sorted(set(raw) - known):
        checker.fail(where, f"unknown key {key!r}")
    entry_id = raw.get("id")
    if entry_id != path.stem:
        checker.fail(where, f"id {entry_id!r} differs from the file name")
    ask = raw.get("ask")
    variants: dict[str, Texts] = {}
    if ask is not None:
        if ask != "level":
            checker.fail(where, "ask must be 'level'")
        raw_variants = raw.get("variants")
        if not isinstance(raw_variants, dict) or len(raw_variants) < 2:
            checker.fail(where, "ask: level needs at least two variants")
        else:
            for level, texts in raw_variants.items():
                if level not in LEVELS:
                    checker.fail(where, f"unknown level {level!r} in variants")
                variants[level] = checker.texts(f"{where} variants.{level}", texts)
    elif "variants" in raw:
        checker.fail(where, "variants need ask: level")
    answer = None
    if "answer" in raw or not variants:
        answer = checker.texts(f"{where} answer", raw.get("answer"))
    sources = raw.get("sources") or []
    if kind == "topic" and not sources:
        checker.fail(where, "a topic needs sources pointing into the participation plan")
    if not isinstance(sources, list) or not all(isinstance(s, str) and s for s in sources):
        checker.fail(where, "sources must be a list of strings")
        sources = []
    related = checker.id_list(where, raw.get("related"), related_ids, "related topic")
    if entry_id in related:
        checker.fail(where, "an entry cannot be related to itself")
    instead_at = raw.get("instead_at") or {}
    if not isinstance(instead_at, dict) or not all(
        level in LEVELS
        and other in related_ids
        and other not in RELATED_DIALOGS
        and other != entry_id
        for level, other in instead_at.items()
    ):
        checker.fail(where, "instead_at maps a level to another topic's id")
        instead_at = {}
    return Entry(
        id=str(entry_id),
        kind=kind,
        title=checker.texts(f"{where} title", raw.get("title"), max_chars=60),
        answer=answer,
        related=related,
        links=checker.id_list(where, raw.get("links"), link_names, "link"),
        sources=tuple(sources),
        ask=ask,
        variants=variants,
        instead_at={str(level): str(other) for level, other in instead_at.items()},
    )


def _phrases(where: str, raw: Any, checker: _Checker) -> Phrases:
    if not isinstance(raw, list) or not raw:
        checker.fail(where, "expected a non-empty list of phrases")
        return Phrases(())
    phrases = []
    for item in raw:
        if isinstance(item, bool):  # YAML reads a bare yes, no, on or off as a truth value
            checker.fail(where, f"{item!r} is not a phrase: write the word in quotes")
            continue
        try:
            phrases.append(Phrase(str(item)))
        except ValueError as error:
            checker.fail(where, str(error))
    return Phrases(phrases)


def _phrase_map(where: str, raw: Any, keys: tuple[str, ...], checker: _Checker):
    if not isinstance(raw, dict):
        checker.fail(where, "expected a mapping")
        return {}
    for key in sorted(set(raw) - set(keys)):
        checker.fail(where, f"unknown key {key!r}")
    return {key: _phrases(f"{where}.{key}", raw[key], checker) for key in keys if key in raw}


def _guardian_question(raw: Any, checker: _Checker) -> GuardianQuestion:
    where = "language.yml guardian_question"
    raw = raw if isinstance(raw, dict) else {}
    topic, instead_of, sure = raw.get("topic"), raw.get("instead_of"), raw.get("sure_above")
    if not isinstance(topic, str) or not isinstance(instead_of, list):
        checker.fail(where, "needs a topic and an instead_of list")
    if not isinstance(sure, float) or not 0 < sure <= 1:
        checker.fail(where, "needs sure_above, a confidence between 0 and 1")
    return GuardianQuestion(
        topic=str(topic),
        sure_above=sure if isinstance(sure, float) else 0.0,
        instead_of=frozenset(str(item) for item in instead_of or []),
        guardian=_phrases(f"{where}.guardian", raw.get("guardian"), checker),
        taking_part=_phrases(f"{where}.taking_part", raw.get("taking_part"), checker),
    )


def _load_cues(path: Path, checker: _Checker) -> Cues:
    raw = _read_yaml(path, checker) or {}
    languages = ("fi", "sv", "en")
    function_words = _function_words(raw.get("function_words"), languages, checker)
    return Cues(
        plain_language=_phrases("language.yml plain_language", raw.get("plain_language"), checker),
        switch_language=_phrase_map(
            "language.yml switch_language", raw.get("switch_language"), languages, checker
        ),
        language_names=_phrase_map(
            "language.yml language_names", raw.get("language_names"), languages, checker
        ),
        levels=_phrase_map("language.yml levels", raw.get("levels"), LEVELS, checker),
        school_words=_phrases("language.yml school_words", raw.get("school_words"), checker),
        service_language=_phrases(
            "language.yml service_language.language",
            (raw.get("service_language") or {}).get("language"),
            checker,
        ),
        service_words=_phrases(
            "language.yml service_language.service",
            (raw.get("service_language") or {}).get("service"),
            checker,
        ),
        level_statement_words=_single_words(
            "language.yml level_statement_words", raw.get("level_statement_words"), checker
        ),
        function_words=function_words,
        other_languages=_other_languages(raw.get("other_languages"), function_words, checker),
        other_language_questions=_phrases(
            "language.yml other_language_questions", raw.get("other_language_questions"), checker
        ),
        what_it_means=_phrases("language.yml what_it_means", raw.get("what_it_means"), checker),
        other_language_names=_phrases(
            "language.yml other_language_names", raw.get("other_language_names"), checker
        ),
        negations=_single_words("language.yml negations", raw.get("negations"), checker),
        follow_up=_phrases("language.yml follow_up", raw.get("follow_up"), checker),
        openers=_single_words("language.yml openers", raw.get("openers"), checker),
        announcements=_phrases("language.yml announcements", raw.get("announcements"), checker),
        distress=_phrases("language.yml distress", raw.get("distress"), checker),
        guardian_question=_guardian_question(raw.get("guardian_question"), checker),
    )


def _function_words(
    raw: Any, languages: tuple[str, ...], checker: _Checker
) -> dict[str, frozenset[str]]:
    """Folded single words per language; a word in two languages' lists is an error."""
    where = "language.yml function_words"
    if not isinstance(raw, dict) or set(raw) != set(languages):
        checker.fail(where, f"expected lists for exactly {', '.join(languages)}")
        return {}
    result = {
        language: _single_words(f"{where}.{language}", raw[language], checker)
        for language in languages
    }
    _listed_once(where, result, checker)
    return result


def _listed_once(where: str, lists: dict[str, frozenset[str]], checker: _Checker) -> None:
    """A small word tells one language: listed for two, it is an error."""
    for first, second in itertools.combinations(lists, 2):
        for word in sorted(lists[first] & lists[second]):
            checker.fail(where, f"{word!r} is listed for both {first} and {second}")


def _other_languages(
    raw: Any, function_words: dict[str, frozenset[str]], checker: _Checker
) -> dict[str, frozenset[str]]:
    """Folded small words of languages the assistant does not answer in; none may be an
    answer language's small word too, nor listed for two languages."""
    where = "language.yml other_languages"
    if not isinstance(raw, dict) or not raw or set(raw) & set(function_words):
        checker.fail(where, "expected lists for languages other than the answer languages")
        return {}
    result = {
        code: _single_words(f"{where}.{code}", listed, checker) for code, listed in raw.items()
    }
    _listed_once(where, {**function_words, **result}, checker)
    return result


def _single_words(where: str, raw: Any, checker: _Checker) -> frozenset[str]:
    """A non-empty YAML list of single words, folded."""
    listed = raw if isinstance(raw, list) else []
    folded = [words(item) if isinstance(item, str) else [] for item in listed]
    if not folded or any(len(item) != 1 for item in folded):
        # A bare `on` or `no` in YAML is a boolean, not a word: it must be quoted.
        checker.fail(where, "expected a non-empty list of single words")
    return frozenset(item[0] for item in folded if len(item) == 1)


def _load_feedback(path: Path, checker: _Checker) -> FeedbackContent:
    raw = _read_yaml(path, checker) or {}
    where = "feedback.yml"
    categories = {}
    for category_id, item in (raw.get("categories") or {}).items():
        item = item if isinstance(item, dict) else {}
        code = item.get("service_code")
        if not isinstance(code, str) or not _ID.match(code.replace("-", "_")):
            checker.fail(f"{where} categories.{category_id}", "needs a service_code")
        label = checker.texts(f"{where} categories.{category_id}", item.get("label"), max_chars=60)
        typed = _phrases(f"{where} categories.{category_id}.words", item.get("words"), checker)
        categories[str(category_id)] = FeedbackCategory(str(category_id), str(code), label, typed)
    if not categories:
        checker.fail(where, "needs categories")
    elif OTHER_CATEGORY not in categories:
        checker.fail(where, f"needs the category {OTHER_CATEGORY!r}")
    command_words = raw.get("words") or {}
    found = {}
    for kind in ("cancel", "help"):
        items = command_words.get(kind)
        if not isinstance(items, list) or not items:
            checker.fail(f"{where} words.{kind}", "expected a non-empty list")
            items = []
        found[kind] = frozenset(_whole_message(str(item)) for item in items)
    answer_keys = tuple(
        sorted(
            {a for pair in TYPED_ANSWERS.values() for a in pair} | {f"edit_{p}" for p in EDIT_PARTS}
        )
    )
    answers = _phrase_map(f"{where} answers", raw.get("answers"), answer_keys, checker)
    for key in sorted(set(answer_keys) - set(answers)):
        checker.fail(f"{where} answers.{key}", "missing")
    texts_raw = raw.get("texts") or {}
    buttons_raw = raw.get("buttons") or {}
    return FeedbackContent(
        categories=categories,
        texts={
            k: checker.texts(f"{where} texts.{k}", texts_raw.get(k)) for k in FEEDBACK_TEXT_KEYS
        },
        buttons={
            k: checker.texts(f"{where} buttons.{k}", buttons_raw.get(k), max_chars=40)
            for k in FEEDBACK_BUTTON_KEYS
        },
        cancel_words=found["cancel"],
        help_words=found["help"],
        requests=_phrases(f"{where} requests", raw.get("requests"), checker),
        questions=_phrases(f"{where} questions", raw.get("questions"), checker),
        question_openers=_single_words(
            f"{where} question_openers", raw.get("question_openers"), checker
        ),
        answers=answers,
    )


# Besides topics, `related` may offer the button that starts the feedback dialog
# here in the chat: an answer that says "you can also give feedback here" then
# offers the way to do it.
RELATED_DIALOGS = ("give_feedback",)


def load_content(folder: Path, links: dict[str, str]) -> ContentStore:
    """Load and validate all content under `folder`; raise ContentError listing every problem."""
    checker = _Checker()
    topic_ids, conversation_ids = read_topic_ids(folder / "topics.yml")
    related_ids = set(topic_ids) | set(RELATED_DIALOGS)
    link_names = set(links)
    entries: dict[str, dict[str, Entry]] = {"topic": {}, "conversation": {}}
    for kind, subfolder, expected in (
        ("topic", "topics", topic_ids),
        ("conversation", "conversation", conversation_ids),
    ):
        for entry_id in expected:
            path = folder / subfolder / f"{entry_id}.yml"
            if not path.is_file():
                checker.fail(f"{subfolder}/{entry_id}.yml", "missing")
                continue
            entry = _load_entry(path, kind, related_ids, link_names, checker)
            if entry is not None:
                entries[kind][entry_id] = entry
        for path in sorted((folder / subfolder).glob("*.yml")):
            if path.stem not in expected:
                checker.fail(f"{subfolder}/{path.name}", "not an id listed in topics.yml")
    ui_raw = _read_yaml(folder / "ui.yml", checker) or {}
    ui = {key: checker.texts(f"ui.yml {key}", ui_raw.get(key)) for key in UI_KEYS}
    level_labels = {
        level: checker.texts(f"ui.yml levels.{level}", (ui_raw.get("levels") or {}).get(level))
        for level in LEVELS
    }
    language_labels = checker.texts("ui.yml languages", ui_raw.get("languages"), max_chars=30)
    cues = _load_cues(folder / "language.yml", checker)
    guardian = cues.guardian_question
    unknown = sorted(guardian.instead_of - set(topic_ids) - set(conversation_ids))
    if guardian.topic not in topic_ids:
        unknown.insert(0, guardian.topic)
    for name in unknown:
        checker.fail("language.yml guardian_question", f"unknown topic {name!r}")
    feedback = _load_feedback(folder / "feedback.yml", checker)
    if checker.problems:
        raise ContentError(checker.problems)
    return ContentStore(
        topics=entries["topic"],
        conversation=entries["conversation"],
        ui=ui,
        level_labels=level_labels,
        language_labels=language_labels,
        cues=cues,
        links=dict(links),
        feedback=feedback,
    )
