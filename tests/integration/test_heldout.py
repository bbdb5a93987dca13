"""The held-out question sets (tests/data/heldout*.yml, never used for training) end to end.

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
