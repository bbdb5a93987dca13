"""The cue phrase index (content/text.py `Phrases`) answers exactly as trying every phrase
one by one would, on every held-out question and on messages built from the cues."""

from __future__ import annotations

from pathlib import Path

import pytest

from content.text import Phrase, Phrases, words
from nlu.evaluate import load_questions

DATA = Path(__file__).resolve().parents[1] / "data"


def phrase_sets(content) -> dict[str, Phrases]:
    cues = content.cues
    groups = {"plain_language": cues.plain_language}
    for name in ("switch_language", "language_names", "levels"):
        groups.update({f"{name}.{key}": p for key, p in getattr(cues, name).items()})
    return groups


def messages(content) -> list[list[str]]:
    texts = [q.text for path in sorted(DATA.glob("heldout*.yml")) for q in load_questions(path)]
    for phrases in phrase_sets(content).values():
        for phrase in phrases:
            example = " ".join(stem + ("xx" if prefix else "") for stem, prefix in phrase.parts)
            texts += [example, f"mikä on {example} kiitos", f"{example}!"]
    return [words(text) for text in texts]


def test_the_index_agrees_with_every_phrase_tried_alone(content):
    checked = 0
    for name, phrases in phrase_sets(content).items():
        for message in messages(content):
            one_by_one = [p for p in phrases if p.found_in(message)]
            assert phrases.found_in(message) == bool(one_by_one), (name, message)
            assert phrases.is_whole(message) == any(p.is_whole(message) for p in phrases)
            expected = sorted((s.start, s.stop) for p in phrases for s in p.spans(message))
            assert sorted((s.start, s.stop) for s in phrases.spans(message)) == expected
            checked += bool(one_by_one)
    assert checked > 300  # the cues themselves were found, not only misses compared


@pytest.mark.parametrize(
    ("phrase", "message", "found"),
    [
        ("selko*", "puhu selkokielellä", True),
        ("se*", "sano se", True),  # a stem shorter than the index key is still tried
        ("se*", "sano tämä", False),
        ("på svenska", "kan du svara på svenska", True),
        ("på svenska", "på engelska", False),
    ],
)
def test_prefix_and_short_stems(phrase, message, found):
    assert Phrases([Phrase(phrase)]).found_in(words(message)) is found


@pytest.mark.parametrize(
    "message, after, opens",
    [
        ("entä lukiossa?", 0, True),
        ("no entä lukiossa?", 0, False),
        ("no entä lukiossa?", 1, True),
        ("lukiossa, entä?", 0, False),
    ],
)
def test_opens_counts_only_a_phrase_at_the_start(message, after, opens):
    assert Phrases([Phrase("enta*")]).opens(words(message), after=after) is opens


def test_the_requested_language_shortcut_never_skips_a_request(content):
    """`requested_language` answers at once when no language phrase is in the message;
    on every message it answers as its full check does."""
    cues = content.cues
    requests = 0
    for message in messages(content):
        text = " ".join(message)
        full = cues._language_requested_in(message)  # noqa: SLF001 - the check it shortens
        assert cues.requested_language(text) == full, message
        requests += full is not None
    assert requests > 50  # the cue examples asked for languages: not only misses compared
