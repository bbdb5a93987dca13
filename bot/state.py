"""Conversation state with a cheap change check, saved after the turn's precondition.

botbuilder decides whether to write state back by hashing it before and after
the turn with jsonpickle, which walks every object generically; in the
benchmark that was about a tenth of a Direct Line turn. Our state is plain JSON
(dialogs/state.py), so a sorted `json.dumps` is an exact and much cheaper
fingerprint. Everything else (storage, e-tags, accessors) is botbuilder's own.

A channel can put an awaitable in the turn state under `SAVE_AFTER`; state is
written only once it has succeeded. Direct Line logs the user's activity while
the turn runs and uses this so that the state never runs ahead of the log: if
logging the activity fails, the state stays as it was and the client's retry
finds the dialog where it left it.
"""

from __future__ import annotations

import json

from botbuilder.core import ConversationState, TurnContext
from botbuilder.core.bot_state import CachedBotState

SAVE_AFTER = "kasko.save_after"


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
        precondition = turn_context.turn_state.get(SAVE_AFTER)
        if precondition is not None:
            await precondition
        await super().save_changes(turn_context, force)
