"""Measure langdetect against lingua on the same labelled messages.

    python -m nlu.compare_langid [tests/data/heldout.yml ...]

For each detector: accuracy on all messages and on short ones (1-3 words), how
often it is confident (>= the configured threshold) and how accurate it is then,
and the time per message. Plain Finnish counts as Finnish: it is not detected.
The result decides `language.detector` in config.yml (docs/language-detection.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml

from nlu.language import LangdetectDetector, LanguageDetector, LinguaDetector

DEFAULT_FILES = [Path(__file__).resolve().parents[1] / "tests" / "data" / "heldout.yml"]


def labelled_messages(paths: list[Path]) -> list[tuple[str, str]]:
    messages = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in data["questions"]:
            language = "fi" if item["lang"] == "fi-x-selko" else item["lang"]
            messages.append((item["text"], language))
    return messages


def measure(detector: LanguageDetector, messages: list[tuple[str, str]], threshold: float) -> dict:
    hits, short_hits, short_total, confident, confident_hits = 0, 0, 0, 0, 0
    timings = []
    for text, expected in messages:
        started = time.perf_counter()
        detection = detector.detect(text)
        timings.append(time.perf_counter() - started)
        got = detection.language if detection else None
        hits += got == expected
        if len(text.split()) <= 3:
            short_total += 1
            short_hits += got == expected
        if detection and detection.confidence >= threshold:
            confident += 1
            confident_hits += got == expected
    return {
        "accuracy": hits / len(messages),
        "short_accuracy": short_hits / short_total if short_total else float("nan"),
        "short_total": short_total,
        "confident_share": confident / len(messages),
        "confident_accuracy": confident_hits / confident if confident else float("nan"),
        "ms_per_message": statistics.mean(timings) * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULT_FILES)
    parser.add_argument("--threshold", type=float, default=0.9)
    args = parser.parse_args(argv)
    messages = labelled_messages(args.files)
    print(f"{len(messages)} labelled messages; confidence threshold {args.threshold}")
    columns = ("accuracy", 10), ("short", 10), ("confident", 11), ("acc@conf", 10), ("ms/msg", 9)
    print(f"{'detector':<12}" + "".join(f"{name:>{width}}" for name, width in columns))
    for name, detector in (("langdetect", LangdetectDetector()), ("lingua", LinguaDetector())):
        detector.detect("lämmittely")  # load models before timing
        r = measure(detector, messages, args.threshold)
        print(
            f"{name:<12}{r['accuracy']:>10.1%}{r['short_accuracy']:>10.1%}"
            f"{r['confident_share']:>11.1%}{r['confident_accuracy']:>10.1%}{r['ms_per_message']:>9.2f}"
        )
    print(f"(short = messages of 1-3 words: {r['short_total']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
