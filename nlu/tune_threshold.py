"""Choose `nlu.confidence_threshold` from cross-validation predictions, not from the held-out set.

    python -m nlu.tune_threshold nlu/results/<pipeline>

Reads intent_successes.json and intent_errors.json written by
`rasa test nlu --cross-validation --successes` and prints, per threshold, the
share of in-scope examples answered with the right intent and the share of
out-of-scope examples declined (predicted out_of_scope, or below the threshold,
which the bot turns into an honest "not sure").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def load_predictions(folder: Path) -> list[tuple[str, str, float]]:
    rows = []
    for name in ("intent_successes.json", "intent_errors.json"):
        for item in json.loads((folder / name).read_text(encoding="utf-8")):
            prediction = item["intent_prediction"]
            rows.append((item["intent"], prediction["name"], float(prediction["confidence"] or 0)))
    return rows


def rates(rows: list[tuple[str, str, float]], threshold: float) -> tuple[float, float]:
    in_scope = [r for r in rows if r[0] != "out_of_scope"]
    out_of_scope = [r for r in rows if r[0] == "out_of_scope"]
    answered = sum(1 for gold, pred, conf in in_scope if pred == gold and conf >= threshold)
    declined = sum(
        1 for _, pred, conf in out_of_scope if pred == "out_of_scope" or conf < threshold
    )
    return answered / len(in_scope), declined / len(out_of_scope)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    args = parser.parse_args(argv)
    rows = load_predictions(args.results)
    print(f"{len(rows)} cross-validation predictions from {args.results}")
    print(f"{'threshold':>9} {'in-scope right':>15} {'out-of-scope declined':>22}")
    for step in range(0, 17):
        threshold = step * 0.05
        answered, declined = rates(rows, threshold)
        print(f"{threshold:>9.2f} {answered:>15.1%} {declined:>22.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
