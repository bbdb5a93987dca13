"""Language detection limited to the answer languages (fi, sv, en), behind one small interface.

Two implementations: lingua (accurate on short texts) and langdetect (the client's
card names it). Which one runs is a config choice; `python -m nlu.compare_langid`
measures both on the same messages (docs/language-detection.md).
Plain Finnish is never detected: it is a register the user asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

DETECTABLE = ("fi", "sv", "en")


@dataclass(frozen=True)
class Detection:
    language: str
    confidence: float


class LanguageDetector(Protocol):
    def detect(self, text: str) -> Detection | None: ...


class LinguaDetector:
    """lingua-language-detector with only Finnish, Swedish and English loaded.

    `low_accuracy`: trigram models only: 15 MB instead of 121 MB and 30 times
    faster, at 98.5% instead of 100% on our 336 labelled messages (docs/benchmark.md).
    """

    def __init__(self, low_accuracy: bool = False) -> None:
        from lingua import Language, LanguageDetectorBuilder

        self._codes = {Language.FINNISH: "fi", Language.SWEDISH: "sv", Language.ENGLISH: "en"}
        builder = LanguageDetectorBuilder.from_languages(*self._codes)
        if low_accuracy:
            builder = builder.with_low_accuracy_mode()
        self._detector = builder.with_preloaded_language_models().build()

    def detect(self, text: str) -> Detection | None:
        values = self._detector.compute_language_confidence_values(text)
        if not values:
            return None
        best = values[0]
        return Detection(self._codes[best.language], float(best.value))


class LangdetectDetector:
    """langdetect, seeded for repeatable answers, its probabilities renormalised to fi/sv/en."""

    def __init__(self, seed: int = 0) -> None:
        from langdetect import DetectorFactory

        self._factory = DetectorFactory()
        self._factory.load_profile(_langdetect_profiles())
        self._factory.seed = seed

    def detect(self, text: str) -> Detection | None:
        from langdetect.lang_detect_exception import LangDetectException

        detector = self._factory.create()
        detector.append(text)
        try:
            probabilities = detector.get_probabilities()
        except LangDetectException:
            return None
        scores = {p.lang: p.prob for p in probabilities if p.lang in DETECTABLE}
        total = sum(scores.values())
        if not total:
            return None
        language = max(scores, key=scores.__getitem__)
        return Detection(language, scores[language] / total)


def _langdetect_profiles() -> str:
    """A folder holding only the fi, sv and en profiles, so langdetect chooses among them."""
    import os
    import shutil
    import tempfile

    import langdetect

    source = os.path.join(os.path.dirname(langdetect.__file__), "profiles")
    target = os.path.join(tempfile.gettempdir(), "kasko-langdetect-profiles")
    os.makedirs(target, exist_ok=True)
    for code in DETECTABLE:
        if not os.path.exists(os.path.join(target, code)):
            shutil.copy(os.path.join(source, code), os.path.join(target, code))
    return target


def create_detector(name: str) -> LanguageDetector:
    """The configured detector: 'lingua', 'lingua_low' or 'langdetect'."""
    if name == "lingua":
        return LinguaDetector()
    if name == "lingua_low":
        return LinguaDetector(low_accuracy=True)
    if name == "langdetect":
        return LangdetectDetector()
    raise ValueError(f"unknown language detector {name!r}")
