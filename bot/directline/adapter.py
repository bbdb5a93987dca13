"""A botbuilder adapter whose outbound channel is the Direct Line conversation log.

Each turn runs the normal botbuilder pipeline (middleware, ActivityHandler);
`send_activities` collects the bot's replies in the turn, and `process` returns
them so the caller appends them to the conversation's log in one write.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema import Activity, ConversationReference, ResourceResponse

from bot.serialize import to_json
from bot.state import SAVE_AFTER

_REPLIES = "directline.replies"


class DirectLineAdapter(BotAdapter):
    def __init__(self, on_turn_error: Callable[[TurnContext, Exception], Awaitable] | None = None):
        super().__init__(on_turn_error)

    async def process(
        self,
        activity: Activity,
        logic: Callable[[TurnContext], Awaitable],
        save_after: Awaitable | None = None,
    ) -> list[dict[str, Any]]:
        """Run one turn; return the replies (serialised activities) in the order sent.

        `save_after`: conversation state is written only after it succeeded
        (bot/state.py).
        """
        context = TurnContext(self, activity)
        context.turn_state[_REPLIES] = []
        if save_after is not None:
            context.turn_state[SAVE_AFTER] = save_after
        await self.run_pipeline(context, logic)
        return context.turn_state[_REPLIES]

    async def send_activities(
        self, context: TurnContext, activities: list[Activity]
    ) -> list[ResourceResponse]:
        replies = context.turn_state.setdefault(_REPLIES, [])
        responses = []
        for activity in activities:
            if activity.type in ("delay", "invokeResponse", "trace"):
                responses.append(ResourceResponse(id=""))
                continue
            activity.timestamp = datetime.now(UTC)
            replies.append(to_json(activity))
            responses.append(ResourceResponse(id=""))  # ids are given when the log is written
        return responses

    async def update_activity(self, context: TurnContext, activity: Activity):
        raise NotImplementedError("Direct Line subset: activities are not updated")

    async def delete_activity(self, context: TurnContext, reference: ConversationReference):
        raise NotImplementedError("Direct Line subset: activities are not deleted")
