"""Content validation: every topic in every language, grounded, chat-sized, plain Finnish."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from content.store import LANGUAGES, ContentError, load_content, read_topic_ids

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "content" / "sources" / "osallisuussuunnitelma.txt"
SHARED_TOPICS = ROOT.parent / "shared" / "topics.yml"


def all_texts(content):
    for entry in [*content.topics.values(), *content.conversation.values()]:
        if entry.answer:
            yield entry.id, None, entry.answer
        for level, texts in entry.variants.items():
            yield entry.id, level, texts


def test_every_topic_and_intent_has_content_in_every_language(content):
    topic_ids, conversation_ids = read_topic_ids(ROOT / "content" / "topics.yml")
    assert sorted(content.topics) == sorted(topic_ids)
    assert sorted(content.conversation) == sorted(conversation_ids)
    for entry_id, _level, texts in all_texts(content):
        assert set(texts) == set(LANGUAGES), entry_id
        assert all(t.strip() for t in texts.values()), entry_id


@pytest.mark.skipif(
    not SHARED_TOPICS.exists(), reason="../shared/topics.yml not beside this checkout"
)
def test_topic_registry_keeps_every_shared_id():
    ours = read_topic_ids(ROOT / "content" / "topics.yml")
    shared = read_topic_ids(SHARED_TOPICS)
    assert set(shared[0]) <= set(ours[0]) and set(shared[1]) <= set(ours[1])


def test_sources_quote_the_participation_plan(content):
    seed = re.sub(r"\s+", " ", SEED.read_text(encoding="utf-8")).lower()
    for entry in content.topics.values():
        for source in entry.sources:
            quoted = re.split(r"[:>]", source)[-1].strip().lower()
            assert quoted and quoted in seed, f"{entry.id}: {source!r} not found in the seed"


def test_answers_are_chat_sized(content):
    lengths = [
        len(text.split())
        for _id, _level, texts in all_texts(content)
        for lang, text in texts.items()
    ]
    assert max(lengths) <= 110
    assert sum(n <= 80 for n in lengths) / len(lengths) >= 0.75


def test_plain_finnish_uses_short_sentences(content):
    for entry_id, level, texts in all_texts(content):
        selko, standard = texts["fi-x-selko"], texts["fi"]
        sentences = [s for s in re.split(r"[.!?]\s+|\n+", selko) if s.strip()]
        longest = max(len(s.split()) for s in sentences)
        assert longest <= 12, f"{entry_id}/{level}: a plain-Finnish sentence of {longest} words"
        assert len(selko.split()) <= 70, f"{entry_id}/{level}: plain Finnish too long"
        assert selko != standard, f"{entry_id}/{level}: plain Finnish is a copy of Finnish"


def test_no_invented_contact_details(content):
    phone = re.compile(r"\+?\d[\d \-]{6,}\d")
    email = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
    for entry_id, _level, texts in all_texts(content):
        for text in texts.values():
            assert not phone.search(text), entry_id
            assert not email.search(text), entry_id
            assert "http" not in text, f"{entry_id}: URLs belong in config links"


def test_level_dependent_topics(content):
    for topic in ("student_council", "learning_plans", "parent_committee"):
        assert content.topics[topic].ask == "level"
    assert set(content.topics["student_council"].variants) == {"basic", "upper_secondary"}


def test_loader_reports_every_problem(tmp_path, config):
    import shutil

    folder = tmp_path / "content"
    shutil.copytree(config.content.path(), folder)
    broken = folder / "topics" / "youth_council.yml"
    data = yaml.safe_load(broken.read_text(encoding="utf-8"))
    del data["answer"]["sv"]
    data["related"] = ["no_such_topic"]
    data["links"] = ["nowhere"]
    data["instead_at"] = {"ecec": "no_such_topic"}
    broken.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (folder / "topics" / "school_board.yml").unlink()
    cues = folder / "language.yml"
    cue_data = yaml.safe_load(cues.read_text(encoding="utf-8"))
    cue_data["function_words"]["sv"].append("mitä")  # folded "mita", also Finnish
    cues.write_text(yaml.safe_dump(cue_data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_content(folder, config.links)
    problems = "\n".join(caught.value.problems)
    assert "function_words: 'mita' is listed for both fi and sv" in problems
    assert "youth_council.yml answer: missing or empty text for language 'sv'" in problems
    assert "unknown related topic 'no_such_topic'" in problems
    assert "unknown link 'nowhere'" in problems
    assert "youth_council.yml: instead_at maps a level to another topic's id" in problems
    assert "topics/school_board.yml: missing" in problems


def test_service_refuses_to_start_with_broken_content(tmp_path, config, capsys):
    import shutil

    from bot.__main__ import main

    folder = tmp_path / "content"
    shutil.copytree(config.content.path(), folder)
    (folder / "topics" / "youth_council.yml").unlink()
    config_file = tmp_path / "config.yml"
    config_file.write_text(
        f"content:\n  dir: {folder}\nbot_framework:\n  allow_unauthenticated: true\n",
        encoding="utf-8",
    )
    assert main(["--config", str(config_file)]) == 2
    assert "topics/youth_council.yml: missing" in capsys.readouterr().err


def test_feedback_texts_invent_no_contacts_and_plain_finnish_is_short(content):
    """The feedback dialog's texts follow the same rules; its one example address uses the
    reserved example.com domain (RFC 2606), which belongs to nobody."""
    phone = re.compile(r"\+?\d[\d \-]{6,}\d")
    email = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
    for key, texts in content.feedback.texts.items():
        for text in texts.values():
            assert not phone.search(text), key
            assert all(f.rstrip(".").endswith("@example.com") for f in email.findall(text)), key
            assert "http" not in text, key
        sentences = [s for s in re.split(r"[.!?:]\s+|\n+", texts["fi-x-selko"]) if s.strip()]
        assert max(len(s.split()) for s in sentences) <= 12, key


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_welcome_names_only_language_requests_that_work(content, language):
    """The welcome's typed examples ("på svenska") must each switch the language,
    since the text stays in the chat after its buttons are gone."""
    cues = content.cues
    examples = re.findall(r"[”“](.+?)”", content.ui["welcome_languages"][language])
    assert examples
    for example in examples:
        assert cues.requested_language(example) or cues.wants_plain_language(example), example


def test_the_staff_app_has_every_text_in_its_three_languages():
    from bot.staff.texts import TEXTS

    assert set(TEXTS) == {"fi", "sv", "en"}
    assert set(TEXTS["fi"]) == set(TEXTS["sv"]) == set(TEXTS["en"])
    assert all(value.strip() for texts in TEXTS.values() for value in texts.values())


def test_the_staff_app_shows_and_filters_times_as_helsinki_lives_them():
    from datetime import UTC, date, datetime

    from bot.staff.review import day_start, local_time

    assert local_time(datetime(2026, 12, 7, 14, 38, tzinfo=UTC)) == "2026-12-07 16:38"
    assert local_time(datetime(2026, 7, 1, 21, 30)) == "2026-07-02 00:30"  # stored naive UTC
    assert day_start(date(2026, 12, 7)) == datetime(2026, 12, 6, 22, 0, tzinfo=UTC)
