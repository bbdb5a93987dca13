"""The turn: one user message in, the replies out, channel-independent.

Order of decisions, each with its reason:
0. Records the database refused earlier are retried; an abandoned feedback
   draft expires (dialogs/feedback.py, dialogs/quality.py).
1. Button payloads route directly (no NLU guess needed for what the bot offered).
   A feedback dialog in progress, or the comment after a 👎, takes the message
   before any NLU: what the user types there is an answer, not a question.
2. Unreadable input (empty, no words, too long, attachments only) gets a clear
   reply before any NLU call, so it never costs a Rasa round trip.
3. The answer language: explicit cues in the message, else detection
   (dialogs/language.py).
4. NLU; below the confidence threshold the bot says it is not sure. A message
   that only names a level ("lukiossa", "entä päiväkodissa?") answers the topic
   asked about just before, unless the NLU is sure of a topic of its own.
5. Dispatch by intent to the answer, feedback, small-talk or fallback dialog.
   Questions that get a fallback are recorded for content-gap review.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime

from bot.storage.redaction import redact
from content.store import ContentStore
from content.text import fold, words
from dialogs.answer import AnswerDialog
from dialogs.fallback import FallbackDialog
from dialogs.feedback import FeedbackDialog, FeedbackSettings
from dialogs.language import ANSWER_LANGUAGES, LanguagePolicy, language_from_locale
from dialogs.messages import Button, Reply, UserMessage, typed_payload
from dialogs.quality import QualityDialog
from dialogs.records import RecordSink
from dialogs.replies import ReplyFactory
from dialogs.smalltalk import SmallTalkDialog
from dialogs.state import ConversationData
from nlu.client import NluClient, NluUnavailable, Parse

logger = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_SPACES = re.compile(r"\s+")
# A word character other than a digit, "_" or an ASCII or U+00C0-U+024F letter.
_MAYBE_NOT_LATIN = re.compile(r"[^\W\d_A-Za-z\u00c0-\u024f]")
MIN_QUESTION_WORDS = 3
GREETED_QUESTION_MIN_WORDS = 5
# A follow-up that leans on the previous answer is short; the NLU reads it as out of
# scope, but not surely ("milloin on vaalit?" 0.59; "paljonko bussilippu maksaa" 0.99).
FOLLOW_UP_MAX_WORDS = 6
SURE_TOPIC = 0.6  # a question typed as a 👎 comment is answered only when this sure
FOLLOW_UP_OUT_BELOW = 0.65
# A typed reply to the level question is a few words ("mun lapsi on eskarissa"); a
# longer message naming a level is a question of its own.
LEVEL_REPLY_MAX_WORDS = 6
LEVEL_ONLY_MAX_WORDS = 2  # "peruskoulu", "eskarissa": a level and nothing else
# Intents a short reply to the level question is acted on as, not asked again.
_ACTS_ON_ITS_OWN = frozenset(
    {"cancel", "give_feedback", "help", "change_language", "plain_language", "human_contact",
     "privacy", "bot_challenge", "goodbye", "thanks"}
)  # fmt: skip


def normalise(text: str | None) -> str:
    """NFC, control and invisible characters removed, white space collapsed."""
    if not isinstance(text, str):
        return ""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def is_latin_script(text: str) -> bool:
    """Most letters are Latin (Finnish, Swedish, English all are); Cyrillic or Arabic
    script is a language the assistant does not answer in."""
    if text.isascii() or not _MAYBE_NOT_LATIN.search(text):
        return True  # Finnish, Swedish and English letters only: the usual message
    letters = [ch for ch in text if ch.isalpha()]
    latin = sum(unicodedata.name(ch, "").startswith("LATIN") for ch in letters)
    return 2 * latin >= len(letters)


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
        records: RecordSink,
        feedback: FeedbackSettings | None = None,
        max_comment_chars: int = 500,
        clock: Callable[[], datetime] | None = None,
        crisis_line: str = "",
    ) -> None:
        self._content = content
        self._nlu = nlu
        self._language = language
        self._threshold = confidence_threshold
        self._max_chars = max_message_chars
        self._clock = clock or (lambda: datetime.now(UTC))
        self._replies = ReplyFactory(content)
        self._quality = QualityDialog(content, self._replies, records, max_comment_chars)
        self._feedback = FeedbackDialog(
            content, self._replies, records, feedback or FeedbackSettings()
        )
        self._answers = AnswerDialog(content, self._replies, self._quality.rating_buttons)
        self._smalltalk = SmallTalkDialog(content, self._replies, self._answers)
        self._fallback = FallbackDialog(
            self._replies,
            set(content.topics),
            suggestion_min_confidence,
            max_suggestions,
            crisis_line,
        )

    async def respond(self, message: UserMessage, state: ConversationData) -> list[Reply]:
        replies = await self._route(message, state)
        state.offered = {
            fold(button.label): button.payload for reply in replies for button in reply.buttons
        }
        return replies

    @staticmethod
    def _typed_button(text: str, state: ConversationData) -> dict[str, str] | None:
        """The payload of the button last offered that this typed message stands for."""
        offered = (Button(label, payload) for label, payload in state.offered.items())
        return typed_payload(text, offered)

    def _typed_thumbs_down_on_question(
        self, text: str, state: ConversationData, locale: str | None
    ) -> dict[str, str] | None:
        """ "👎" or "ei auttanut" typed while the level question is open: a rating of the
        topic, as after an answer (it asked the level again). The question offers no
        rating buttons, so they are not among the offered ones."""
        if not state.pending_topic or not text:
            return None
        language = self._language.current(state, locale)
        _, down = self._quality.rating_buttons(state.pending_topic, language)
        return typed_payload(text, [down])

    def error_reply(self, state: ConversationData, locale: str | None) -> Reply:
        """The fixed polite reply of the turn error handler."""
        return self._fallback.error(self._language.current(state, locale))

    def storage_error_reply(self, locale: str | None) -> Reply:
        """The turn could not read or save the conversation: say so, nothing is pretended."""
        return self._fallback.storage_unavailable(
            self._language.current(ConversationData(), locale)
        )

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
        now = self._clock()
        text = normalise(message.text)
        payload = (
            message.payload
            or self._typed_button(text, state)
            or self._typed_thumbs_down_on_question(text, state, message.locale)
            or {}
        )
        if not payload and self._feedback.active(state):
            # "på svenska" mid-dialog switches the language, as the buttons do: never the
            # unit or the feedback text.
            asked = self._content.cues.language_request_only(text)
            payload = {"lang": asked} if asked else {}
        elif not payload:  # a topic's title typed, from a menu seen earlier
            titled = self._content.topic_titled(text)
            payload = {"intent": titled} if titled else {}
        await self._quality.flush_outbox(state)
        language = self._language.current(state, message.locale)
        expired = self._feedback.expire(state, language, now)
        notes = [expired] if expired else []
        if self._feedback.active(state) and "lang" not in payload:
            handled = await self._feedback.handle(message, text, payload, state, language, now)
            return self._help_first(text, language) + handled
        if "rating" in payload:
            return await self._quality.rate(payload, message, state, language, now)
        if state.rating_comment:
            commented = await self._quality.comment(text, payload, state, language)
            if commented is not None and self._also_a_request(text):
                # Kept as the comment, and acted on: "in Finnish please" after 👎.
                return commented + await self._understand(message, text, state, now)
            if commented is not None:
                answer = await self._topic_asked_in_comment(text, state, language)
                return self._help_first(text, language) + commented + answer
        if payload:
            routed = await self._route_payload(payload, state, message)
            if routed is not None:
                return notes + routed
            if "fb" in payload or "rating_comment" in payload:
                # A dialog button from a dialog that has ended: never an NLU question.
                return notes + [self._feedback.no_draft(language)]
        return notes + await self._understand(message, text, state, now)

    async def _understand(
        self, message: UserMessage, text: str, state: ConversationData, now: datetime
    ) -> list[Reply]:
        """Free text outside a dialog step: check it is readable, pick the language, ask NLU."""
        language = self._language.current(state, message.locale)
        if not text:
            key = "attachment_only" if message.has_attachments else "empty_message"
            return [self._fallback.unreadable(key, language)]
        cues = self._content.cues
        if len(text) > self._max_chars:
            # Too long for a question, but a complaint written out may be this long.
            if self._asks_to_give_feedback(text) and self._feedback.fits(text):
                return self._feedback.start(state, language, now, opening=text)
            return [self._fallback.unreadable("too_long", language, max_chars=self._max_chars)]
        if not has_words(text):
            return [self._fallback.unreadable("no_words", language)]
        if not is_latin_script(text) or cues.other_language(text):
            # Russian, Arabic, German, Somali, ...: which languages there are, not a guess
            # at a topic (the NLU read a German question as home-school communication).
            return self._smalltalk.languages_offered(language)
        if cues.asks_for_other_language(text):
            # "puhutko somalia?", written in a language of ours: the answer in it.
            return self._smalltalk.choose_language_menu(
                language, "change_language", "other_language"
            )

        wants_plain = cues.wants_plain_language(text)
        requested = cues.requested_language(text)
        if wants_plain:
            state.choose_language("fi-x-selko")
        elif requested:
            state.choose_language(requested)
        if self._names_level_only(text, state, message.locale):
            language = self._language.current(state, message.locale)
        else:
            language = self._language.observe(state, text, message.locale)
        explicit = wants_plain or bool(requested)
        nlu_text = self._question(text, explicit)
        if not has_words(nlu_text):
            return [self._fallback.unreadable("no_words", language)]
        if cues.tells_of_distress(text):
            # Where to find help first; a question in the same message surely on a topic
            # ("the song hits me, how do I join the student council?") is answered too.
            answer = await self._surely_a_topic(nlu_text, state, language)
            return [self._fallback.distress(language), *answer]
        if self._asks_to_give_feedback(text):
            return self._feedback.start(state, language, now, opening=text)
        if cues.announces_question(text):
            return self._smalltalk.reply("greet", state, language)
        if cues.asks_what_it_means(text):
            return self._plain_language(state, language)

        try:
            parse = await self._nlu.parse(nlu_text)
        except NluUnavailable:
            await self._quality.unanswered(
                text, "nlu_unavailable", None, message, state, language, now
            )
            return [self._fallback.nlu_unavailable(language)]
        replies, unanswered = self._dispatch(parse, text, state, language, explicit, now)
        if unanswered:
            await self._quality.unanswered(text, unanswered, parse, message, state, language, now)
        return replies

    def question_for_nlu(self, message_text: str | None) -> str | None:
        """What the NLU would read of a message typed outside any dialog step, if it
        is a question to read at all: for a parse started before the state is read
        (nlu/early.py). The turn itself decides again, from its state."""
        text = normalise(message_text)
        if not text or len(text) > self._max_chars or not is_latin_script(text):
            return None
        cues = self._content.cues
        explicit = cues.wants_plain_language(text) or bool(cues.requested_language(text))
        question = self._question(text, explicit)
        return question if has_words(question) else None

    def reads_questions(self, state: ConversationData) -> bool:
        """Free text in this state goes to the NLU, not into a dialog's draft (the
        feedback dialog's steps, the comment after a 👎)."""
        return not self._feedback.active(state) and not state.rating_comment

    def _question(self, text: str, explicit: bool) -> str:
        """The question the NLU reads (`explicit`: the message asks for a language)."""
        cues = self._content.cues
        # "Hello, my child goes to daycare, how can I ...": the question, not the hello
        # (the NLU answered the greeting). A short rest ("hejsan, är det någon här?")
        # keeps its greeting, which may be all it says.
        question = cues.without_opener(text)
        if len(question.split()) < GREETED_QUESTION_MIN_WORDS:
            question = text
        if explicit:
            # The NLU gets the question without the language request; a remainder of
            # one or two words ("selkokielellä kiitos") is too little to be a question.
            remainder = cues.without_language_cues(question)
            if len(remainder.split()) >= MIN_QUESTION_WORDS:
                question = remainder
        # The NLU needs no phone numbers, e-mail addresses or identity codes, and its
        # cache would keep them; a phone number in a complaint also read as out of scope.
        return redact(question, marks=False).text

    def _dispatch(
        self,
        parse: Parse,
        text: str,
        state: ConversationData,
        language: str,
        explicit: bool,
        now: datetime,
    ) -> tuple[list[Reply], str | None]:
        """The replies, and why the question went unanswered when it did (for staff review)."""
        intent = parse.intent
        if explicit and not self._is_question(parse):
            # A language request with nothing else to answer: confirm and repeat.
            switched = "plain_language" if state.language == "fi-x-selko" else "change_language"
            return self._smalltalk.switch_language(switched, state, language), None
        # An unsure plain-language reading is no request: "förslag" (a suggestion) at 0.21.
        if intent == "plain_language" and parse.confidence >= self._threshold:
            return self._plain_language(state, language), None
        if intent == "change_language" and self._content.cues.asks_about_service_language(text):
            # "Is there Swedish-language daycare?" asks about the services, as the NLU
            # reads its Finnish and Swedish forms, not to change the answer language.
            return [self._fallback.out_of_scope(language)], "out_of_scope"
        if intent == "change_language":
            target = self._language.guess(text)
            if target and target != language:
                return self._smalltalk.switch_language(intent, state, target), None
            return self._smalltalk.choose_language_menu(language, intent), None
        earlier = self._earlier_topic_at_level(parse, text, state)
        if earlier:
            return [self._answers.at_level(*earlier, state, language)], None
        if self._level_question_unanswered(parse, text, state):
            # "en tiedä", "both": the question stays, with its buttons, in other words.
            return [self._answers.ask_level_again(state, language)], None
        level = self._level_only(parse, text)  # before yes/no: "oon 7lk" read as yes
        if level:
            state.level = level
            label = self._content.level_labels[level][language]
            menu = self._replies.menu_buttons(language)
            return [
                self._replies.ui_reply("level_noted", language, "help", menu, level=label)
            ], None
        if intent in ("affirm", "deny") and not self._says_yes_or_no(text):
            # "opettaja ei kuuntele meitä" is no "no": a complaint, or a question.
            return [self._fallback.not_sure(parse, language)], "not_sure"
        if intent == "cancel" and not state.pending_topic and parse.confidence < SURE_TOPIC:
            # Nothing is going on to cancel: "haluan tavata opettaja" (0.39) got
            # "OK, cancelled". The likeliest topics are offered instead.
            return [self._fallback.not_sure(parse, language)], "not_sure"
        guardian = self._content.cues.guardian_question
        if guardian.answers(text, intent, parse.confidence, self._threshold):
            return [self._answers.begin(guardian.topic, state, language, text)], None
        if self._may_follow_up(parse, text, state):
            # "milloin on vaalit?" right after the youth council answer: the NLU cannot
            # see that context, so the topic is offered rather than a "can't help".
            return [self._fallback.not_sure(parse, language, state.last_topic)], "not_sure"
        if parse.confidence < self._threshold:
            return [self._fallback.not_sure(parse, language)], "not_sure"
        if intent == "out_of_scope":
            return [self._fallback.out_of_scope(language)], "out_of_scope"
        if intent in self._content.topics:
            return [self._answers.begin(intent, state, language, text)], None
        if intent == "give_feedback":
            return self._feedback.start(state, language, now, opening=text), None
        if intent in self._content.conversation:
            return self._smalltalk.reply(intent, state, language), None
        logger.warning("NLU returned an intent without content: %s", intent)
        return [self._fallback.not_sure(parse, language)], "not_sure"

    def _earlier_topic_at_level(
        self, parse: Parse, text: str, state: ConversationData
    ) -> tuple[str, str] | None:
        """A topic from earlier in the conversation, and the level this message names for it.

        Two ways a message answers with a level instead of asking anew:
        - the level question is open and the user types a short reply instead of
          pressing a button ("lukiossa", "mun lapsi on eskarissa");
        - right after a topic's answer, the message opens like a follow-up and names
          a level ("entä lukiossa?", "och i gymnasiet?"), for a topic whose answer
          depends on the level.
        Either way the topic is in the earlier message, not in these few words, so
        the NLU's guess for them (out of scope, "cancel" for "peruskoulu") is no
        answer; only the NLU's own confident topic wins.
        """
        cues = self._content.cues
        level = cues.level(text)
        if level is None and cues.is_follow_up(text) and len(text.split()) <= FOLLOW_UP_MAX_WORDS:
            # "entä koulussa?", "and at school?" after a daycare answer: school, said
            # against daycare, is basic education (alone, it may be any school).
            level = cues.school_level(text)
        if level is None:
            return None
        if self._sure_of_topic(parse):
            return None
        topics = self._content.topics
        pending = state.pending_topic
        if pending in topics and len(text.split()) <= LEVEL_REPLY_MAX_WORDS:
            return pending, level
        last = topics.get(state.last_topic or "")
        if last is not None and last.ask == "level" and cues.is_follow_up(text):
            return last.id, level
        return None

    def _may_follow_up(self, parse: Parse, text: str, state: ConversationData) -> bool:
        """A short message after a topic's answer that the NLU finds out of scope without
        being sure of it, or finds nothing in."""
        if state.last_topic not in self._content.topics:
            return False
        if len(text.split()) > FOLLOW_UP_MAX_WORDS:
            return False
        unsure_out = parse.intent == "out_of_scope" and parse.confidence < FOLLOW_UP_OUT_BELOW
        return unsure_out or parse.confidence < self._threshold

    def _plain_language(self, state: ConversationData, language: str) -> list[Reply]:
        """ "Selkokielellä", "en ymmärrä", "jag förstår inte", "easy English please"."""
        intent = "plain_language"
        if language in ("sv", "en"):
            # No easy Swedish or English: say so, offer plain Finnish and the languages.
            return self._smalltalk.choose_language_menu(language, intent, "no_easy_language")
        if language == "fi-x-selko":
            # Still unclear in plain Finnish: a person can explain, not more of the same.
            note = self._replies.ui_reply("still_unclear", language, intent)
            return [note, *self._smalltalk.reply("human_contact", state, language)]
        return self._smalltalk.switch_language(intent, state, "fi-x-selko")

    def _help_first(self, text: str, language: str) -> list[Reply]:
        """Bullying or despair told inside a dialog step gets where to find help too;
        the step then goes on, so what the user wrote is kept as they meant it."""
        return (
            [self._fallback.distress(language)]
            if self._content.cues.tells_of_distress(text)
            else []
        )

    def _also_a_request(self, text: str) -> bool:
        """A comment after 👎 that asks for a language or to give feedback."""
        requested = self._content.cues.language_request_only(text)
        return requested is not None or self._asks_to_give_feedback(text)

    def _asks_to_give_feedback(self, text: str) -> bool:
        """ "Haluan tehdä valituksen: ...", after at most a greeting (content/feedback.yml)."""
        return self._content.feedback.is_request(self._content.cues.after_opener(text))

    def _sure_of_topic(self, parse: Parse) -> bool:
        """The NLU names a participation topic at least as surely as the threshold."""
        return parse.intent in self._content.topics and parse.confidence >= self._threshold

    async def _topic_asked_in_comment(
        self, text: str, state: ConversationData, language: str
    ) -> list[Reply]:
        """A comment after 👎 that is a question on another topic ("mikä on
        nuorisoneuvosto?") also gets that topic's answer; a question about the answer
        itself ("why didn't it say the age limit?") is only the comment it is."""
        if not text.rstrip().endswith("?"):
            return []
        return await self._surely_a_topic(text, state, language)

    async def _surely_a_topic(
        self, text: str, state: ConversationData, language: str
    ) -> list[Reply]:
        """The answer of the topic the NLU is sure the message asks about, or nothing."""
        try:
            parse = await self._nlu.parse(redact(text, marks=False).text)
        except NluUnavailable:
            return []
        if parse.intent not in self._content.topics or parse.confidence < SURE_TOPIC:
            return []
        return [self._answers.begin(parse.intent, state, language, text)]

    def _says_yes_or_no(self, text: str) -> bool:
        """The message opens with a yes or a no ("ei kiitos", "yes please", "joo")."""
        answers = self._content.feedback.answers
        cues = self._content.cues
        starts = (words(text), cues.after_opener(text))  # "ok", or "hei, ei kiitos"
        return any(answers[kind].opens(message) for kind in ("yes", "no") for message in starts)

    def _level_question_unanswered(self, parse: Parse, text: str, state: ConversationData) -> bool:
        """The level question is open and a short reply names no level and asks nothing
        else the assistant can act on ("en tiedä", "both", "hmm")."""
        if state.pending_topic not in self._content.topics or len(text.split()) > 3:
            return False
        if parse.intent in _ACTS_ON_ITS_OWN:
            return False
        return not self._sure_of_topic(parse)

    def _names_level_only(self, text: str, state: ConversationData, locale: str | None) -> bool:
        """A few words naming a level, which say nothing of the user's language: "grade 3",
        "lukio", "gymnasiet"; or, when the conversation or the channel has a language,
        a few words telling the level ("i'm in 6th grade": the detector called it
        Swedish), unless their small words settle it."""
        cues = self._content.cues
        if not cues.level(text):
            return False
        count = len(text.split())
        if count <= LEVEL_ONLY_MAX_WORDS + 1:
            return True
        return (
            (state.language is not None or language_from_locale(locale) is not None)
            and count <= LEVEL_REPLY_MAX_WORDS
            and cues.tells_level(text) is not None
            and cues.language_by_function_words(text) is None
        )

    def _level_only(self, parse: Parse, text: str) -> str | None:
        """The level a short message names with no topic ("peruskoulu", "päiväkodissa",
        "olen amiksessa", "im in grade 8"): the NLU's guess for it ("cancel", a greeting,
        out of scope) is no answer."""
        cues = self._content.cues
        if self._sure_of_topic(parse) or cues.asks_about_service_language(text):
            return None  # "ruotsinkielinen päiväkoti": a question about the services
        if len(text.split()) <= LEVEL_ONLY_MAX_WORDS:
            return cues.level(text)
        return cues.tells_level(text) if len(text.split()) <= LEVEL_REPLY_MAX_WORDS else None

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
            if self._feedback.active(state):
                # Mid-feedback: confirm the language and ask the same step again in it.
                state.choose_language(chosen)
                confirm = self._replies.ui_reply("language_continues", chosen, intent)
                return [confirm, self._feedback.prompt(state, chosen)]
            return self._smalltalk.switch_language(intent, state, chosen)
        level = payload.get("level")
        if level in self._content.level_labels:
            reply = self._answers.on_level(level, state, language)
            return [reply] if reply is not None else None
        intent = payload.get("intent")
        if intent in self._content.topics:
            return [self._answers.begin(intent, state, language)]
        if intent == "give_feedback":
            return self._feedback.start(state, language, self._clock())
        if intent in self._content.conversation and intent not in (
            "change_language",
            "plain_language",
        ):
            if intent == "out_of_scope":
                return [self._fallback.out_of_scope(language)]
            return self._smalltalk.reply(intent, state, language)
        return None
