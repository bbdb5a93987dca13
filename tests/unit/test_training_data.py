"""NLU training data: every intent present, enough varied examples, held-out set kept apart."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from content.store import read_topic_ids
from content.text import fold
from nlu.language import LinguaDetector

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "nlu" / "data"


def training_examples() -> dict[str, list[str]]:
    examples: dict[str, list[str]] = {}
    for path in sorted(DATA.rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["version"] == "3.1", path
        for block in data["nlu"]:
            lines = [line[2:].strip() for line in block["examples"].splitlines() if line.strip()]
            examples.setdefault(block["intent"], []).extend(lines)
    return examples


def test_one_intent_per_topic_id_and_domain_agrees():
    topics, conversation = read_topic_ids(ROOT / "content" / "topics.yml")
    examples = training_examples()
    assert set(examples) == set(topics) | set(conversation)
    domain = yaml.safe_load((ROOT / "nlu" / "domain.yml").read_text(encoding="utf-8"))
    assert set(domain["intents"]) == set(examples)


def test_enough_examples_in_every_language():
    topics, _ = read_topic_ids(ROOT / "content" / "topics.yml")
    examples = training_examples()
    detector = LinguaDetector()
    for topic in topics:
        assert len(examples[topic]) >= 40, topic
        languages = Counter(
            (d.language if (d := detector.detect(text)) else "?") for text in examples[topic]
        )
        assert languages["sv"] >= 10, (topic, languages)
        assert languages["en"] >= 8, (topic, languages)
    assert len(examples["out_of_scope"]) >= 150
    _, conversation = read_topic_ids(ROOT / "content" / "topics.yml")
    for intent in conversation:
        languages = Counter(
            (d.language if (d := detector.detect(text)) else "?") for text in examples[intent]
        )
        assert min(languages[lang] for lang in ("fi", "sv", "en")) >= 5, (intent, languages)


def test_no_example_is_labelled_twice():
    seen: dict[str, str] = {}
    for intent, lines in training_examples().items():
        for line in lines:
            key = fold(line).strip(" ?!.")
            assert seen.setdefault(key, intent) == intent, f"{line!r}: {seen[key]} and {intent}"


@pytest.mark.parametrize(
    "name",
    sorted(path.name for path in (ROOT / "tests" / "data").glob("heldout*.yml")) + ["parallel.yml"],
)
def test_heldout_questions_are_not_training_examples(name):
    heldout = yaml.safe_load((ROOT / "tests" / "data" / name).read_text(encoding="utf-8"))
    training = {
        fold(line).strip(" ?!.") for lines in training_examples().values() for line in lines
    }
    overlap = [q["text"] for q in heldout["questions"] if fold(q["text"]).strip(" ?!.") in training]
    assert not overlap, overlap
