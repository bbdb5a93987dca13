"""The one internal message shape dialogs speak: channel code converts to and from it.

Rich replies degrade to text: a Reply is readable as `text` alone, and its buttons
are also answerable by typing their label (see `ConversationData.offered`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from content.text import fold, words


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


def typed_keys(text: str) -> list[str]:
    """The ways a typed message is looked up among the offered buttons, most exact first:
    the whole message folded, its words alone, its symbols alone ("👍")."""
    folded = fold(text).strip()
    keys = [folded, " ".join(words(text)), "".join(ch for ch in folded if _is_symbol(ch))]
    return [key for key in dict.fromkeys(keys) if key]


def typed_labels(buttons: Iterable[Button]) -> dict[str, dict[str, str]]:
    """What typing stands for each of the buttons last offered (derived when a typed
    message is looked up: the state keeps only the labels).

    Typing a label works like pressing the button (Teams on a phone, a screen
    reader, the keyboard); so do its words without its symbol ("ei auttanut"
    for "👎 Ei auttanut") and its symbol alone ("👍"). A key that two buttons
    share stands for neither.
    """
    found: dict[str, dict[str, str]] = {}
    shared: set[str] = set()
    for button in buttons:
        for key in typed_keys(button.label):
            if key in found and found[key] != button.payload:
                shared.add(key)
            found.setdefault(key, button.payload)
    return {key: payload for key, payload in found.items() if key not in shared}


def typed_payload(text: str, buttons: Iterable[Button]) -> dict[str, str] | None:
    """The payload of the one of `buttons` that this typed message stands for, or None."""
    if not text:
        return None
    labels = typed_labels(buttons)
    return next((labels[key] for key in typed_keys(text) if key in labels), None)


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch) == "So"  # emoji and other pictographs
