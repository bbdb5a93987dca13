"""Test doubles for unit tests only (integration tests use the real Rasa model).

`ScriptedNlu` answers from a fixed table so that dialog logic can be tested
fast and deterministically; `FixedDetector` does the same for language detection;
`MemoryRecords` stands in for the database's record store (the real one is
tested against SQLite and PostgreSQL in tests/integration).
"""

from __future__ import annotations

from dialogs.records import RecordNotSaved
from nlu.client import IntentScore, NluUnavailable, Parse
from nlu.language import Detection


class ScriptedNlu:
    def __init__(self, table: dict[str, Parse] | None = None, default: Parse | None = None):
        self.table = table or {}
        self.default = default or Parse("out_of_scope", 0.9)
        self.calls: list[str] = []
        self.down = False

    def add(self, text: str, intent: str, confidence: float = 0.95, ranking=()) -> None:
        scores = tuple(IntentScore(n, c) for n, c in ranking) or (IntentScore(intent, confidence),)
        self.table[text] = Parse(intent, confidence, scores)

    async def parse(self, text: str) -> Parse:
        self.calls.append(text)
        if self.down:
            raise NluUnavailable("down")
        return self.table.get(text, self.default)


class FixedDetector:
    def __init__(self, table: dict[str, Detection] | None = None):
        self.table = table or {}

    def detect(self, text: str) -> Detection | None:
        return self.table.get(text)


class MemoryRecords:
    """A RecordSink in memory, idempotent by key like the real one; `down` makes saves fail."""

    def __init__(self) -> None:
        self.saved: dict[tuple[str, str], object] = {}
        self.down = False
        self.attempts = 0

    async def save(self, record) -> None:
        self.attempts += 1
        if self.down:
            raise RecordNotSaved(record.kind)
        self.saved[(record.kind, record.key)] = record

    def of_kind(self, kind: str) -> list:
        return [record for (k, _), record in self.saved.items() if k == kind]


def app_with_doubles(config, nlu: ScriptedNlu, storage=None, conversations=None):
    """The real app with every outside part a double (NLU, state, records, transcripts).

    A test that hands in its own `conversations` log gives it the same `storage`.
    """
    from botbuilder.core import MemoryStorage

    from bot.app import create_app
    from bot.directline.store import MemoryConversationLog

    storage = storage or MemoryStorage()
    return create_app(
        config,
        nlu=nlu,
        storage=storage,
        records=MemoryRecords(),
        conversations=conversations
        or MemoryConversationLog(max_conversations=100, ttl_seconds=3600, state_storage=storage),
    )
