"""Per-conversation state of the dialogs, kept as a plain dict in botbuilder's ConversationState.

A plain dict (not a pickled object) so that any botbuilder Storage, memory or
database, can hold it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ConversationData:
    language: str | None = None  # answer language: fi, sv, en or fi-x-selko
    language_explicit: bool = False  # the user chose it: detection no longer overrides
    level: str | None = None  # learner's level once known (ecec, basic, ...)
    pending_topic: str | None = None  # topic waiting for the level question's answer
    last_topic: str | None = None  # last participation topic answered
    offered: dict[str, dict[str, str]] = field(default_factory=dict)  # folded label -> payload
    feedback: dict[str, Any] | None = None  # the feedback being written (dialogs/feedback.py)
    rating_comment: dict[str, Any] | None = None  # a 👎 rating waiting for its optional comment
    outbox: list[dict[str, Any]] = field(default_factory=list)  # records the database refused
    greeted: bool = False  # the full greeting was shown: a later "hei" gets a short one

    def choose_language(self, language: str) -> None:
        """An explicit choice: it sticks for the rest of the conversation."""
        self.language = language
        self.language_explicit = True

    def to_dict(self) -> dict[str, Any]:
        """The fields as they are, for the turn's save.

        No deep copy (`dataclasses.asdict` made one): the state is saved at the end
        of its turn and not changed after, and the copy was about 50 µs of the
        work between the NLU's answer and the reply.
        """
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> ConversationData:
        if not isinstance(raw, dict):
            return cls()
        known = {key: raw[key] for key in cls.__dataclass_fields__ if key in raw}
        return cls(**known)
