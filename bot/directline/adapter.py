"""A botbuilder adapter whose outbound channel is the Direct Line conversation log.

Each turn runs the normal botbuilder pipeline (middleware, ActivityHandler);
`send_activities` appends the bot's replies to the conversation so that
`GET .../activities` returns them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema import Activity, ConversationReference, ResourceResponse

from bot.directline.store import Conversation

logger = logging.getLogger(__name__)


class DirectLineAdapter(BotAdapter):
    def __init__(self, on_turn_error: Callable[[TurnContext, Exception], Awaitable] | None = None):
        super().__init__(on_turn_error)
        self._current: dict[str, Conversation] = {}

    async def process(
        self,
        conversation: Conversation,
        activity: Activity,
        logic: Callable[[TurnContext], Awaitable],
    ) -> None:
        """Run one turn; replies land in `conversation`. Callers serialise turns."""
        self._current[conversation.id] = conversation
        try:
            await self.run_pipeline(TurnContext(self, activity), logic)
        finally:
            self._current.pop(conversation.id, None)

    async def send_activities(
        self, context: TurnContext, activities: list[Activity]
    ) -> list[ResourceResponse]:
        conversation = self._current.get(context.activity.conversation.id)
        responses = []
        for activity in activities:
            if activity.type in ("delay", "invokeResponse", "trace"):
                responses.append(ResourceResponse(id=""))
                continue
            activity.timestamp = datetime.now(UTC)
            if conversation is None:
                logger.warning("reply for a conversation that is not in a turn; dropped")
                responses.append(ResourceResponse(id=""))
                continue
            responses.append(ResourceResponse(id=conversation.append(activity.serialize())))
        return responses

    async def update_activity(self, context: TurnContext, activity: Activity):
        raise NotImplementedError("Direct Line subset: activities are not updated")

    async def delete_activity(self, context: TurnContext, reference: ConversationReference):
        raise NotImplementedError("Direct Line subset: activities are not deleted")
