"""The one internal message shape dialogs speak: channel code converts to and from it.

Rich replies degrade to text: a Reply is readable as `text` alone, and its buttons
are also answerable by typing their label (see `ConversationData.offered`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Button:
    """A quick reply. `payload` is one of {"intent": id}, {"level": key}, {"lang": code},
    a feedback dialog action {"fb": action, "value": ...} or a rating
    {"rating": "up"/"down", "topic": id, "key": ...}."""

    label: str
    payload: dict[str, str]


@dataclass(frozen=True)
class Reply:
    """One bot message: text, the topic it acts on (channelData.topic) and its language."""

    text: str
    topic: str
    locale: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class UserMessage:
    """What a user sent, independent of the channel."""

    text: str
    payload: dict[str, str] = field(default_factory=dict)
    locale: str | None = None
    has_attachments: bool = False
    channel: str = "unknown"  # the Bot Framework channel id: directline, msteams, ...
    conversation: str = ""  # pseudonymous conversation id (never the channel's own id)
