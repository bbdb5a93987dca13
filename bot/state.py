"""Conversation state with a cheap change check, and a channel's own way to write it.

botbuilder decides whether to write state back by hashing it before and after
the turn with jsonpickle, which walks every object generically; in the
benchmark that was about a tenth of a Direct Line turn. Our state is plain JSON
(dialogs/state.py), so a sorted `json.dumps` is an exact and much cheaper
fingerprint. Everything else (storage, e-tags, accessors) is botbuilder's own.

A channel can put a writer in the turn state under `WRITE_STATE`; the changes
then go to it instead of to the storage. Direct Line uses this to write the
state in one transaction with the user's activity and the turn's replies: the
state never runs ahead of the log (bot/directline/routes.py).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import ConversationState, TurnContext
from botbuilder.core.bot_state import CachedBotState

WRITE_STATE = "kasko.write_state"
StateWriter = Callable[[TurnContext, dict[str, Any]], Awaitable[None]]


class JsonCachedBotState(CachedBotState):
    def compute_hash(self, obj: object) -> str:
        try:
            return json.dumps(obj, sort_keys=True, default=str)
        except (TypeError, ValueError):
            return super().compute_hash(obj)


class JsonConversationState(ConversationState):
    async def load(self, turn_context: TurnContext, force: bool = False) -> None:
        """botbuilder's `BotState.load`, caching the state in a `JsonCachedBotState`."""
        cached = self.get_cached_state(turn_context)
        if force or not cached or not cached.state:
            key = self.get_storage_key(turn_context)
            items = await self._storage.read([key])
            turn_context.turn_state[self._context_service_key] = JsonCachedBotState(items.get(key))

    async def save_changes(self, turn_context: TurnContext, force: bool = False) -> None:
        """botbuilder's `BotState.save_changes`, through the turn's own writer if it has one."""
        write: StateWriter | None = turn_context.turn_state.get(WRITE_STATE)
        if write is None:
            await super().save_changes(turn_context, force)
            return
        cached = self.get_cached_state(turn_context)
        if cached is None:
            return
        fingerprint = cached.compute_hash(cached.state)  # once: `is_changed` computes it too
        if force or fingerprint != cached.hash:
            await write(turn_context, {self.get_storage_key(turn_context): cached.state})
            cached.hash = fingerprint
