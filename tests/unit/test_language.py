"""Language cues and the language policy, with the real detectors (they run locally)."""

from __future__ import annotations

import pytest
import yaml

from dialogs.language import LanguagePolicy, language_from_locale
from dialogs.state import ConversationData
from nlu.language import Detection, LangdetectDetector, LinguaDetector


@pytest.fixture(scope="module")
def lingua():
    return LinguaDetector()


def policy(detector) -> LanguagePolicy:
    return LanguagePolicy(detector, "fi", 0.9, 0.5, 3)


@pytest.mark.parametrize(
    "text, language",
    [
        ("miten pääsen oppilaskuntaan?", "fi"),
        ("hur kan jag påverka på daghemmet?", "sv"),
        ("how do I join the youth council?", "en"),
    ],
)
def test_detectors_on_clear_sentences(lingua, text, language):
    assert lingua.detect(text).language == language
    assert LangdetectDetector().detect(text).language == language


def test_langdetect_is_repeatable():
    detector = LangdetectDetector()
    results = {detector.detect("hej hej").language for _ in range(5)}
    assert len(results) == 1


@pytest.mark.parametrize(
    "locale, expected",
    [
        ("sv-FI", "sv"),
        ("en_US", "en"),
        ("fi", "fi"),
        ("fi-x-selko", "fi-x-selko"),
        ("de-DE", None),
        (None, None),
        ("", None),
    ],
)
def test_locale_mapping(locale, expected):
    assert language_from_locale(locale) == expected


def test_explicit_choice_wins_over_detection(lingua):
    state = ConversationData()
    state.choose_language("sv")
    assert policy(lingua).observe(state, "miten pääsen oppilaskuntaan?", None) == "sv"


def test_short_message_keeps_conversation_language(lingua):
    state = ConversationData(language="sv")
    assert policy(lingua).observe(state, "ok", None) == "sv"


def test_confident_detection_overrides_locale_prior(lingua):
    state = ConversationData()
    assert policy(lingua).observe(state, "how do I join the youth council?", "fi-FI") == "en"


def test_finnish_keeps_plain_finnish(lingua):
    state = ConversationData(language="fi-x-selko")
    assert policy(lingua).observe(state, "mikä on nuorisoneuvosto ja miten sinne pääsee", None) == (
        "fi-x-selko"
    )


@pytest.mark.parametrize(
    "text, plain, requested, level",
    [
        ("mikä on ruutiraha? sano helposti", True, None, None),
        ("Selkokielellä kiitos", True, None, None),
        ("in english please: what is the parent committee", False, "en", None),
        ("kan du svara på svenska", False, "sv", None),
        ("svenska", False, "sv", None),
        ("miten pääsen lukion opiskelijakuntaan", False, None, "upper_secondary"),
        ("hur kan jag påverka på daghemmet?", False, None, "ecec"),
        ("paivakodin vanhempaintoimikunta", False, None, "ecec"),
        ("miten pääsen oppilaskuntaan", False, None, None),
        ("what rights do children have in finnish schools", False, None, None),
        ("onko ruotsiksi kerhoja iltapäivisin", False, None, None),
        ("Selitä tosi helposti, kuin lapselle", True, None, None),
        ("ruotsiksi", False, "sv", None),
        ("mitä eroa on päiväkodilla ja lukiolla", False, None, None),
        ("Mitä nuorisoneuvosto tekee? Voitko kertoa sen selvästi ja lyhyesti?", True, None, None),
        ("Selitä niin, että lapsikin ymmärtää.", True, None, None),
        ("Voitko selittää tavallisilla sanoilla?", True, None, None),
        ("Mitä on osallistuva budjetointi? Sano se helposti.", True, None, None),
        ("koulu ei kerro selvästi, miten oppilaskuntaan pääsee", False, None, None),
        ("Selitä selvästi ja lyhyesti: voiko uuden koulun paikkaan vaikuttaa?", True, None, None),
        ("Mikä on OmaStadi? Haluan ymmärtää sen helposti.", True, None, None),
        ("voiko sen helposti tehdä netissä", False, None, None),
        ("Kerro tosi selvästi, mikä on johtokunta", True, None, None),
        ("Kirjoita helpommin, mitä Ruutiraha on", True, None, None),
        ("Selitä niin että ymmärrän: mikä on nuorisoneuvosto?", True, None, None),
        # A negated request is none: "speak finnish" and "puhu suomea" are cues.
        ("I don't speak Finnish well, how do schools inform parents?", False, None, None),
        ("I do not speak finnish", False, None, None),
        ("en puhu suomea", False, None, None),
        ("speak finnish", False, "fi", None),
        ("ei, vastaa ruotsiksi", False, "sv", None),  # "ei" = no: still a request
        ("jag kan inte tala svenska", False, None, None),
        ("Jag är en elev, svara på svenska", False, "sv", None),  # "en" = a, not next to it
        # Other forms of the verbs, and a bare name after a follow-up opening.
        ("voitko vastata ruotsiksi", False, "sv", None),
        ("puhutko englantia", False, "en", None),
        ("kirjoitatko suomeksi", False, "fi", None),
        ("entä ruotsiksi?", False, "sv", None),
        ("och på engelska?", False, "en", None),
        ("what about in Swedish?", False, "sv", None),
        ("entä lukiossa?", False, None, "upper_secondary"),
        # A grade of basic education names its level.
        ("poikani on 3. luokalla", False, None, "basic"),
        ("hän on seiskalla", False, None, "basic"),
        ("min dotter går i femte klass", False, None, "basic"),
        ("my son is in 7th grade", False, None, "basic"),
        ("eka luokka", False, None, "basic"),  # asked again and again at the level question
        ("mun käsi on kipeä", False, None, None),  # "käsi" folds to "kasi": no grade
    ],
)
def test_cues(content, text, plain, requested, level):
    assert content.cues.wants_plain_language(text) is plain
    assert content.cues.requested_language(text) == requested
    assert content.cues.level(text) == level


@pytest.mark.parametrize(
    "text, language",
    [
        ("is it gonna rain in helsinki this weekend", "en"),  # the trigram model said fi
        ("can i vote in omastadi if im 13", "en"),
        ("är du en robot", "sv"),
        ("mitä on ruutiraha", "fi"),
        ("Hur kan vi föräldrar påverka daghemmet?", "sv"),
        ("mikä on the parent committee", None),  # two languages' words: the detector decides
        ("miten pääsen oppilaskuntaan", None),  # one word is not enough
        ("hello", "en"),  # unless it is the whole message: the trigram model said fi
        ("Thanks!", "en"),  # it said sv
        ("tack", "sv"),
        ("kiitos", "fi"),
        ("oppilaskunta", None),  # one word, not a listed one
        ("hello, mikä on ruuti", None),
        ("no moro", "fi"),  # half the message is listed words of one language
        ("hello ruutiraha", "en"),
        ("whats ruuti money", "en"),  # written without the apostrophe: it was answered in fi
        ("ruuti money", "en"),
        ("moi, voisitko kertoa ruutirahasta", None),  # a quarter: the detector decides
    ],
)
def test_function_words_settle_only_unambiguous_messages(content, text, language):
    assert content.cues.language_by_function_words(text) == language


def test_function_words_come_before_the_detector(content):
    class AlwaysFinnish:
        def detect(self, text):
            return Detection("fi", 0.99)

    with_words = LanguagePolicy(
        AlwaysFinnish(), "fi", 0.9, 0.5, 3, by_words=content.cues.language_by_function_words
    )
    assert with_words.observe(ConversationData(), "is it gonna rain this weekend", None) == "en"
    assert with_words.observe(ConversationData(), "oppilaskunta", None) == "fi"  # detector
    assert with_words.guess("är du en robot") == "sv"
    swedish = ConversationData(language="sv")
    assert with_words.observe(swedish, "hello", "sv-FI") == "en"


@pytest.mark.parametrize(
    "conversation, word, reply",
    [
        ("sv", "respons", "sv"),  # the detector: English
        ("fi", "feedback", "fi"),
        ("en", "Ruutiraha", "en"),
        ("en", "kiitos", "fi"),  # a word of Finnish's own: its reply in Finnish
        ("fi-x-selko", "kiitos", "fi-x-selko"),
    ],
)
def test_one_word_is_answered_in_its_language_only_when_the_word_is_that_languages_own(
    content, lingua, conversation, word, reply
):
    languages = LanguagePolicy(
        lingua, "fi", 0.9, 0.5, 3, by_words=content.cues.language_by_function_words
    )
    state = ConversationData(language=conversation)
    assert languages.observe(state, word, None) == reply
    assert state.language == conversation


@pytest.mark.parametrize(
    "text, language",
    [
        ("Wie kann ich in der Schule mitbestimmen?", "de"),
        ("Waa maxay dugsiga?", "so"),
        ("Kuidas ma saan koolis kaasa rääkida?", "et"),
        ("¿Cómo puedo participar en la escuela de mi hijo?", "es"),
        ("Comment je peux participer à l'école de mon enfant?", "fr"),
        ("Okulda nasıl etkili olabilirim?", "tr"),
        ("Hola", "es"),  # one word alone, of four letters or more
        ("Tere!", "et"),
        ("mis", None),  # shorter: too little to go on
        ("Guten Tag", "de"),
        ("Kas ma saan anda tagasisidet?", "et"),
        ("mikä on Schule?", None),  # fewer than Finnish's
        ("I want to die", None),  # "die" is English, and the distress check's
        ("minä haluan vaikuttaa", None),  # "mina" is no Estonian word here
    ],
)
def test_other_languages_by_their_small_words(content, text, language):
    assert content.cues.other_language(text) == language


def test_no_labelled_or_training_message_is_taken_for_another_language(content):
    """The other languages' words are no word of ours: every message we know is in fi,
    sv or en (held-out sets, short messages, the NLU's training data)."""
    from tests.unit.test_training_data import ROOT, training_examples

    texts = [text for examples in training_examples().values() for text in examples]
    for path in sorted((ROOT / "tests" / "data").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        texts += [item["text"] for item in data.get("questions", [])]
    assert len(texts) > 5000
    taken = [(text, content.cues.other_language(text)) for text in texts]
    assert [pair for pair in taken if pair[1]] == []


@pytest.mark.parametrize(
    "text, asks",
    [
        ("puhutko somalia?", True),
        ("onko tietoa arabiaksi", True),
        ("do you speak Russian?", True),
        ("finns det information på arabiska", True),
        ("Mikä bussi menee Kalasatamasta Arabianrantaan?", False),  # a district's name
        ("voiko koulussa opiskella saksaa", False),  # a question about school
        ("we speak french at home", False),
        ("onko oman äidinkielen opetusta somaliksi?", False),
        ("Voiko koulussa opiskella saksaa ja ranskaa, kun on seitsemännellä luokalla?", False),
    ],
)
def test_a_short_question_naming_another_language(content, text, asks):
    assert content.cues.asks_for_other_language(text) is asks


def test_only_out_of_scope_training_messages_name_another_language(content):
    from tests.unit.test_training_data import training_examples

    named = {
        intent
        for intent, examples in training_examples().items()
        for text in examples
        if content.cues.asks_for_other_language(text)
    }
    assert named <= {"out_of_scope"}
