"""What the dialogs hand over for storage: feedback, answer ratings, unanswered questions.

Dialogs stay free of the database: they build these records and give them to
a `RecordSink` (bot/storage/records.py is the real one). Every record carries
its own idempotency key (a feedback's reference, a rating's or question's
key), so saving the same record twice stores it once. That is what makes a
retry after a failed write safe.

Free text in a record is already redacted (bot/storage/redaction.py is applied
where the text enters the dialog, so not even the conversation state keeps it).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

# Crockford's base32 without I, L, O, U: easy to read aloud and type from a screen.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference() -> str:
    """A feedback reference like "K7QM-4XPD-9TZR": 60 random bits, not guessable."""
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(12))
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def new_key() -> str:
    return secrets.token_hex(12)


@dataclass(frozen=True)
class FeedbackSubmission:
    reference: str
    category: str
    service_code: str
    service_name: str
    title: str
    description: str
    language: str
    channel: str
    conversation: str
    requested_at: str  # ISO 8601, UTC
    unit: str | None = None
    audience: str | None = None
    contact_method: str | None = None  # "email" or "phone", only with consent
    contact: str | None = None
    consented_at: str | None = None

    kind = "feedback"

    @property
    def key(self) -> str:
        return self.reference


@dataclass(frozen=True)
class AnswerRating:
    key: str
    topic: str
    helpful: bool
    language: str
    channel: str
    conversation: str
    created_at: str
    comment: str | None = None

    kind = "rating"


@dataclass(frozen=True)
class UnansweredQuestion:
    key: str
    text: str
    reason: str  # not_sure, out_of_scope or nlu_unavailable
    language: str
    channel: str
    conversation: str
    created_at: str
    guesses: list[dict[str, Any]] = field(default_factory=list)  # [{"intent", "confidence"}]

    kind = "unanswered"


Record = FeedbackSubmission | AnswerRating | UnansweredQuestion
_KINDS = {cls.kind: cls for cls in (FeedbackSubmission, AnswerRating, UnansweredQuestion)}


def record_to_dict(record: Record) -> dict[str, Any]:
    """A plain dict for the conversation state's outbox."""
    return {"kind": record.kind, **asdict(record)}


def record_from_dict(raw: dict[str, Any]) -> Record | None:
    cls = _KINDS.get(raw.get("kind", ""))
    if cls is None:
        return None
    fields = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
    try:
        return cls(**fields)
    except TypeError:
        return None


class RecordNotSaved(RuntimeError):
    """The record could not be stored now (database unavailable); it is safe to retry."""


class RecordSink(Protocol):
    async def save(self, record: Record) -> None:
        """Store the record once; raise RecordNotSaved when it was not stored."""
