"""The held-out question sets (tests/data/heldout*.yml, never used for training) end to end,
and the same questions in three languages (tests/data/parallel.yml).

Runs the same evaluation as `python -m nlu.evaluate` against the bot process and
checks the issue's targets: topic accuracy >= 95% in each answer language,
out-of-scope declined >= 90%, reply language right >= 98%.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from nlu.evaluate import load_questions, report, run

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize("name", ["heldout.yml", "heldout_fresh.yml"])
async def test_heldout_targets(bot_url, name):
    questions = load_questions(DATA / name)
    outcomes = await run(questions, bot_url, concurrency=4)
    printed = io.StringIO()
    summary = report(outcomes, out=printed)
    print(printed.getvalue())
    assert set(summary.topic_accuracy) == {"fi", "sv", "en", "fi-x-selko"}
    for language, accuracy in summary.topic_accuracy.items():
        assert accuracy >= 0.95, f"topic accuracy {language}: {accuracy:.1%}\n{printed.getvalue()}"
    assert summary.out_of_scope_accuracy >= 0.90, printed.getvalue()
    assert summary.language_accuracy >= 0.98, printed.getvalue()


async def test_the_same_question_gets_the_same_answer_in_finnish_swedish_and_english(bot_url):
    """tests/data/parallel.yml: one question per topic, asked in three languages.

    Held-out accuracy is counted per language, so it can hide a question that is
    answered in Finnish but not in Swedish; here each topic's three questions must
    all reach it (at most one topic of the 24 may differ, as the targets allow 5%).
    """
    questions = load_questions(DATA / "parallel.yml")
    outcomes = await run(questions, bot_url, concurrency=4)
    by_topic: dict[str, list] = {}
    for outcome in outcomes:
        by_topic.setdefault(outcome.question.topic, []).append(outcome)
    uneven = {
        topic: [(o.question.lang, o.question.text, o.topic) for o in group if not o.topic_ok]
        for topic, group in by_topic.items()
        if not all(o.topic_ok for o in group)
    }
    assert all(len(group) == 3 for group in by_topic.values())
    assert len(by_topic) == 24
    assert len(uneven) <= 1, f"answered differently by language: {uneven}"
