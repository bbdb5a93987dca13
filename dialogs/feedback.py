"""The feedback dialog: category, unit, the feedback, an optional reply contact, confirm, store.

Steps (the draft in `ConversationData.feedback` names the current one):

    category -> unit -> text -> wants_reply -> [contact_method -> contact -> consent] -> confirm

At every step "cancel" (in any language) stops and says nothing was stored,
"help" explains and asks again, and a message that does not fit the step gets
the question again. "Change" on the summary goes back to one step and then
returns to the summary.

Privacy: the unit and the feedback text are redacted as they arrive, so the
conversation state never holds an identity code, phone number or e-mail
address from them. Contact details are asked only when the user wants a reply,
format-checked, and kept only with explicit consent.

Nothing retyped: when the message that started the dialog already says what is
wrong ("I want to complain: my son's school never asks the pupils anything"),
the text step offers it (redacted) as the feedback, one button away.

Typing instead of pressing buttons works at every step: a category's own words
("koulun ruoka", "skolmaten") choose it, "joo" and "nej tack" answer the yes/no
questions, "sähköposti" picks e-mail (feedback.yml `words`). "What is your
feedback about?" invites the feedback itself as the answer ("Ruoka on ollut
kylmää koko viikon"): such a message becomes the feedback's text, and the
category its words name is chosen, each said in a note, both changeable on the
summary.

Nothing lost: the reference is fixed when the summary is first shown; if the
database refuses the submission, the draft stays (marked `failed`, never
expired) and "Try again" stores it once, because saving is idempotent by
reference.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.storage.redaction import (
    EMAIL_MARK,
    IDENTITY_CODE_MARK,
    NAME_MARK,
    PHONE_MARK,
    find_email,
    find_phone,
    redact,
)
from content.store import ContentStore
from content.text import words
from dialogs.messages import Button, Reply, UserMessage
from dialogs.records import FeedbackSubmission, RecordNotSaved, RecordSink, new_reference
from dialogs.replies import ReplyFactory
from dialogs.state import ConversationData

TOPIC = "give_feedback"
_MARK_TEXTS = {
    IDENTITY_CODE_MARK: "mark_identity_code",
    PHONE_MARK: "mark_phone",
    EMAIL_MARK: "mark_email",
    NAME_MARK: "mark_name",
}
STEPS = (
    "category",
    "unit",
    "text",
    "wants_reply",
    "contact_method",
    "contact",
    "consent",
    "confirm",
)
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_PHONE_SEPARATORS = re.compile(r"[\s\-.()/]")
_PHONE = re.compile(r"^(\+|00)?0?\d{6,14}$")
# An opening message this long says more than "I want to give feedback", so the text
# step offers it as the feedback; a shorter one is a bare request (8 words still lets
# "I would like to give you some feedback" through: the offer is only a button).
OPENING_MIN_WORDS = 8
# Typed as the answer to "What is your feedback about?", a category is a word or two
# ("koulun ruoka"); five words are a sentence ("the school lunch was cold").
TYPED_TEXT_MIN_WORDS = 5


def valid_email(text: str) -> bool:
    return len(text) <= 254 and bool(_EMAIL.match(text))


def normalise_phone(text: str) -> str | None:
    """The number with separators removed, or None when it is not a phone number.

    Finnish national form (starts with 0) or international (+ or 00), 7-15 digits.
    """
    compact = _PHONE_SEPARATORS.sub("", text)
    if not compact.startswith(("+", "0")) or not _PHONE.match(compact):
        return None
    digits = sum(ch.isdigit() for ch in compact)
    return compact if 7 <= digits <= 15 else None


def contact_method_in(text: str) -> str | None:
    """ "email" or "phone" when the message holds an address or a number, else None."""
    return "email" if find_email(text) else "phone" if find_phone(text) else None


@dataclass
class FeedbackSettings:
    timeout: timedelta = timedelta(minutes=30)
    max_text_chars: int = 2000
    max_unit_chars: int = 200
    contact_days: int = 180


@dataclass
class Draft:
    """The feedback being written, kept in the conversation state as a plain dict."""

    step: str = "category"
    updated_at: str = ""
    category: str | None = None
    unit: str | None = None
    text: str | None = None
    redacted: bool = False
    opening: str | None = None  # the message that started the dialog, redacted: offered
    opening_redacted: bool = False
    wants_reply: bool = False
    contact_method: str | None = None
    contact: str | None = None
    consented_at: str | None = None
    reference: str | None = None
    requested_at: str | None = None
    editing: bool = False
    failed: bool = False
    # A long message typed at the unit step, redacted, until the user says whether it
    # is the unit's name or the feedback itself.
    unit_or_text: str | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Draft:
        return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})


class FeedbackDialog:
    def __init__(
        self,
        content: ContentStore,
        replies: ReplyFactory,
        sink: RecordSink,
        settings: FeedbackSettings,
    ) -> None:
        self._content = content
        self._fb = content.feedback
        self._replies = replies
        self._sink = sink
        self._settings = settings

    # -- entry points used by the router -------------------------------------------------

    @staticmethod
    def active(state: ConversationData) -> bool:
        return state.feedback is not None

    def start(
        self, state: ConversationData, language: str, now: datetime, opening: str = ""
    ) -> list[Reply]:
        """`opening`: the message that asked for the dialog, offered as the feedback when
        it says more than a bare request."""
        draft = Draft(updated_at=now.isoformat())
        if self._says_what_is_wrong(opening):
            cleaned = redact(opening)
            draft.opening, draft.opening_redacted = cleaned.text, cleaned.changed
        self._keep(state, draft)
        intro = Reply(self._content.conversation[TOPIC].text(language), TOPIC, language)
        return [intro, self._prompt(draft, language)]

    def expire(self, state: ConversationData, language: str, now: datetime) -> Reply | None:
        """Drop an abandoned draft; a submission the database refused is never dropped."""
        if state.feedback is None:
            return None
        draft = Draft.from_dict(state.feedback)
        if draft.failed or not draft.updated_at:
            return None
        if now - datetime.fromisoformat(draft.updated_at) <= self._settings.timeout:
            return None
        state.feedback = None
        minutes = int(self._settings.timeout.total_seconds() // 60)
        return Reply(self._fb.text("expired", language, minutes=minutes), TOPIC, language)

    def no_draft(self, language: str) -> Reply:
        """A feedback button pressed after its dialog ended (sent, cancelled or expired)."""
        buttons = (self._replies.feedback_button(language), self._replies.help_button(language))
        return Reply(self._fb.text("no_draft", language), TOPIC, language, buttons)

    def prompt(self, state: ConversationData, language: str) -> Reply | None:
        """The current step's question again (after a language change, for example)."""
        if state.feedback is None:
            return None
        return self._prompt(Draft.from_dict(state.feedback), language)

    async def handle(
        self,
        message: UserMessage,
        text: str,
        payload: dict[str, str],
        state: ConversationData,
        language: str,
        now: datetime,
    ) -> list[Reply]:
        draft = Draft.from_dict(state.feedback or {})
        draft.updated_at = now.isoformat()
        action = payload.get("fb")
        if action == "cancel" or (not payload and self._fb.is_cancel(text)):
            state.feedback = None
            return [self._closing("cancelled", language)]
        if not payload and (self._fb.is_help(text) or self._fb.asks_about_step(draft.step, text)):
            self._keep(state, draft)
            about = f"about_{draft.step}" if draft.step in ("category", "unit") else "help"
            return [
                Reply(self._fb.text(about, language), TOPIC, language),
                self._prompt(draft, language),
            ]
        value = payload.get("value")
        if not payload:  # typed instead of pressed: "koulun ruoka", "joo", "sähköpostilla"
            action, value = self._fb.typed_answer(draft.step, text) or (None, None)
        step = getattr(self, f"_on_{draft.step}", None) if draft.step in STEPS else None
        if step is None:  # a state written by another version of this dialog: start over
            draft = Draft(updated_at=now.isoformat())
            self._keep(state, draft)
            return [self._prompt(draft, language)]
        replies = await step(draft, action, value, text, message, state, language, now)
        if draft.step != "done":
            self._keep(state, draft)
        return replies

    # -- steps: each returns the replies and leaves `draft.step` at the next step ----------

    async def _on_category(self, draft, action, value, text, message, state, language, now):
        chosen = action == "category" and value in self._fb.categories
        notes = []
        if not draft.editing and self._says_what_is_wrong(text, TYPED_TEXT_MIN_WORDS):
            # The feedback itself, typed as the answer to "what is it about?".
            draft.text = self._cleaned(draft, text)
            notes.append(self._fb.text("text_taken", language))
            if chosen:
                label = self._fb.categories[value].label[language]
                notes.append(self._fb.text("category_chosen", language, category=label))
        note = [Reply(" ".join(notes), TOPIC, language)] if notes else []
        if chosen:
            draft.category = value
            return [*note, self._advance(draft, "unit", language)]
        return [*note, self._prompt(draft, language)] if note else self._again(draft, language)

    async def _on_unit(self, draft, action, value, text, message, state, language, now):
        if draft.unit_or_text is not None:
            return self._unit_or_text(draft, action, text, language)
        if not (draft.text or draft.editing or action) and self._says_what_is_wrong(text):
            # A sentence as the answer to "which unit?": the feedback itself (it was
            # stored as the unit's name) or a long official name. Longer than any
            # unit's name, it is the feedback; else the user says which.
            cleaned = self._cleaned(draft, text)
            if len(text) > self._settings.max_unit_chars:
                return self._text_taken(draft, cleaned, language)
            draft.unit_or_text = cleaned
            return [self._unit_or_text_question(language)]
        after = "wants_reply" if draft.text else "text"  # the text came at the first step
        if action in ("skip", "no"):  # "ohita", "en tiedä", "ei"
            draft.unit = None
            return [self._advance(draft, after, language)]
        limit = self._settings.max_unit_chars
        return self._take_text(draft, action, text, "unit", limit, "unit_too_long", after, language)

    def _unit_or_text(self, draft, action, text, language) -> list[Reply]:
        """The answer to "is this the unit's name or your feedback?" (button or typed)."""
        said = words(text)
        as_unit = action == "as_unit" or (
            not action and self._fb.answers["edit_unit"].found_in(said)
        )
        as_text = action == "as_text" or (
            not action and self._fb.answers["edit_text"].found_in(said)
        )
        if as_unit == as_text:
            return [self._unit_or_text_question(language)]
        answer, draft.unit_or_text = draft.unit_or_text, None
        if as_unit:
            draft.unit = answer
            return [self._advance(draft, "text", language)]
        return self._text_taken(draft, answer, language)

    def _text_taken(self, draft: Draft, text: str, language: str) -> list[Reply]:
        """The feedback, typed at the unit step: kept as the text, the unit asked again."""
        draft.text = text
        note = Reply(self._fb.text("text_taken", language), TOPIC, language)
        return [note, self._prompt(draft, language)]

    def _unit_or_text_question(self, language: str) -> Reply:
        buttons = (
            self._button("as_unit", language, fb="as_unit"),
            self._button("as_text", language, fb="as_text"),
            *self._cancel_button(language),
        )
        return Reply(self._fb.text("ask_unit_or_text", language), TOPIC, language, buttons)

    async def _on_text(self, draft, action, value, text, message, state, language, now):
        if action in ("use_opening", "yes") and draft.opening:
            draft.text = draft.opening
            draft.redacted = draft.redacted or draft.opening_redacted
            return [self._advance(draft, "wants_reply", language)]
        if action in ("yes", "no", "skip"):  # "ok", "joo", "ohita": not the feedback itself
            return [self._prompt(draft, language)]
        limit = self._settings.max_text_chars
        return self._take_text(
            draft, action, text, "text", limit, "text_too_long", "wants_reply", language
        )

    def _take_text(self, draft, action, text, field, limit, too_long, next_step, language):
        """A free-text answer: within the limit, redacted as it arrives, then the next step."""
        if action or not any(ch.isalnum() for ch in text):
            return self._again(draft, language)
        if len(text) > limit:
            note = self._fb.text(too_long, language, max_chars=limit)
            return [Reply(note, TOPIC, language), self._prompt(draft, language)]
        setattr(draft, field, self._cleaned(draft, text))
        return [self._advance(draft, next_step, language)]

    @staticmethod
    def _cleaned(draft: Draft, text: str) -> str:
        """Free text as the draft keeps it: redacted as it arrives, and the draft notes it."""
        cleaned = redact(text)
        draft.redacted = draft.redacted or cleaned.changed
        return cleaned.text

    async def _on_wants_reply(self, draft, action, value, text, message, state, language, now):
        if not action and contact_method_in(text):
            # The address itself as the answer to "do you want a reply?": a yes, and it.
            draft.wants_reply = True
            return await self._on_contact_method(
                draft, None, None, text, message, state, language, now
            )
        if action == "yes":
            draft.wants_reply = True
            draft.step = "contact_method"
            return [self._prompt(draft, language)]
        if action == "no":
            self._forget_contact(draft)
            return [self._advance(draft, "confirm", language, force=True)]
        return self._again(draft, language)

    async def _on_contact_method(self, draft, action, value, text, message, state, language, now):
        if action in ("email", "phone"):
            draft.contact_method = action
            draft.step = "contact"
            return [self._prompt(draft, language)]
        typed = contact_method_in(text)
        if typed:  # the address or number itself, typed instead of choosing how
            draft.contact_method = typed
            draft.step = "contact"
            return await self._on_contact(draft, None, None, text, message, state, language, now)
        return self._again(draft, language)

    async def _on_contact(self, draft, action, value, text, message, state, language, now):
        if action == "no" and not contact_method_in(text):
            # "en halua antaa numeroa": no reply after all, as the "No" button earlier.
            self._forget_contact(draft)
            return [self._advance(draft, "confirm", language, force=True)]
        if action:
            return self._again(draft, language)
        # The address alone, or within a sentence: "my email is anna@example.com".
        if draft.contact_method == "email":
            found = text if valid_email(text) else find_email(text)
            contact = found if found and valid_email(found) else None
        else:
            found = find_phone(text)
            contact = normalise_phone(text) or (normalise_phone(found) if found else None)
        if contact is None:
            key = "bad_email" if draft.contact_method == "email" else "bad_phone"
            return [
                Reply(self._fb.text(key, language), TOPIC, language, self._cancel_button(language))
            ]
        draft.contact = contact
        draft.step = "consent"
        return [self._prompt(draft, language)]

    async def _on_consent(self, draft, action, value, text, message, state, language, now):
        if action == "yes":
            draft.consented_at = now.isoformat()
            return [self._advance(draft, "confirm", language, force=True)]
        if action == "no":
            self._forget_contact(draft)
            note = Reply(self._fb.text("consent_declined", language), TOPIC, language)
            return [note, self._advance(draft, "confirm", language, force=True)]
        return self._again(draft, language)

    async def _on_confirm(self, draft, action, value, text, message, state, language, now):
        if action == "send":
            return await self._submit(draft, message, state, language, now)
        if action == "edit" and value in ("category", "unit", "text", "contact"):
            # A changed feedback is a new submission: it gets a new reference on the summary.
            draft.editing = True
            draft.failed = False
            draft.reference = draft.requested_at = None
            draft.step = "wants_reply" if value == "contact" else value
            return [self._prompt(draft, language)]
        if action == "edit":
            buttons = tuple(
                self._button(f"edit_{part}", language, fb="edit", value=part)
                for part in ("category", "unit", "text", "contact")
            )
            text = self._fb.text("ask_edit", language)
            return [Reply(text, TOPIC, language, buttons + self._cancel_button(language))]
        return self._again(draft, language)

    # -- submission ---------------------------------------------------------------------

    async def _submit(self, draft, message, state, language, now) -> list[Reply]:
        draft.requested_at = draft.requested_at or now.isoformat()
        record = self._submission(draft, message, state, language)
        try:
            await self._sink.save(record)
        except RecordNotSaved:
            draft.failed = True
            buttons = (self._button("retry", language, fb="send"), *self._cancel_button(language))
            return [Reply(self._fb.text("not_saved", language), TOPIC, language, buttons)]
        state.feedback = None
        draft.step = "done"
        lines = [self._fb.text("stored", language, reference=draft.reference)]
        lines.append(
            self._fb.text("stored_contact" if record.contact else "stored_no_contact", language)
        )
        complaints = self._replies.with_links(
            self._fb.text("formal_complaints", language),
            self._content.conversation[TOPIC],
            language,
        )
        return [
            Reply(" ".join(lines), TOPIC, language),
            Reply(complaints, TOPIC, language, tuple(self._replies.menu_buttons(language))),
        ]

    def _submission(self, draft, message, state, language) -> FeedbackSubmission:
        category = self._fb.categories[draft.category]
        label = category.label[language]
        title = f"{label}: {draft.unit}" if draft.unit else label
        contact = draft.contact if draft.consented_at else None
        return FeedbackSubmission(
            reference=draft.reference,
            category=category.id,
            service_code=category.service_code,
            service_name=category.label["fi"],
            title=title[:300],
            description=draft.text or "",
            language=language,
            channel=message.channel,
            conversation=message.conversation,
            requested_at=draft.requested_at,
            unit=draft.unit,
            audience=state.level,
            contact_method=draft.contact_method if contact else None,
            contact=contact,
            consented_at=draft.consented_at if contact else None,
        )

    # -- helpers ------------------------------------------------------------------------

    def _advance(self, draft: Draft, step: str, language: str, force: bool = False) -> Reply:
        """Go to `step`, or back to the summary when the user was changing one answer."""
        if draft.editing and not force and draft.text:
            step = "confirm"
        if step == "confirm":
            draft.editing = False
            draft.reference = draft.reference or new_reference()
        draft.step = step
        return self._prompt(draft, language)

    def _again(self, draft: Draft, language: str) -> list[Reply]:
        """A message that does not fit the step: say how to answer, ask again."""
        if draft.step in ("unit", "text", "contact"):
            return [self._prompt(draft, language)]
        note = Reply(self._fb.text("choose_one", language), TOPIC, language)
        return [note, self._prompt(draft, language)]

    def fits(self, text: str) -> bool:
        """Within the feedback text limit (longer than a question may be)."""
        return len(text) <= self._settings.max_text_chars

    def _says_what_is_wrong(self, text: str, min_words: int = OPENING_MIN_WORDS) -> bool:
        """Long enough to be the feedback itself, short enough to be taken as it."""
        return len(text.split()) >= min_words and self.fits(text)

    @staticmethod
    def _forget_contact(draft: Draft) -> None:
        draft.wants_reply = False
        draft.contact_method = draft.contact = draft.consented_at = None

    @staticmethod
    def _keep(state: ConversationData, draft: Draft) -> None:
        state.feedback = asdict(draft)

    def _button(self, key: str, language: str, **payload: str) -> Button:
        return Button(self._fb.buttons[key][language], dict(payload))

    def _cancel_button(self, language: str) -> tuple[Button, ...]:
        return (self._button("cancel", language, fb="cancel"),)

    def _closing(self, key: str, language: str) -> Reply:
        buttons = self._replies.menu_buttons(language) + [self._replies.help_button(language)]
        return Reply(self._fb.text(key, language), TOPIC, language, tuple(buttons))

    def _prompt(self, draft: Draft, language: str) -> Reply:
        """The question of the current step with its buttons."""
        step = draft.step
        cancel = self._cancel_button(language)
        if step == "category":
            buttons = tuple(
                Button(c.label[language], {"fb": "category", "value": c.id})
                for c in self._fb.categories.values()
            )
            return Reply(self._fb.text("ask_category", language), TOPIC, language, buttons + cancel)
        if step == "unit":
            skip = self._button("skip", language, fb="skip")
            return Reply(self._fb.text("ask_unit", language), TOPIC, language, (skip, *cancel))
        if step == "text":
            ask = self._fb.text("ask_text", language)
            if not draft.opening:
                return Reply(ask, TOPIC, language, cancel)
            offer = self._fb.text(
                "offer_opening", language, text=self._shown(draft.opening, language)
            )
            use = self._button("use_opening", language, fb="use_opening")
            return Reply(f"{ask}\n\n{offer}", TOPIC, language, (use, *cancel))
        if step in ("wants_reply", "consent"):
            key = "ask_wants_reply" if step == "wants_reply" else "ask_consent"
            text = self._fb.text(key, language, days=self._settings.contact_days)
            yes_no = (
                self._button("yes", language, fb="yes"),
                self._button("no", language, fb="no"),
            )
            return Reply(text, TOPIC, language, yes_no + cancel)
        if step == "contact_method":
            methods = (
                self._button("email", language, fb="email"),
                self._button("phone", language, fb="phone"),
            )
            return Reply(
                self._fb.text("ask_contact_method", language), TOPIC, language, methods + cancel
            )
        if step == "contact":
            key = "ask_email" if draft.contact_method == "email" else "ask_phone"
            return Reply(self._fb.text(key, language), TOPIC, language, cancel)
        return self._summary(draft, language)

    def _shown(self, text: str | None, language: str) -> str:
        """Redacted text as the user reads it: the marks staff read ("[puhelinnumero]")
        in the user's language ("[phone number]")."""
        shown = text or ""
        for mark, key in _MARK_TEXTS.items():
            shown = shown.replace(mark, self._fb.text(key, language))
        return shown

    def _summary(self, draft: Draft, language: str) -> Reply:
        category = self._fb.categories[draft.category].label[language] if draft.category else ""
        reply_to = (
            self._fb.text("reply_to", language, contact=draft.contact)
            if draft.contact and draft.consented_at
            else self._fb.text("no_reply", language)
        )
        parts = [
            self._fb.text(
                "summary",
                language,
                category=category,
                unit=self._shown(draft.unit, language) or self._fb.text("no_unit", language),
                text=self._shown(draft.text, language),
                reply=reply_to,
            )
        ]
        if draft.redacted:
            parts.append(self._fb.text("redacted_note", language))
        if draft.failed:
            parts.append(self._fb.text("not_saved", language))
            first = self._button("retry", language, fb="send")
        else:
            parts.append(self._fb.text("ask_send", language))
            first = self._button("send", language, fb="send")
        buttons = (first, self._button("edit", language, fb="edit"), *self._cancel_button(language))
        return Reply("\n\n".join(parts), TOPIC, language, buttons)
