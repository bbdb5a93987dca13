"""A botbuilder adapter whose outbound channel is the Direct Line conversation log.

Each turn runs the normal botbuilder pipeline (middleware, ActivityHandler);
`send_activities` collects the bot's replies in the turn, and the caller
appends them to the conversation's log: with the conversation state when the
turn saves it (`write_state`), the rest when `process` returns them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema import Activity, ConversationReference, ResourceResponse

from bot.serialize import to_json
from bot.state import WRITE_STATE, StateWriter

_REPLIES = "directline.replies"


class DirectLineAdapter(BotAdapter):
    def __init__(self, on_turn_error: Callable[[TurnContext, Exception], Awaitable] | None = None):
        super().__init__(on_turn_error)

    async def process(
        self,
        activity: Activity,
        logic: Callable[[TurnContext], Awaitable],
        write_state: StateWriter | None = None,
    ) -> list[dict[str, Any]]:
        """Run one turn; return the replies (serialised activities) in the order sent
        and not yet taken by `write_state` (bot/state.py), which writes the state."""
        context = TurnContext(self, activity)
        context.turn_state[_REPLIES] = []
        if write_state is not None:
            context.turn_state[WRITE_STATE] = write_state
        await self.run_pipeline(context, logic)
        return self.take_replies(context)

    @staticmethod
    def take_replies(context: TurnContext) -> list[dict[str, Any]]:
        """The replies sent so far in this turn and not taken before."""
        replies = context.turn_state[_REPLIES]
        context.turn_state[_REPLIES] = []
        return replies

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
