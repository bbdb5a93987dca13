"""The feedback dialog, ratings and unanswered questions through the router.

Test doubles for speed: a scripted NLU and an in-memory record sink (idempotent
by key like the real one). The real database store is tested in
tests/integration/test_feedback_storage.py; the whole thing over HTTP with
real Rasa in tests/integration/test_feedback_chat.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import build_router
from bot.storage.redaction import redact
from dialogs.messages import Reply, UserMessage
from dialogs.state import ConversationData
from nlu.client import Parse
from tests.unit.doubles import MemoryRecords, ScriptedNlu

VALID_HETU = "131052-308T"  # the example code of the Digital and Population Data Services


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def nlu() -> ScriptedNlu:
    nlu = ScriptedNlu()
    nlu.add("haluan antaa palautetta", "give_feedback")
    return nlu


@pytest.fixture
def records() -> MemoryRecords:
    return MemoryRecords()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def router(config, content, nlu, records, clock):
    return build_router(config, content, nlu, records, clock=clock)


async def say(router, state, text="", payload=None, channel="directline", locale=None):
    message = UserMessage(
        text=text, payload=payload or {}, channel=channel, conversation="pseudo-1", locale=locale
    )
    return await router.respond(message, state)


def payloads(reply: Reply) -> list[dict]:
    return [b.payload for b in reply.buttons]


async def to_summary(router, state, category: str, feedback: str) -> Reply:
    """Start, pick the category, skip the unit, write the text, want no reply."""
    await say(router, state, "haluan antaa palautetta")
    await say(router, state, "", {"fb": "category", "value": category})
    await say(router, state, "", {"fb": "skip"})
    await say(router, state, feedback)
    [summary] = await say(router, state, "", {"fb": "no"})
    return summary


async def to_reply_question(router, state) -> None:
    """A summary, then "Change contact": the dialog asks again whether a reply is wanted."""
    await to_summary(router, state, "other", "Palautetta koulun käytännöistä")
    await say(router, state, "", {"fb": "edit", "value": "contact"})


async def click(router, state, reply: Reply, **wanted) -> list[Reply]:
    """Press the button of `reply` whose payload contains `wanted`."""
    for button in reply.buttons:
        if all(button.payload.get(k) == v for k, v in wanted.items()):
            return await say(router, state, button.label, button.payload)
    raise AssertionError(f"no button {wanted} in {payloads(reply)}")


async def test_whole_dialog_in_finnish_with_contact_and_redaction(router, records, content):
    state = ConversationData()
    intro, question = await say(router, state, "haluan antaa palautetta")
    assert intro.text == content.conversation["give_feedback"].answer["fi"]
    assert {"fb": "category", "value": "school_meals"} in payloads(question)
    assert {"fb": "cancel"} in payloads(question)

    [unit_q] = await click(router, state, question, value="school_meals")
    assert unit_q.text == content.feedback.text("ask_unit", "fi")
    [text_q] = await say(router, state, "Kallion ala-aste")
    assert text_q.text == content.feedback.text("ask_text", "fi")
    feedback = f"Ruoka oli kylmää. Soita 040 123 4567, hetu {VALID_HETU}."
    [reply_q] = await say(router, state, feedback)
    assert "040" not in str(state.to_dict()) and VALID_HETU not in str(state.to_dict())

    [method_q] = await click(router, state, reply_q, fb="yes")
    [email_q] = await click(router, state, method_q, fb="email")
    [bad] = await say(router, state, "huoltaja at example piste com")
    assert bad.text == content.feedback.text("bad_email", "fi")
    [consent_q] = await say(router, state, "huoltaja@example.com")
    assert "180" in consent_q.text  # the contact retention from config
    [summary] = await click(router, state, consent_q, fb="yes")
    assert "[puhelinnumero]" in summary.text and "[henkilötunnus]" in summary.text
    assert content.feedback.text("redacted_note", "fi") in summary.text
    assert "huoltaja@example.com" in summary.text

    assert records.saved == {}
    stored, complaints = await click(router, state, summary, fb="send")
    [record] = records.of_kind("feedback")
    assert re.fullmatch(
        r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", record.reference
    )
    assert record.reference in stored.text
    assert content.feedback.text("stored_contact", "fi") in stored.text
    assert record.service_code == "kasko-meals" and record.category == "school_meals"
    assert record.unit == "Kallion ala-aste"
    assert record.description == "Ruoka oli kylmää. Soita [puhelinnumero], hetu [henkilötunnus]."
    assert (record.contact_method, record.contact) == ("email", "huoltaja@example.com")
    assert record.consented_at and record.language == "fi" and record.channel == "directline"
    assert record.conversation == "pseudo-1"
    assert content.feedback.text("formal_complaints", "fi") in complaints.text
    assert "https://palautteet.hel.fi" in complaints.text
    assert state.feedback is None


LANGUAGE_CASES = [
    ("fi", "peruuta"),
    ("sv", "avbryt"),
    ("en", "cancel"),
    ("fi-x-selko", "lopeta"),
]


@pytest.mark.parametrize("language", [case[0] for case in LANGUAGE_CASES])
async def test_dialog_without_reply_in_every_language(router, records, content, language):
    state = ConversationData()
    state.choose_language(language)
    intro, question = await say(router, state, "x", {"intent": "give_feedback"})
    assert intro.locale == question.locale == language
    [unit_q] = await click(router, state, question, value="teaching")
    [text_q] = await click(router, state, unit_q, fb="skip")
    [reply_q] = await say(router, state, "Opettaja selitti asiat hyvin, kiitos!")
    [summary] = await click(router, state, reply_q, fb="no")
    assert content.feedback.text("no_reply", language) in summary.text
    assert content.feedback.text("no_unit", language) in summary.text
    stored, _ = await click(router, state, summary, fb="send")
    [record] = records.of_kind("feedback")
    assert record.language == language and record.contact is None and record.unit is None
    # Never promises a reply when none was asked for.
    assert content.feedback.text("stored_no_contact", language) in stored.text
    assert content.feedback.text("stored_contact", language) not in stored.text


OPENINGS = {
    "fi": "Haluan tehdä valituksen: koulussa ei kysytä oppilaiden mielipiteitä, soita 040 123 4567."
    " Terveisin Anna Virtanen",
    "sv": "Jag vill klaga på att skolan aldrig frågar eleverna, ring 040 123 4567. Mvh Anna",
    "en": "I want to complain: the school never asks the pupils, call 040 123 4567."
    " Regards, Anna Smith",
    "fi-x-selko": "Haluan valittaa. Koulu ei kysy lasten mielipidettä. Soita 040 123 4567."
    " Terveisin Anna",
}


@pytest.mark.parametrize("language", list(OPENINGS))
async def test_the_opening_complaint_is_offered_as_the_feedback(
    router, nlu, records, content, language
):
    opening = OPENINGS[language]
    state = ConversationData()
    state.choose_language(language)
    _intro, question = await say(router, state, opening)
    assert nlu.calls == []  # it opens with "I want to complain": the dialog, whatever the NLU
    assert "040" not in str(state.to_dict())  # kept redacted, like every text of the dialog
    [unit_q] = await click(router, state, question, value="participation")
    [text_q] = await click(router, state, unit_q, fb="skip")
    assert text_q.text.startswith(content.feedback.text("ask_text", language))
    mark = content.feedback.text("mark_phone", language)  # "[phone number]" in English
    assert mark in text_q.text and "040" not in text_q.text
    name_mark = content.feedback.text("mark_name", language)  # the sign-off's name
    assert name_mark in text_q.text and "Anna" not in text_q.text
    [reply_q] = await click(router, state, text_q, fb="use_opening")
    [summary] = await click(router, state, reply_q, fb="no")
    assert content.feedback.text("redacted_note", language) in summary.text
    assert mark in summary.text
    await click(router, state, summary, fb="send")
    [record] = records.of_kind("feedback")
    assert record.description == redact(opening).text  # stored with the marks staff read
    assert "040" not in record.description and record.language == language
    assert "Anna" not in record.description


@pytest.mark.parametrize(
    "text, starts",
    [
        ("Haluan tehdä valituksen: poikani koulussa oppilaiden ääntä ei kuulla", True),
        ("Hei, haluaisin antaa palautetta ruokalan jonoista", True),
        ("Jag vill klaga på att skolan aldrig svarar", True),
        ("Hello, I'd like to make a complaint about my daughter's school", True),
        ("who do I contact if I want to make a complaint about a school?", False),
        ("vart vänder jag mig om jag vill klaga på gymnasiet?", False),
        ("Jos haluan antaa palautetta ruokailusta, kenelle se annetaan?", False),
        ("If I want to complain about the school, who do I contact?", False),
        ("I don't want to complain, but how does the school council work?", False),
    ],
)
async def test_an_outright_request_starts_the_dialog_whatever_the_nlu_reads(
    router, nlu, text, starts
):
    nlu.default = Parse("student_council", 0.9)  # the words of a complaint pull to a topic
    state = ConversationData()
    replies = await say(router, state, text)
    assert (state.feedback is not None) is starts
    assert (replies[-1].topic == "give_feedback") is starts
    assert (nlu.calls == []) is starts


async def test_a_bare_request_or_own_words_need_no_offer(router, nlu, records):
    state = ConversationData()
    await say(router, state, "haluan antaa palautetta")  # three words: nothing to offer
    await say(router, state, "", {"fb": "category", "value": "teaching"})
    [text_q] = await say(router, state, "", {"fb": "skip"})
    assert payloads(text_q) == [{"fb": "cancel"}]

    opening = "Haluan antaa palautetta siitä, että opettaja selitti asiat tosi hyvin"
    nlu.add(opening, "give_feedback")
    state = ConversationData()
    await say(router, state, opening)
    await say(router, state, "", {"fb": "category", "value": "teaching"})
    [text_q] = await say(router, state, "", {"fb": "skip"})
    assert {"fb": "use_opening"} in payloads(text_q)
    await say(router, state, "Kiitos opettajalle!")  # typed instead: the typed text counts
    await say(router, state, "", {"fb": "no"})
    await say(router, state, "", {"fb": "send"})
    [record] = records.of_kind("feedback")
    assert record.description == "Kiitos opettajalle!"


@pytest.mark.parametrize("language, word", LANGUAGE_CASES)
@pytest.mark.parametrize("steps", [0, 1, 2, 3])
async def test_cancel_at_any_step_in_any_language(router, records, content, language, word, steps):
    state = ConversationData()
    state.choose_language(language)
    _, reply = await say(router, state, "", {"intent": "give_feedback"})
    answers = [{"fb": "category", "value": "other"}, {"fb": "skip"}, "Palaute tässä."]
    for answer in answers[:steps]:
        if isinstance(answer, dict):
            [reply] = await say(router, state, "", answer)
        else:
            [reply] = await say(router, state, answer)
    [cancelled] = await say(router, state, word.capitalize() + "!")
    assert cancelled.text == content.feedback.text("cancelled", language)
    assert state.feedback is None and records.saved == {}


async def test_help_explains_and_asks_the_same_step_again(router, content):
    state = ConversationData()
    _, question = await say(router, state, "haluan antaa palautetta")
    help_reply, again = await say(router, state, "apua")
    assert help_reply.text == content.feedback.text("about_category", "fi")  # what to do here
    assert again.text == question.text and state.feedback["step"] == "category"


async def test_free_text_at_a_button_step_asks_again(router, content):
    state = ConversationData()
    _, question = await say(router, state, "haluan antaa palautetta")
    note, again = await say(router, state, "mikä on ruutiraha?")
    assert note.text == content.feedback.text("choose_one", "fi")
    assert again.text == question.text


async def test_typed_category_label_works_like_the_button(router):
    state = ConversationData()
    await say(router, state, "haluan antaa palautetta")
    await say(router, state, "kouluruoka")
    assert state.feedback["category"] == "school_meals" and state.feedback["step"] == "unit"


@pytest.mark.parametrize(
    "typed, category",
    [
        ("koulun ruoka", "school_meals"),
        ("skolmaten", "school_meals"),
        ("the school building has mould", "premises"),
        ("wilma", "communication"),
        ("muu asia", "other"),
        ("ruoka ja jokin muu", "school_meals"),  # "something else" only when nothing else is named
    ],
)
async def test_a_category_named_in_own_words_is_chosen(router, typed, category):
    state = ConversationData()
    await say(router, state, "haluan antaa palautetta")
    await say(router, state, typed)
    assert state.feedback["category"] == category and state.feedback["step"] == "unit"


async def test_two_categories_named_is_no_choice(router, content):
    state = ConversationData()
    await say(router, state, "haluan antaa palautetta")
    note, _ = await say(router, state, "opettaja ja ruoka")
    assert note.text == content.feedback.text("choose_one", "fi")
    assert state.feedback["category"] is None


@pytest.mark.parametrize("language", ["fi", "sv", "en", "fi-x-selko"])
async def test_the_feedback_typed_as_the_answer_to_what_it_is_about_is_kept(
    router, records, content, language
):
    """Nothing retyped: the message becomes the text, its category is chosen, the text
    step is skipped, and both notes say so; the phone number in it is redacted."""
    complaint = {
        "fi": "Ruoka on ollut kylmää koko viikon, soittakaa minulle 040 123 4567",
        "sv": "Maten har varit kall hela veckan, ring mig på 040 123 4567 tack",
        "en": "The food has been cold all week, please call me on 040 123 4567",
        "fi-x-selko": "Ruoka on ollut kylmää koko viikon, soittakaa minulle 040 123 4567",
    }[language]
    state = ConversationData(language=language, language_explicit=True)
    await say(router, state, "", {"intent": "give_feedback"})

    note, unit = await say(router, state, complaint)

    label = content.feedback.categories["school_meals"].label[language]
    assert note.text == " ".join(
        [
            content.feedback.text("text_taken", language),
            content.feedback.text("category_chosen", language, category=label),
        ]
    )
    assert unit.text == content.feedback.text("ask_unit", language)
    assert "040" not in state.feedback["text"] and state.feedback["redacted"]
    await say(router, state, "", {"fb": "skip"})
    assert state.feedback["step"] == "wants_reply"
    await say(router, state, "", {"fb": "no"})
    await say(router, state, "", {"fb": "send"})
    [stored] = records.of_kind("feedback")
    assert stored.category == "school_meals"
    assert stored.description == redact(complaint).text


async def test_the_feedback_typed_without_a_category_keeps_the_text_and_asks_it(router, content):
    state = ConversationData()
    await say(router, state, "haluan antaa palautetta")
    text = "Tämä on todella huonosti järjestetty asia meidän koulussamme nykyään"
    note, question = await say(router, state, text)
    assert note.text == content.feedback.text("text_taken", "fi")
    assert question.text == content.feedback.text("ask_category", "fi")
    await say(router, state, "", {"fb": "category", "value": "other"})
    await say(router, state, "", {"fb": "skip"})
    assert state.feedback["step"] == "wants_reply" and state.feedback["text"] == text


@pytest.mark.parametrize(
    "typed_reply, typed_method, method",
    [
        ("joo", "sähköpostilla", "email"),
        ("yes please", "by phone", "phone"),
        ("ja", "e-post", "email"),
    ],
)
async def test_yes_no_and_contact_method_can_be_typed(router, typed_reply, typed_method, method):
    state = ConversationData()
    await to_reply_question(router, state)
    await say(router, state, typed_reply)
    assert state.feedback["step"] == "contact_method"
    await say(router, state, typed_method)
    assert state.feedback["contact_method"] == method and state.feedback["step"] == "contact"


@pytest.mark.parametrize("typed", ["ei kiitos", "nej tack", "no thanks"])
async def test_a_typed_no_wants_no_reply(router, typed):
    state = ConversationData()
    await say(router, state, "haluan antaa palautetta")
    await say(router, state, "", {"fb": "category", "value": "other"})
    await say(router, state, "", {"fb": "skip"})
    await say(router, state, "Palautetta koulun käytännöistä")
    await say(router, state, typed)
    assert state.feedback["step"] == "confirm" and not state.feedback["wants_reply"]


async def test_a_short_sentence_at_the_category_step_is_kept_as_the_text(router, content):
    """Five words are a sentence, not a category name: the text is kept, not dropped."""
    state = ConversationData()
    await say(router, state, "haluan antaa palautetta")
    note, _ = await say(router, state, "koulun ruoka on ollut kylmää koko viikon")
    assert note.text.startswith(content.feedback.text("text_taken", "fi"))
    assert state.feedback["category"] == "school_meals"
    assert state.feedback["text"] == "koulun ruoka on ollut kylmää koko viikon"


@pytest.mark.parametrize("answer", ["joo", "ok kiitos", "yes"])
async def test_a_typed_yes_uses_the_offered_opening(router, records, answer):
    state = ConversationData()
    opening = "Haluan valittaa: kouluruoka on ollut pahaa Pihlajamäen koulussa koko syksyn"
    await say(router, state, opening)
    await say(router, state, "", {"fb": "category", "value": "school_meals"})
    await say(router, state, "", {"fb": "skip"})
    await say(router, state, answer)
    assert state.feedback["step"] == "wants_reply"
    assert state.feedback["text"] == opening


@pytest.mark.parametrize("answer", ["ok", "ei", "no thanks"])
async def test_a_bare_yes_or_no_is_not_taken_as_the_feedback(router, content, answer):
    state = ConversationData()
    await say(router, state, "haluan antaa palautetta")
    await say(router, state, "", {"fb": "category", "value": "other"})
    await say(router, state, "", {"fb": "skip"})
    [again] = await say(router, state, answer)
    assert again.text == content.feedback.text("ask_text", "fi")
    assert state.feedback["step"] == "text" and state.feedback["text"] is None
    await say(router, state, "ei toimi")  # a short feedback with "ei" in it is feedback
    assert state.feedback["text"] == "ei toimi"


@pytest.mark.parametrize(
    "request_text, language",
    [("på svenska", "sv"), ("in English please", "en"), ("selkokielellä", "fi-x-selko")],
)
async def test_a_language_request_mid_dialog_switches_and_is_never_stored(
    router, content, request_text, language
):
    state = ConversationData()
    await say(router, state, "haluan antaa palautetta")
    await say(router, state, "", {"fb": "category", "value": "premises"})
    replies = await say(router, state, request_text)
    assert state.language == language and replies[-1].locale == language
    assert replies[-1].text == content.feedback.text("ask_unit", language)
    assert state.feedback["unit"] is None and state.feedback["step"] == "unit"


@pytest.mark.parametrize("word", ["never mind", "unohda koko juttu", "glöm det", "ei sittenkään"])
async def test_everyday_ways_to_cancel(router, content, word):
    state = ConversationData()
    await say(router, state, "haluan antaa palautetta")
    [closing] = await say(router, state, word)
    assert state.feedback is None
    assert closing.text == content.feedback.text("cancelled", closing.locale)


async def test_en_is_no(router):
    state = ConversationData()
    await to_reply_question(router, state)
    await say(router, state, "en")
    assert state.feedback["step"] == "confirm" and not state.feedback["wants_reply"]


@pytest.mark.parametrize(
    "method, typed, stored",
    [
        ("email", "my email is john@example.com", "john@example.com"),
        ("phone", "soita numeroon 040 123 4567 kiitos", "0401234567"),
    ],
)
async def test_contact_details_within_a_sentence_are_found(router, method, typed, stored):
    state = ConversationData()
    await to_reply_question(router, state)
    await say(router, state, "", {"fb": "yes"})
    await say(router, state, "", {"fb": method})
    await say(router, state, typed)
    assert state.feedback["contact"] == stored and state.feedback["step"] == "consent"


async def test_too_long_feedback_is_refused_with_the_limit(router, config, content):
    state = ConversationData()
    await say(router, state, "haluan antaa palautetta")
    await say(router, state, "", {"fb": "category", "value": "other"})
    await say(router, state, "", {"fb": "skip"})
    note, _ = await say(router, state, "a" * (config.feedback.max_text_chars + 1))
    assert note.text == content.feedback.text(
        "text_too_long", "fi", max_chars=config.feedback.max_text_chars
    )
    assert state.feedback["step"] == "text"
    # Longer than a question may be, but within the feedback limit: accepted.
    await say(router, state, "b " * 700)
    assert state.feedback["step"] == "wants_reply"


async def test_phone_contact_is_checked_and_declined_consent_drops_it(router, records, content):
    state = ConversationData()
    await say(router, state, "haluan antaa palautetta")
    for payload in ({"fb": "category", "value": "premises"}, {"fb": "skip"}):
        await say(router, state, "", payload)
    await say(router, state, "Liikuntasalin ovi on rikki.")
    await say(router, state, "", {"fb": "yes"})
    await say(router, state, "", {"fb": "phone"})
    [bad] = await say(router, state, "12")
    assert bad.text == content.feedback.text("bad_phone", "fi")
    await say(router, state, "+358 40 765 4321")
    assert state.feedback["contact"] == "+358407654321"
    declined, summary = await say(router, state, "", {"fb": "no"})
    assert declined.text == content.feedback.text("consent_declined", "fi")
    assert "+358" not in str(state.to_dict())
    await say(router, state, "", {"fb": "send"})
    [record] = records.of_kind("feedback")
    assert record.contact is None and record.contact_method is None


async def test_change_one_answer_returns_to_the_summary(router, records):
    state = ConversationData()
    summary = await to_summary(router, state, "other", "Ensimmäinen versio.")
    first_reference = state.feedback["reference"]
    [menu] = await click(router, state, summary, fb="edit")
    [text_q] = await click(router, state, menu, value="text")
    [summary] = await say(router, state, "Toinen versio.")
    assert "Toinen versio." in summary.text and state.feedback["step"] == "confirm"
    assert state.feedback["reference"] != first_reference
    await click(router, state, summary, fb="send")
    [record] = records.of_kind("feedback")
    assert record.description == "Toinen versio."


async def test_database_down_keeps_the_feedback_and_retry_stores_it_once(router, records, content):
    state = ConversationData()
    summary = await to_summary(router, state, "communication", "Tiedotteet tulevat myöhässä.")
    reference = state.feedback["reference"]

    records.down = True
    [failed] = await click(router, state, summary, fb="send")
    assert failed.text == content.feedback.text("not_saved", "fi")
    assert {"fb": "send"} in payloads(failed) and records.saved == {}
    assert state.feedback["text"] == "Tiedotteet tulevat myöhässä." and state.feedback["failed"]

    records.down = False
    stored, _ = await click(router, state, failed, fb="send")
    assert reference in stored.text
    [stale] = await click(router, state, failed, fb="send")  # the old button again
    assert stale.text == content.feedback.text("no_draft", "fi")
    assert [r.reference for r in records.of_kind("feedback")] == [reference]
    assert records.of_kind("unanswered") == []


async def test_abandoned_draft_expires_but_a_refused_submission_does_not(
    router, records, clock, content, nlu, config
):
    state = ConversationData()
    await say(router, state, "haluan antaa palautetta")
    clock.now += timedelta(minutes=config.feedback.dialog_timeout_minutes + 1)
    nlu.add("kiitos", "thanks")
    expired, *rest = await say(router, state, "kiitos")
    assert expired.text == content.feedback.text(
        "expired", "fi", minutes=config.feedback.dialog_timeout_minutes
    )
    assert rest[0].topic == "thanks" and state.feedback is None

    await to_summary(router, state, "other", "Teksti.")
    records.down = True
    await say(router, state, "", {"fb": "send"})
    clock.now += timedelta(days=2)
    records.down = False
    [stored, _] = await say(router, state, "", {"fb": "send"})
    assert len(records.of_kind("feedback")) == 1


async def test_language_button_mid_dialog_asks_the_step_again_in_that_language(router, content):
    state = ConversationData()
    await say(router, state, "haluan antaa palautetta")
    confirm, question = await say(router, state, "Svenska", {"lang": "sv"})
    assert confirm.text == content.ui["language_continues"]["sv"]  # not "what would you ask?"
    assert question.text == content.feedback.text("ask_category", "sv")
    assert state.feedback["step"] == "category"


async def test_rating_up_down_with_comment_and_a_changed_mind(router, nlu, records, content):
    nlu.add("mikä on ruutiraha", "ruuti_budget")
    state = ConversationData()
    [answer] = await say(router, state, "mikä on ruutiraha")
    [thanks] = await click(router, state, answer, rating="up")
    assert thanks.text == content.feedback.text("rated_up", "fi")
    [ask] = await click(router, state, answer, rating="down")  # changed mind: same answer
    assert ask.text == content.feedback.text("ask_comment", "fi")
    assert {"intent": "give_feedback"} in payloads(ask)
    [saved] = await say(router, state, "Puuttui, mistä hakemus löytyy. Sp: testi@example.com")
    assert saved.text.startswith(content.feedback.text("comment_saved", "fi"))
    [rating] = records.of_kind("rating")
    assert rating.topic == "ruuti_budget" and rating.helpful is False
    assert rating.comment == "Puuttui, mistä hakemus löytyy. Sp: [sähköposti]"
    assert (rating.language, rating.channel) == ("fi", "directline")
    # The next message is a question again, not a comment.
    [again] = await say(router, state, "mikä on ruutiraha")
    assert again.topic == "ruuti_budget"


@pytest.mark.parametrize(
    "language, question, typed, rating",
    [
        ("fi", "mikä on ruutiraha", "👍", "up"),
        ("fi", "mikä on ruutiraha", "ei auttanut", "down"),
        ("sv", "vad är ruuti", "hjälpte inte", "down"),
        ("en", "what is ruuti", "Not helpful.", "down"),
        ("en", "what is ruuti", "👎", "down"),
    ],
)
async def test_a_rating_can_be_typed_in_words_or_as_its_symbol(
    router, nlu, records, content, language, question, typed, rating
):
    nlu.add(question, "ruuti_budget")
    state = ConversationData(language=language, language_explicit=True)
    await say(router, state, question)
    [reply] = await say(router, state, typed)
    key = "rated_up" if rating == "up" else "ask_comment"
    assert reply.text == content.feedback.text(key, language)
    assert question in nlu.calls and typed not in nlu.calls
    if rating == "up":
        [stored] = records.of_kind("rating")
        assert stored.helpful is True


async def test_rating_comment_can_be_skipped(router, nlu, records, content):
    nlu.add("mikä on ruutiraha", "ruuti_budget")
    state = ConversationData()
    [answer] = await say(router, state, "mikä on ruutiraha")
    [ask] = await click(router, state, answer, rating="down")
    [skipped] = await click(router, state, ask, rating_comment="skip")
    assert skipped.text == content.feedback.text("comment_skipped", "fi")
    [rating] = records.of_kind("rating")
    assert rating.comment is None and state.rating_comment is None


async def test_a_comment_asking_to_be_called_says_comments_get_no_reply(
    router, nlu, records, content
):
    nlu.add("mikä on ruutiraha", "ruuti_budget")
    state = ConversationData()
    [answer] = await say(router, state, "mikä on ruutiraha")
    await click(router, state, answer, rating="down")
    [noted] = await say(router, state, "soita mulle 0401234567 niin kerron lisää")
    assert content.feedback.text("comment_no_reply", "fi") in noted.text
    assert noted.buttons[0].payload == {"intent": "give_feedback"}
    [rating] = records.of_kind("rating")
    assert "0401234567" not in rating.comment


async def test_unanswered_questions_are_recorded_redacted_with_guesses(router, nlu, records):
    nlu.add("paljonko päivähoito maksaa, soita 0401234567", "out_of_scope", 0.8)
    nlu.add(
        "vaikuttaminen jotenkin",
        "student_council",
        0.2,
        ranking=[("student_council", 0.2), ("school_board", 0.1)],
    )
    nlu.add("mikä on ruutiraha", "ruuti_budget")
    state = ConversationData()
    await say(router, state, "paljonko päivähoito maksaa, soita 0401234567")
    await say(router, state, "vaikuttaminen jotenkin")
    await say(router, state, "mikä on ruutiraha")  # answered: not recorded
    nlu.down = True
    await say(router, state, "miten pääsen oppilaskuntaan")
    found = {r.reason: r for r in records.of_kind("unanswered")}
    assert set(found) == {"out_of_scope", "not_sure", "nlu_unavailable"}
    assert found["out_of_scope"].text == "paljonko päivähoito maksaa, soita [puhelinnumero]"
    assert found["not_sure"].guesses == [
        {"intent": "student_council", "confidence": 0.2},
        {"intent": "school_board", "confidence": 0.1},
    ]
    assert found["nlu_unavailable"].guesses == []


async def test_refused_rating_waits_in_the_outbox_until_the_next_turn(router, nlu, records):
    nlu.add("mikä on ruutiraha", "ruuti_budget")
    state = ConversationData()
    [answer] = await say(router, state, "mikä on ruutiraha")
    records.down = True
    await click(router, state, answer, rating="up")
    assert len(state.outbox) == 1 and records.saved == {}
    records.down = False
    await say(router, state, "mikä on ruutiraha")
    assert state.outbox == [] and len(records.of_kind("rating")) == 1


async def test_a_draft_with_an_unknown_step_starts_over_instead_of_failing(router, content):
    state = ConversationData(feedback={"step": "from_a_future_version", "text": "x"})
    [question] = await say(router, state, "jotain")
    assert question.text == content.feedback.text("ask_category", "fi")
    assert state.feedback["step"] == "category"


async def test_distress_told_as_the_feedback_gets_help_and_the_feedback_is_kept(router, content):
    state = ConversationData()
    await say(router, state, "haluan antaa palautetta")
    await say(router, state, "", {"fb": "category", "value": "other"})
    await say(router, state, "", {"fb": "skip"})
    help_reply, next_q = await say(router, state, "mua kiusataan koulussa eikä kukaan auta")
    assert help_reply.topic == "distress" and "112" in help_reply.text
    assert state.feedback["text"] == "mua kiusataan koulussa eikä kukaan auta"
    assert next_q.text == content.feedback.text("ask_wants_reply", "fi", days=180) or (
        state.feedback["step"] == "wants_reply"
    )


async def test_a_question_after_a_thumbs_down_is_kept_and_answered(router, nlu, records, content):
    nlu.add("mikä on ruutiraha", "ruuti_budget")
    nlu.add("mikä on nuorisoneuvosto?", "youth_council")
    state = ConversationData()
    [answer] = await say(router, state, "mikä on ruutiraha")
    await click(router, state, answer, rating="down")
    saved, answered = await say(router, state, "mikä on nuorisoneuvosto?")
    assert saved.text == content.feedback.text("comment_saved", "fi")
    assert answered.topic == "youth_council"
    [rating] = records.of_kind("rating")
    assert rating.comment == "mikä on nuorisoneuvosto?"


@pytest.mark.parametrize("typed", ["joo", "lähetä se", "yes send it", "ok kiitos"])
async def test_a_typed_yes_sends_from_the_summary(router, records, typed):
    state = ConversationData()
    await to_summary(router, state, "other", "Palautetta koulun käytännöistä")
    await say(router, state, typed)
    assert len(records.of_kind("feedback")) == 1


async def test_dont_know_skips_the_unit_and_skip_is_no_feedback_text(router, content):
    state = ConversationData()
    await say(router, state, "haluan antaa palautetta")
    await say(router, state, "", {"fb": "category", "value": "other"})
    await say(router, state, "en tiedä")
    assert state.feedback["step"] == "text" and state.feedback["unit"] is None
    [again] = await say(router, state, "ohita")
    assert again.text == content.feedback.text("ask_text", "fi") and state.feedback["text"] is None


async def test_use_it_typed_uses_the_offered_message(router):
    state = ConversationData()
    opening = "Haluan valittaa: kouluruoka on ollut pahaa Pihlajamäen koulussa koko syksyn"
    await say(router, state, opening)
    await say(router, state, "", {"fb": "category", "value": "school_meals"})
    await say(router, state, "", {"fb": "skip"})
    await say(router, state, "käytä sitä")
    assert state.feedback["text"] == opening


@pytest.mark.parametrize(
    "typed, step",
    [("teksti", "text"), ("change the unit", "unit"), ("muuta yhteystietoja", "wants_reply")],
)
async def test_what_to_change_can_be_typed_on_the_summary(router, typed, step):
    state = ConversationData()
    await to_summary(router, state, "other", "Palautetta koulun käytännöistä")
    await say(router, state, "Muuta")
    await say(router, state, typed)
    assert state.feedback["step"] == step and state.feedback["editing"]


async def test_a_question_about_the_answer_after_a_thumbs_down_is_only_the_comment(
    router, nlu, records, content
):
    nlu.add("what is ruuti", "ruuti_budget")
    nlu.add("Why didn't it say how old you must be?", "plain_language", 0.7)
    state = ConversationData(language="en", language_explicit=True)
    [answer] = await say(router, state, "what is ruuti")
    await click(router, state, answer, rating="down")
    [saved] = await say(router, state, "Why didn't it say how old you must be?")
    assert saved.text == content.feedback.text("comment_saved", "en")
    [rating] = records.of_kind("rating")
    assert rating.comment == "Why didn't it say how old you must be?"


async def _at_step(router, state):
    """A Finnish feedback dialog with the category chosen (the unit question open)."""
    _intro, question = await say(router, state, "haluan antaa palautetta")
    [unit_q] = await click(router, state, question, value="school_meals")
    return unit_q


@pytest.mark.parametrize("typed", ["what do you mean by unit?", "mikä on ruutiraha?"])
async def test_a_question_at_the_unit_step_gets_help_and_is_no_unit(router, content, typed):
    state = ConversationData()
    await _at_step(router, state)
    help_reply, again = await say(router, state, typed)
    assert help_reply.text == content.feedback.text("about_unit", "fi")
    assert again.text == content.feedback.text("ask_unit", "fi")
    assert state.feedback["unit"] is None and state.feedback["step"] == "unit"


async def test_a_question_at_the_category_step_is_not_taken_as_the_feedback(router, content):
    state = ConversationData()
    _intro, question = await say(router, state, "haluan antaa palautetta")
    help_reply, again = await say(router, state, "en tiedä mikä näistä sopii minulle")
    assert help_reply.text == content.feedback.text("about_category", "fi")
    assert state.feedback["text"] is None and state.feedback["step"] == "category"


async def test_a_sentence_typed_as_the_unit_is_asked_about_and_kept_as_the_user_says(
    router, content
):
    """ "Ruoka on aina kylmää ..." as the unit was stored as the unit's name; a long
    official name taken as the feedback was as wrong. The user says which it is."""
    complaint = "ruoka on aina kylmää ja pahaa meidän koulussa"
    state = ConversationData()
    await _at_step(router, state)
    [which] = await say(router, state, complaint)
    assert which.text == content.feedback.text("ask_unit_or_text", "fi")
    assert {"fb": "as_text"} in payloads(which) and state.feedback["unit"] is None
    note, again = await say(router, state, "se on palaute")  # typed, or the button
    assert note.text == content.feedback.text("text_taken", "fi")
    assert again.text == content.feedback.text("ask_unit", "fi")
    assert state.feedback["text"] == complaint
    [reply_q] = await say(router, state, "Kallion ala-aste")
    assert state.feedback["unit"] == "Kallion ala-aste"
    assert reply_q.text == content.feedback.text("ask_wants_reply", "fi")

    name = "Stadin ammatti- ja aikuisopisto, Myllypuron toimipaikka, sähkö- ja automaatioala"
    state = ConversationData()
    await _at_step(router, state)
    [which] = await say(router, state, name)
    [text_q] = await click(router, state, which, fb="as_unit")
    assert state.feedback["unit"] == name and state.feedback["text"] is None
    assert text_q.text.startswith(content.feedback.text("ask_text", "fi")[:20])


async def test_a_message_longer_than_any_unit_name_at_the_unit_step_is_the_feedback(
    router, content
):
    state = ConversationData()
    await _at_step(router, state)
    long_text = "Ruoka on ollut kylmää koko viikon, eikä kukaan ole kertonut miksi. " * 4
    note, again = await say(router, state, long_text)
    assert note.text == content.feedback.text("text_taken", "fi")
    assert state.feedback["text"] == long_text.strip()
    assert again.text == content.feedback.text("ask_unit", "fi")


async def _reply_wanted(router, state):
    """A Finnish feedback dialog up to "e-mail or phone?" (a reply was wanted)."""
    await _at_step(router, state)
    await say(router, state, "Kallion ala-aste")
    await say(router, state, "Ruoka oli kylmää koko viikon.")
    await say(router, state, "kyllä")


@pytest.mark.parametrize(
    "no_after_all",
    ["en halua antaa numeroa", "I don't want to give my number", "jag vill inte ge mitt nummer"],
)
async def test_no_contact_after_all_typed_at_the_contact_step(router, content, no_after_all):
    state = ConversationData()
    await _reply_wanted(router, state)
    await say(router, state, "puhelimella")
    [summary] = await say(router, state, no_after_all)
    assert summary.text.startswith(content.feedback.text("summary", "fi").split("\n")[0])
    assert state.feedback["wants_reply"] is False and state.feedback["contact"] is None


async def test_an_address_typed_instead_of_choosing_how_is_taken(router, content):
    state = ConversationData()
    await _reply_wanted(router, state)
    [consent_q] = await say(router, state, "matti@example.com")
    assert state.feedback["contact"] == "matti@example.com"
    assert consent_q.text.startswith(content.feedback.text("ask_consent", "fi")[:20])


async def test_an_address_typed_as_the_answer_to_reply_wanted_is_a_yes_and_taken(router, content):
    state = ConversationData()
    await _at_step(router, state)
    await say(router, state, "Kallion ala-aste")
    await say(router, state, "Vessat ovat rikki.")
    [consent_q] = await say(router, state, "testi@example.com")
    assert state.feedback["wants_reply"] is True
    assert state.feedback["contact"] == "testi@example.com"
    assert consent_q.text.startswith(content.feedback.text("ask_consent", "fi")[:20])


@pytest.mark.parametrize("unit", ["Kallion ala-aste?", "Koulu nimeltä Mikä?"])
async def test_a_unit_name_with_a_question_mark_is_the_unit(router, content, unit):
    state = ConversationData()
    await _at_step(router, state)
    [text_q] = await say(router, state, unit)
    assert state.feedback["unit"] == unit
    assert text_q.text.startswith(content.feedback.text("ask_text", "fi")[:20])
