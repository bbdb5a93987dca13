"""Dialog routing with a scripted NLU (a test double for speed) and the real language detector."""

from __future__ import annotations

import dataclasses

import pytest

from bot.app import build_router
from dialogs.messages import Button, UserMessage, typed_labels
from dialogs.state import ConversationData
from tests.unit.doubles import MemoryRecords, ScriptedNlu


@pytest.fixture
def nlu() -> ScriptedNlu:
    return ScriptedNlu()


@pytest.fixture
def router(config, content, nlu):
    return build_router(config, content, nlu, MemoryRecords())


async def say(router, state, text, payload=None, locale=None):
    return await router.respond(UserMessage(text=text, payload=payload or {}, locale=locale), state)


async def test_topic_answer_in_detected_language(router, nlu, content):
    nlu.add("how do I join the youth council?", "youth_council")
    state = ConversationData()
    [reply] = await say(router, state, "how do I join the youth council?")
    assert reply.topic == "youth_council"
    assert reply.locale == "en"
    assert reply.text.startswith(content.topics["youth_council"].answer["en"][:40])
    assert {b.payload["intent"] for b in reply.buttons if "intent" in b.payload} == set(
        content.topics["youth_council"].related
    )
    assert [b.payload["rating"] for b in reply.buttons if "rating" in b.payload] == ["up", "down"]


@pytest.mark.parametrize("language", ["fi", "sv", "en", "fi-x-selko"])
async def test_feedback_channels_answer_offers_the_feedback_dialog_it_mentions(
    router, nlu, content, language
):
    """The answer says feedback can be given here in the chat: its button starts that."""
    nlu.add("how do I give feedback?", "feedback_channels")
    state = ConversationData(language=language, language_explicit=True)
    [answer] = await say(router, state, "how do I give feedback?")
    assert answer.topic == "feedback_channels"
    [button] = [b for b in answer.buttons if b.payload.get("intent") == "give_feedback"]
    assert button.label == content.conversation["give_feedback"].title[language]

    replies = await say(router, state, button.label, payload=button.payload)

    assert state.feedback is not None
    assert replies[-1].topic == "give_feedback"


async def test_level_question_then_answer_and_level_remembered(router, nlu, content):
    nlu.add("miten pääsen oppilaskuntaan?", "student_council")
    state = ConversationData()
    [question] = await say(router, state, "miten pääsen oppilaskuntaan?")
    assert question.topic == "student_council"
    assert question.text == content.ui["clarify_level"]["fi"]
    levels = [b.payload["level"] for b in question.buttons]
    assert levels == list(content.topics["student_council"].variants)
    [answer] = await say(router, state, "Lukio", payload={"level": "upper_secondary"})
    assert answer.text.startswith(
        content.topics["student_council"].variants["upper_secondary"]["fi"][:40]
    )
    assert state.level == "upper_secondary"
    # Asked once: the next level-dependent topic uses the remembered level.
    nlu.add("mitä opetussuunnitelmaan kuuluu", "learning_plans")
    [again] = await say(router, state, "mitä opetussuunnitelmaan kuuluu")
    assert again.text.startswith(
        content.topics["learning_plans"].variants["upper_secondary"]["fi"][:40]
    )


@pytest.mark.parametrize(
    "language, question, follow_up",
    [
        ("fi", "miten pääsen oppilaskuntaan?", "entä lukiossa?"),
        ("fi", "miten pääsen oppilaskuntaan?", "ja lukiossa?"),
        ("sv", "hur kommer jag med i elevkåren?", "och i gymnasiet?"),
        ("en", "how do I join the student council?", "what about upper secondary school?"),
    ],
)
async def test_a_follow_up_naming_a_level_gets_the_last_topic_at_that_level(
    router, nlu, content, language, question, follow_up
):
    nlu.add(question, "student_council")  # the follow-up itself: out of scope (the default)
    state = ConversationData(language=language, language_explicit=True)
    await say(router, state, question)
    [answer] = await say(router, state, "", payload={"level": "basic"})
    assert answer.text.startswith(
        content.topics["student_council"].variants["basic"][language][:40]
    )
    [again] = await say(router, state, follow_up)
    variant = content.topics["student_council"].variants["upper_secondary"][language]
    assert again.topic == "student_council" and again.text.startswith(variant[:40])
    assert state.level == "upper_secondary"


@pytest.mark.parametrize(
    "language, question, follow_up",
    [
        ("fi", "mikä on vanhempaintoimikunta päiväkodissa?", "entä koulussa?"),
        ("sv", "vad är föräldrarådet på daghemmet?", "och i skolan?"),
        ("en", "what is the parent committee in daycare?", "and when she goes to school?"),
    ],
)
async def test_a_follow_up_naming_a_school_after_a_daycare_answer_means_basic_education(
    router, nlu, content, language, question, follow_up
):
    nlu.add(question, "parent_committee")
    state = ConversationData(language=language, language_explicit=True)
    await say(router, state, question)
    [answer] = await say(router, state, follow_up)
    variant = content.topics["parent_committee"].variants["basic"][language]
    assert answer.topic == "parent_committee" and answer.text.startswith(variant[:40])


async def test_a_follow_up_is_only_a_fallback(router, nlu, content):
    """The NLU's own confident topic wins; without a last topic, or when that topic has
    no answer of its own for the level, the assistant says it is not sure as before."""
    nlu.add("miten pääsen oppilaskuntaan?", "student_council")
    nlu.add("entä lukion ruutiraha?", "ruuti_budget")
    state = ConversationData()
    await say(router, state, "miten pääsen oppilaskuntaan?")
    await say(router, state, "", payload={"level": "basic"})
    [ruuti] = await say(router, state, "entä lukion ruutiraha?")
    assert ruuti.topic == "ruuti_budget"
    # Ruuti has no level answers, a fresh conversation no topic, and "lukiossa?" no
    # follow-up opening: none answers a topic; the level is noted for what comes next.
    noted = content.ui_text(
        "level_noted", "fi", level=content.level_labels["upper_secondary"]["fi"]
    )
    [unsure] = await say(router, state, "entä lukiossa?")
    assert unsure.text == noted
    [fresh] = await say(router, ConversationData(), "entä lukiossa?")
    assert fresh.text == noted
    [plain] = await say(router, state, "lukiossa?")
    assert plain.text == noted


@pytest.mark.parametrize(
    "language, question, typed, level",
    [
        ("fi", "miten pääsen oppilaskuntaan?", "lukiossa", "upper_secondary"),
        ("fi", "miten pääsen oppilaskuntaan?", "peruskoulu", "basic"),
        ("sv", "hur kommer jag med i elevkåren?", "hon går i gymnasiet", "upper_secondary"),
        ("en", "how do I join the student council?", "comprehensive school", "basic"),
        ("fi", "miten pääsen oppilaskuntaan?", "oon 7lk", "basic"),
        ("fi", "miten pääsen oppilaskuntaan?", "oon 5luokalla", "basic"),
        ("fi", "miten pääsen oppilaskuntaan?", "olen amiksessa", "upper_secondary"),
    ],
)
async def test_a_level_typed_instead_of_pressed_answers_the_open_level_question(
    router, nlu, content, language, question, typed, level
):
    """The NLU reads the typed level on its own as out of scope (the double's default):
    the open level question is what it answers."""
    nlu.add(question, "student_council")
    state = ConversationData(language=language, language_explicit=True)
    [asked] = await say(router, state, question)
    assert asked.text == content.ui["clarify_level"][language]
    [answer] = await say(router, state, typed)
    variant = content.topics["student_council"].variants[level][language]
    assert answer.topic == "student_council" and answer.text.startswith(variant[:40])
    assert state.level == level and state.pending_topic is None


async def test_a_grade_told_in_an_english_conversation_keeps_english(router, nlu, content):
    """The detector called "i'm in 6th grade" Swedish: a few words naming a level keep
    the conversation's language unless their small words settle it."""
    nlu.add("how do i join the student council", "student_council")
    state = ConversationData()
    await say(router, state, "how do i join the student council", locale="en")
    [answer] = await say(router, state, "i'm in 6th grade", locale="en")
    assert answer.locale == "en" and answer.topic == "student_council"
    assert answer.text.startswith(content.topics["student_council"].variants["basic"]["en"][:40])


@pytest.mark.parametrize(
    "text, locale, language",
    [
        ("olen amiksessa", None, "fi"),
        ("im in grade 8", None, "en"),
        ("mun lapsi on eskarissa", None, "fi"),
        ("oon 7lk", None, "fi"),
        ("i'm in 6th grade", "en", "en"),  # the detector said Swedish
        ("jag går i åttan", "sv-FI", "sv"),
    ],
)
async def test_a_level_told_on_its_own_is_noted(router, nlu, content, text, locale, language):
    nlu.add(text, "affirm", 0.7)  # the NLU read "oon" as yes
    state = ConversationData()
    [noted] = await say(router, state, text, locale=locale)
    assert noted.locale == language
    assert noted.text.startswith(content.ui["level_noted"][noted.locale].split("{")[0])
    assert state.level is not None


async def test_a_short_question_surely_out_of_scope_is_no_level_statement(router, nlu):
    nlu.add("koska lukion yhteishaku alkaa?", "out_of_scope", 0.9)
    state = ConversationData()
    [reply] = await say(router, state, "koska lukion yhteishaku alkaa?")
    assert reply.topic == "out_of_scope" and state.level is None


@pytest.mark.parametrize("language", ["fi", "sv", "en", "fi-x-selko"])
async def test_a_level_the_topic_has_no_answer_for_is_named_and_the_levels_offered(
    router, nlu, content, language
):
    nlu.add("miten pääsen oppilaskuntaan?", "student_council")
    state = ConversationData(language=language, language_explicit=True)
    await say(router, state, "miten pääsen oppilaskuntaan?")
    await say(router, state, "", payload={"level": "basic"})

    [reply] = await say(router, state, "entä päiväkodissa?")

    council = content.topics["student_council"]
    assert reply.topic == "student_council"
    assert council.title[language] in reply.text
    assert content.level_labels["ecec"][language] in reply.text
    assert [b.payload["level"] for b in reply.buttons] == list(council.variants)
    [answer] = await say(router, state, "", payload=reply.buttons[-1].payload)
    assert answer.text.startswith(council.variants["upper_secondary"][language][:40])


async def test_a_question_naming_a_level_the_topic_lacks_says_so(router, nlu, content):
    nlu.add("onko päiväkodissa oppilaskuntaa?", "student_council")
    state = ConversationData()
    [reply] = await say(router, state, "onko päiväkodissa oppilaskuntaa?")
    assert content.level_labels["ecec"]["fi"] in reply.text
    assert [b.payload["level"] for b in reply.buttons] == ["basic", "upper_secondary"]


@pytest.mark.parametrize("typed", ["👎", "ei auttanut"])
async def test_a_thumbs_down_typed_at_the_level_question_rates_the_topic(
    router, nlu, content, typed
):
    nlu.add("miten pääsen oppilaskuntaan?", "student_council")
    state = ConversationData()
    await say(router, state, "miten pääsen oppilaskuntaan?")
    [asked] = await say(router, state, typed)
    assert asked.text == content.feedback.text("ask_comment", "fi")
    assert state.rating_comment["topic"] == "student_council"
    assert not state.rating_comment["helpful"]


async def test_a_longer_message_naming_a_level_is_a_question_of_its_own(router, nlu, content):
    nlu.add("miten pääsen oppilaskuntaan?", "student_council")
    state = ConversationData()
    await say(router, state, "miten pääsen oppilaskuntaan?")
    [reply] = await say(router, state, "paljonko lukion kirjat maksavat tänä vuonna yhteensä?")
    assert reply.topic == "out_of_scope"
    assert state.pending_topic == "student_council"


async def test_level_named_in_question_skips_the_question(router, nlu, content):
    text = "hur kan jag påverka på daghemmet?"
    nlu.add(text, "parent_committee")
    [reply] = await say(router, ConversationData(), text)
    assert reply.locale == "sv"
    assert reply.text.startswith(content.topics["parent_committee"].variants["ecec"]["sv"][:40])


async def test_typed_button_label_routes_like_the_button(router, nlu, content):
    nlu.add("miten pääsen oppilaskuntaan?", "student_council")
    state = ConversationData()
    [question] = await say(router, state, "miten pääsen oppilaskuntaan?")
    label = question.buttons[0].label
    [answer] = await say(router, state, label.upper())
    assert answer.text.startswith(content.topics["student_council"].variants["basic"]["fi"][:40])
    assert label.upper() not in nlu.calls


def test_a_key_two_buttons_share_stands_for_neither():
    offered = typed_labels(
        [Button("👍 Auttoi", {"rating": "up"}), Button("👍 Hyvä", {"rating": "other"})]
    )
    assert offered["auttoi"] == {"rating": "up"} and offered["👍 auttoi"] == {"rating": "up"}
    assert "👍" not in offered


@pytest.mark.parametrize(
    "text, language",
    [
        ("I have a question", "en"),
        ("Hei! Minulla olisi kysymys.", "fi"),
        ("hej, får jag fråga en sak?", "sv"),
    ],
)
async def test_an_announced_question_gets_the_greeting_without_the_nlu(
    router, nlu, content, text, language
):
    replies = await say(router, ConversationData(), text)
    assert replies[0].topic == "greet" and replies[0].locale == language
    assert replies[0].text == content.conversation["greet"].answer[language]
    assert nlu.calls == []


@pytest.mark.parametrize("language", ["fi", "sv", "en", "fi-x-selko"])
async def test_the_introduction_is_shown_once(router, nlu, content, language):
    """After the welcome, "hei" or "I have a question" gets a short invitation."""
    state = ConversationData(language=language, language_explicit=True)
    welcome = router.welcome(state, None)
    assert welcome[0].text == content.conversation["greet"].answer[language]
    [again] = await say(router, state, "I have a question")
    assert again.topic == "greet" and again.text == content.ui["greet_again"][language]


async def test_a_question_after_the_announcement_goes_to_the_nlu(router, nlu):
    nlu.add("minulla on kysymys oppilaskunnasta", "student_council")
    [reply] = await say(router, ConversationData(), "minulla on kysymys oppilaskunnasta")
    assert reply.topic == "student_council"


@pytest.mark.parametrize(
    "text, topic",
    [
        ("Who is responsible?", "participation_responsibility"),
        ("vanhempaintoimikunta", "parent_committee"),
    ],
)
async def test_a_topic_title_typed_answers_that_topic_without_the_nlu(router, nlu, text, topic):
    replies = await say(router, ConversationData(), text)
    assert replies[0].topic == topic
    assert nlu.calls == []


@pytest.mark.parametrize("text, level", [("peruskoulu", "basic"), ("päiväkodissa", "ecec")])
async def test_a_level_alone_is_remembered_and_invites_the_question(
    router, nlu, content, text, level
):
    nlu.add(text, "cancel", 0.9)  # what the NLU made of "peruskoulu"
    state = ConversationData()
    [reply] = await say(router, state, text)
    label = content.level_labels[level]["fi"]
    assert reply.text == content.ui_text("level_noted", "fi", level=label)
    assert state.level == level


@pytest.mark.parametrize(
    "text, nlu_intent, confidence, answered",
    [
        (
            "Miten huoltajana voin vaikuttaa lapseni kouluun?",
            "service_planning",
            0.33,
            "parent_committee",
        ),
        ("how can parents be involved in school", "participation_rights", 0.28, "parent_committee"),
        (
            "Can parents influence the merger of our school?",
            "service_planning",
            0.95,
            "service_planning",
        ),
        (
            "how can parents join the parents' association",
            "parents_association",
            0.4,
            "parents_association",
        ),
    ],
)
async def test_the_general_guardian_question_gets_the_guardians_overview(
    router, nlu, text, nlu_intent, confidence, answered
):
    nlu.add(text, nlu_intent, confidence)
    replies = await say(router, ConversationData(), text)
    assert replies[0].topic == answered


async def test_easy_language_asked_in_swedish_says_there_is_none_and_offers_languages(
    router, nlu, content
):
    nlu.add("jag förstår inte", "plain_language")
    state = ConversationData(language="sv", language_explicit=True)
    [reply] = await say(router, state, "jag förstår inte")
    assert reply.text == content.ui["no_easy_language"]["sv"]
    assert {"lang": "fi-x-selko"} in [b.payload for b in reply.buttons]
    assert state.language == "sv"


async def test_still_unclear_in_plain_finnish_offers_a_person(router, nlu, content):
    nlu.add("en vieläkään ymmärrä", "plain_language")
    state = ConversationData(language="fi-x-selko", language_explicit=True)
    note, contact = await say(router, state, "en vieläkään ymmärrä")
    assert note.text == content.ui["still_unclear"]["fi-x-selko"]
    assert contact.topic == "human_contact"


async def test_plain_language_request_inside_question(router, nlu, content):
    text = "mikä on ruutiraha? sano helposti"
    nlu.add("mikä on ruutiraha", "ruuti_budget")
    state = ConversationData()
    [reply] = await say(router, state, text)
    assert nlu.calls == ["mikä on ruutiraha"]  # the NLU sees the question, not the request
    assert reply.locale == "fi-x-selko"
    assert reply.text.startswith(content.topics["ruuti_budget"].answer["fi-x-selko"][:40])
    # The choice sticks, also for a Finnish follow-up.
    nlu.add("entä nuorisoneuvosto", "youth_council")
    [follow] = await say(router, state, "entä nuorisoneuvosto")
    assert follow.locale == "fi-x-selko"


@pytest.mark.parametrize(
    "request_text, request_intent",
    [
        ("en ymmärrä", "plain_language"),  # the NLU recognises the request
        ("selkokielellä kiitos", "thanks"),  # a cue phrase; too short to be a question
    ],
)
async def test_plain_language_request_repeats_last_answer_in_selko(
    router, nlu, request_text, request_intent
):
    nlu.add("mikä on johtokunta", "school_board")
    nlu.add(request_text, request_intent)
    state = ConversationData()
    await say(router, state, "mikä on johtokunta")
    confirm, repeat = await say(router, state, request_text)
    assert confirm.topic == "plain_language" and confirm.locale == "fi-x-selko"
    assert (repeat.topic, repeat.locale) == ("school_board", "fi-x-selko")


async def test_language_switch_mid_conversation_sticks(router, nlu):
    nlu.add("mikä on vanhempainyhdistys", "parents_association")
    nlu.add("på svenska tack", "change_language")
    nlu.add("mikä on nuorisoneuvosto ja miten sinne pääsee", "youth_council")
    state = ConversationData()
    [first] = await say(router, state, "mikä on vanhempainyhdistys")
    assert first.locale == "fi"
    confirm, repeat = await say(router, state, "på svenska tack")
    assert (confirm.locale, repeat.locale) == ("sv", "sv")
    assert repeat.topic == "parents_association"
    [after] = await say(router, state, "mikä on nuorisoneuvosto ja miten sinne pääsee")
    assert after.locale == "sv"


@pytest.mark.parametrize(
    "text",
    [
        "is there Swedish-language daycare?",
        "are there English speaking schools in Helsinki",
        "finns det svenskspråkiga daghem",
        "finns det svenska skolor?",
        "Swedish daycare?",
    ],
)
async def test_a_language_as_a_kind_of_service_is_no_language_request(router, nlu, text):
    """The NLU read "is there Swedish-language daycare?" as asking to change language."""
    nlu.add(text, "change_language", 0.9)
    state = ConversationData()
    [reply] = await say(router, state, text, locale="en")
    assert reply.topic == "out_of_scope" and not state.language_explicit


@pytest.mark.parametrize(
    "text, locale",
    [
        ("finns det föräldraförening på daghemmet?", "sv"),
        ("onko päiväkodissa vanhempainyhdistystä?", "fi"),
    ],
)
async def test_a_parents_association_asked_about_at_daycare_gets_the_parent_committee(
    router, nlu, content, text, locale
):
    """A parents' association is a school's; at daycare the parent committee answers."""
    nlu.add(text, "parents_association")
    state = ConversationData()
    [reply] = await say(router, state, text)
    assert reply.topic == "parent_committee" and reply.locale == locale
    assert reply.text.startswith(content.topics["parent_committee"].variants["ecec"][locale][:40])
    nlu.add("mikä on vanhempainyhdistys?", "parents_association")
    [school] = await say(router, ConversationData(), "mikä on vanhempainyhdistys?")
    assert school.topic == "parents_association"


async def test_a_language_of_a_service_is_no_level_answer(router, nlu):
    nlu.add("ruotsinkielinen päiväkoti", "out_of_scope", 0.67)
    state = ConversationData()
    [reply] = await say(router, state, "ruotsinkielinen päiväkoti")
    assert reply.topic == "out_of_scope" and state.level is None


async def test_an_unsure_plain_language_reading_is_no_request(router, nlu):
    """The NLU read the Swedish "förslag" (a suggestion) as asking for plain language."""
    nlu.add("förslag", "plain_language", 0.21)
    state = ConversationData(language="sv")
    [reply] = await say(router, state, "förslag")
    assert reply.topic == "out_of_scope" and state.language == "sv"  # the not-sure reply


def test_a_language_named_without_a_service_is_no_service_question(content):
    for text in ("can you answer in the Swedish language", "Swedish-speaking please", "svenska"):
        assert not content.cues.asks_about_service_language(text), text


async def test_language_button(router, nlu):
    state = ConversationData()
    replies = await say(router, state, "English", payload={"lang": "en"})
    assert replies[0].locale == "en" and replies[0].topic == "change_language"
    assert state.language_explicit


async def test_low_confidence_offers_likely_topics_and_help(router, nlu, content):
    text = "vaikuttaminen koulussa jotenkin"
    nlu.add(
        text,
        "student_council",
        0.2,
        ranking=[
            ("student_council", 0.2),
            ("greet", 0.15),
            ("school_board", 0.1),
            ("peer_groups", 0.01),
        ],
    )
    [reply] = await say(router, ConversationData(), text)
    assert reply.topic == "out_of_scope"
    payloads = [b.payload for b in reply.buttons]
    assert payloads == [
        {"intent": "student_council"},
        {"intent": "school_board"},
        {"intent": "help"},
        {"intent": "give_feedback"},
    ]


async def test_not_sure_without_guesses_does_not_ask_which_one(router, nlu, content):
    nlu.add("ruoka on pahaa meidän koulussa", "out_of_scope", 0.2, ranking=[("out_of_scope", 0.2)])
    [reply] = await say(router, ConversationData(), "ruoka on pahaa meidän koulussa")
    assert reply.text == content.ui["not_sure_no_guesses"]["fi"]
    assert [b.payload for b in reply.buttons] == [{"intent": "help"}, {"intent": "give_feedback"}]


@pytest.mark.parametrize(
    "text, language",
    [
        ("mua kiusataan koulussa", "fi"),
        ("Lastani kiusataan joka päivä, mitä voin tehdä?", "fi"),
        ("mitt barn mobbas i skolan", "sv"),
        ("I don't feel safe at school", "en"),
        ("mä haluun kuolla", "fi"),
        ("mun kaveri sanoo et se haluu kuolla", "fi"),
        ("mua lyödään koulussa", "fi"),
        ("lapsi kiusataan koulussa mitä teen", "fi"),
        ("my friend wants to kill himself", "en"),
        ("someone hits my kid in school", "en"),
        ("jag vill inte leva längre", "sv"),
        ("en jaksa elää enää", "fi"),
        ("I don't want to live anymore", "en"),
        ("jag blir slagen i skolan", "sv"),
        ("someone is hitting my daughter at daycare", "en"),
    ],
)
async def test_distress_gets_where_to_find_help_before_anything_else(
    router, nlu, content, text, language
):
    [reply] = await say(router, ConversationData(), text)
    assert reply.topic == "distress" and reply.locale == language
    assert reply.text == content.ui["distress"][language] and "112" in reply.text
    assert [b.payload for b in reply.buttons] == [{"intent": "student_welfare"}]


async def test_a_configured_crisis_line_is_named_in_the_help(config, content, nlu):
    """No number is written into the content; the city's confirmed one comes from config
    (a made-up test number here)."""
    contacts = dataclasses.replace(config.contacts, crisis_line="09 1234 5678")
    router = build_router(
        dataclasses.replace(config, contacts=contacts), content, nlu, MemoryRecords()
    )
    [reply] = await say(router, ConversationData(language="sv"), "jag vill inte leva längre")
    assert reply.text.startswith(content.ui["distress"]["sv"])
    assert reply.text.endswith(
        content.ui["distress_crisis_line"]["sv"].format(number="09 1234 5678")
    )


async def test_distress_with_a_question_surely_on_a_topic_gets_both(router, nlu, content):
    text = "the song hits me, anyway how do I join the student council?"
    nlu.add(text, "student_council", 0.9)
    help_reply, answer = await say(router, ConversationData(language="en"), text)
    assert help_reply.topic == "distress" and answer.topic == "student_council"


@pytest.mark.parametrize(
    "text",
    [
        "lyödään vetoa että oppilaskunta ei tee mitään",
        "hit me up with info about the youth council",
    ],
)
async def test_idioms_with_words_of_distress_are_questions(router, nlu, text):
    nlu.add(text, "student_council", 0.9)
    [reply] = await say(router, ConversationData(), text)
    assert reply.topic == "student_council"


async def test_a_question_about_preventing_bullying_is_for_the_nlu(router, nlu):
    nlu.add("miten koulu ehkäisee kiusaamista", "equality_plan")
    [reply] = await say(router, ConversationData(), "miten koulu ehkäisee kiusaamista")
    assert reply.topic == "equality_plan"


async def test_out_of_scope_never_answers_a_topic(router, nlu, content):
    nlu.add("paljonko päivähoito maksaa", "out_of_scope")
    [reply] = await say(router, ConversationData(), "paljonko päivähoito maksaa")
    assert reply.topic == "out_of_scope"
    assert reply.text.startswith(content.conversation["out_of_scope"].answer["fi"][:30])
    assert {"intent": "help"} in [b.payload for b in reply.buttons]


async def test_nlu_down_is_a_polite_fallback(router, nlu, content):
    nlu.down = True
    [reply] = await say(router, ConversationData(), "miten pääsen oppilaskuntaan")
    assert reply.topic == "out_of_scope"
    assert reply.text == content.ui["nlu_unavailable"]["fi"]
    assert reply.buttons


@pytest.mark.parametrize(
    "text, key",
    [
        ("", "empty_message"),
        ("   \t\n ", "empty_message"),
        ("\u0000\u0007\u200b", "empty_message"),
        ("👍🎉🙂", "no_words"),
        ("040 123 4567", "no_words"),  # nothing left once the phone number is out
        ("x" * 10_000, "too_long"),
    ],
)
async def test_unreadable_input_gets_a_reason_without_nlu(router, nlu, content, text, key):
    [reply] = await say(router, ConversationData(), text)
    expected = (
        content.ui_text(key, "fi", max_chars=1000) if key == "too_long" else content.ui[key]["fi"]
    )
    assert reply.text == expected
    assert nlu.calls == []


async def test_the_nlu_never_gets_contact_details_or_identity_codes(router, nlu):
    question = "miten pääsen oppilaskuntaan? soita 040 123 4567 tai maija@example.com, 131052-308T"
    nlu.add("miten pääsen oppilaskuntaan? soita  tai , ", "student_council")
    [reply] = await say(router, ConversationData(), question)
    assert nlu.calls == ["miten pääsen oppilaskuntaan? soita  tai , "]
    assert reply.topic == "student_council"


async def test_attachment_without_text(router, nlu, content):
    message = UserMessage(text="", has_attachments=True)
    [reply] = await router.respond(message, ConversationData())
    assert reply.text == content.ui["attachment_only"]["fi"]


async def test_channel_locale_is_the_prior_for_short_messages(router, nlu):
    nlu.add("hej", "greet")
    [reply] = await say(router, ConversationData(), "hej", locale="sv-FI")
    assert reply.locale == "sv"


async def test_every_conversation_intent_answers_in_every_language(router, nlu, content):
    for intent in content.conversation:
        if intent in ("change_language", "plain_language"):
            continue
        for language in ("fi", "sv", "en", "fi-x-selko"):
            # A yes or a no says so in its first word ("opettaja ei kuuntele" is no "no").
            text = {"affirm": "ok ", "deny": "ei "}.get(intent, "") + f"{intent}-{language}"
            nlu.add(text, intent)
            state = ConversationData()
            state.choose_language(language)
            replies = await say(router, state, text)
            assert replies[0].topic == intent
            assert replies[0].locale == language
            assert replies[0].text


async def test_a_level_typed_in_an_english_conversation_keeps_english(router, nlu, content):
    nlu.add("what is the student council?", "student_council")
    state = ConversationData(language="en")
    await say(router, state, "what is the student council?", locale="en")
    [answer] = await say(router, state, "grade 3", locale="en")
    assert answer.locale == "en"
    assert answer.text.startswith(content.topics["student_council"].variants["basic"]["en"][:40])


async def test_a_reply_to_the_level_question_that_names_no_level_asks_it_again(
    router, nlu, content
):
    nlu.add("miten pääsen oppilaskuntaan?", "student_council")
    nlu.add("en tiedä", "deny")
    state = ConversationData()
    [question] = await say(router, state, "miten pääsen oppilaskuntaan?")
    [again] = await say(router, state, "en tiedä")
    # In other words the second time (a tester got the same sentence again and again).
    assert again.text == content.ui["clarify_level_again"]["fi"] != question.text
    assert again.buttons == question.buttons
    assert state.pending_topic == "student_council"


@pytest.mark.parametrize(
    "unsure, intent, confidence, ranking, offered, sure, sure_confidence",
    [
        # A complaint with a negation is no "no".
        ("opettaja ei kuuntele meitä", "deny", 0.8, (), "give_feedback", "ei kiitos", 0.9),
        # An unsure cancel with nothing to cancel offers the likeliest topics.
        (
            "haluan tavata opettaja",
            "cancel",
            0.39,
            [("cancel", 0.39), ("parent_meetings", 0.25)],
            "parent_meetings",
            "lopeta",
            0.95,
        ),
    ],
)
async def test_a_misread_deny_or_cancel_gets_the_not_sure_reply_a_real_one_is_taken(
    router, nlu, unsure, intent, confidence, ranking, offered, sure, sure_confidence
):
    nlu.add(unsure, intent, confidence, ranking=ranking)
    [reply] = await say(router, ConversationData(), unsure)
    assert reply.topic == "out_of_scope"
    assert {"intent": offered} in [b.payload for b in reply.buttons]
    nlu.add(sure, intent, sure_confidence)
    [taken] = await say(router, ConversationData(), sure)
    assert taken.topic == intent


async def test_what_does_that_mean_after_an_answer_gives_it_in_plain_finnish(router, nlu, content):
    nlu.add("mikä on ruutiraha", "ruuti_budget")
    state = ConversationData()
    await say(router, state, "mikä on ruutiraha")
    _switched, again = await say(router, state, "mitä se tarkoittaa?")
    assert again.locale == "fi-x-selko" and again.topic == "ruuti_budget"
    nlu.add("mitä se tarkoittaa vanhemmille?", "participation_rights", 0.8)
    [question] = await say(router, ConversationData(), "mitä se tarkoittaa vanhemmille?")
    assert question.topic == "participation_rights"  # a question of its own, for the NLU


async def test_the_greeting_before_a_question_does_not_reach_the_nlu(router, nlu):
    text = "Hello, my child go to daycare, how I can tell my opinion?"
    nlu.add("my child go to daycare, how I can tell my opinion?", "parent_committee")
    replies = await say(router, ConversationData(), text)
    assert replies[0].topic == "parent_committee"


@pytest.mark.parametrize(
    "text",
    [
        "Как мой ребенок может влиять в школе?",
        "كيف يمكنني المشاركة",
        "Wie kann ich in der Schule meines Kindes mitbestimmen?",
        "Sidee baan u saameyn karaa dugsiga ilmahayga?",
    ],
)
async def test_another_language_gets_the_languages_there_are_in_each(router, nlu, content, text):
    replies = await say(router, ConversationData(language="sv"), text)
    assert [(r.locale, r.text) for r in replies] == [
        (code, content.ui["other_language"][code]) for code in ("en", "fi", "sv")
    ]
    assert {"lang": "fi"} in [b.payload for b in replies[-1].buttons]
    assert not replies[0].buttons
    assert nlu.calls == []


@pytest.mark.parametrize(
    "text, language", [("puhutko somalia?", "fi"), ("do you speak Arabic?", "en")]
)
async def test_asking_for_another_language_gets_the_languages_there_are(
    router, nlu, content, text, language
):
    [reply] = await say(router, ConversationData(language=language), text)
    assert reply.text == content.ui["other_language"][language] and reply.locale == language
    assert {"lang": "sv"} in [b.payload for b in reply.buttons]
    assert nlu.calls == []


async def test_a_complaint_too_long_for_a_question_starts_the_feedback_dialog(router, nlu, config):
    text = "Haluan tehdä valituksen: " + "ruoka on kylmää ja pahaa. " * 60
    assert config.nlu.max_message_chars < len(text) <= config.feedback.max_text_chars
    state = ConversationData()
    replies = await say(router, state, text)
    assert replies[-1].topic == "give_feedback" and state.feedback["opening"]


async def test_one_word_in_another_language_does_not_switch_the_conversation(router, nlu):
    nlu.add("kiitos", "thanks")
    nlu.add("ruutiraha", "ruuti_budget")
    state = ConversationData(language="en")
    [thanks] = await say(router, state, "kiitos")
    assert thanks.locale == "fi"  # answered in its own language
    [answer] = await say(router, state, "ruutiraha")
    assert answer.locale == "en" and state.language == "en"


async def test_a_short_unsure_follow_up_offers_the_topic_just_answered(router, nlu, content):
    nlu.add("mikä on nuorisoneuvosto", "youth_council")
    nlu.add("milloin on vaalit?", "out_of_scope", 0.59)
    nlu.add("paljonko bussilippu maksaa", "out_of_scope", 0.99)
    state = ConversationData()
    await say(router, state, "mikä on nuorisoneuvosto")
    [offer] = await say(router, state, "milloin on vaalit?")
    assert offer.text == content.ui["not_sure"]["fi"]
    assert offer.buttons[0].payload == {"intent": "youth_council"}
    [out] = await say(router, state, "paljonko bussilippu maksaa")  # surely out of scope
    assert out.text.startswith(content.conversation["out_of_scope"].answer["fi"][:30])


@pytest.mark.parametrize(
    "text, latin",
    [
        ("miten pääsen oppilaskuntaan?", True),
        ("Hur når jag elevkåren? Åbo, Ærø", True),
        ("Tiếng Việt được không?", True),  # Latin letters beyond U+0250: named LATIN
        ("как вступить в школьный совет?", False),
        ("كيف أشارك؟", False),
        ("ruutiraha как это работает", False),  # mostly Cyrillic letters
        ("µ ª º", False),  # letters below U+00C0, and still not Latin ones
        ("", True),
    ],
)
def test_latin_script_by_a_quick_scan_or_by_each_letter_s_name(text, latin):
    from dialogs.router import is_latin_script

    assert is_latin_script(text) is latin
