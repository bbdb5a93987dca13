"""Conversation state with a cheap change check.

botbuilder decides whether to write state back by hashing it before and after
the turn with jsonpickle, which walks every object generically; in the
benchmark that was about a tenth of a Direct Line turn. Our state is plain JSON
(dialogs/state.py), so a sorted `json.dumps` is an exact and much cheaper
fingerprint. Everything else (storage, e-tags, accessors) is botbuilder's own.
"""

from __future__ import annotations

import json

from botbuilder.core import ConversationState, TurnContext
from botbuilder.core.bot_state import CachedBotState


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
