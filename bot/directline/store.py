"""Direct Line conversations and their activity logs, kept in process memory for now.

The watermark is the index of the next activity in a conversation's log, as in
Direct Line 3.0. Old conversations are dropped after a time-to-live and the
number of conversations is capped, so memory stays bounded.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Conversation:
    id: str
    created: float
    activities: list[dict[str, Any]] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = 0.0

    def append(self, activity: dict[str, Any]) -> str:
        """Add an activity with the next id (`<conversation>|<seq>`) and return the id."""
        activity_id = f"{self.id}|{len(self.activities):07d}"
        activity["id"] = activity_id
        self.activities.append(activity)
        self.last_used = time.time()
        return activity_id

    def since(self, watermark: int) -> tuple[list[dict[str, Any]], int]:
        """Activities after the watermark; a watermark past the end (the log was
        restarted with the process) returns the whole new log, so nothing is missed."""
        if watermark > len(self.activities):
            watermark = 0
        return self.activities[watermark:], len(self.activities)


class ConversationStore:
    def __init__(self, max_conversations: int, ttl_seconds: int) -> None:
        self._conversations: OrderedDict[str, Conversation] = OrderedDict()
        self._max = max_conversations
        self._ttl = ttl_seconds

    def create(self, conversation_id: str | None = None) -> Conversation:
        self._expire()
        conversation_id = conversation_id or secrets.token_urlsafe(18)
        now = time.time()
        conversation = Conversation(conversation_id, created=now, last_used=now)
        self._conversations[conversation_id] = conversation
        while len(self._conversations) > self._max:
            self._conversations.popitem(last=False)
        return conversation

    def get(self, conversation_id: str) -> Conversation | None:
        conversation = self._conversations.get(conversation_id)
        if conversation is not None and time.time() - conversation.last_used > self._ttl:
            del self._conversations[conversation_id]
            return None
        return conversation

    def _expire(self) -> None:
        cutoff = time.time() - self._ttl
        for key in [k for k, c in self._conversations.items() if c.last_used < cutoff]:
            del self._conversations[key]
