"""The Bot: botbuilder's ActivityHandler as the turn entry point, state through accessors.

The bot only translates: activity -> UserMessage -> Router -> Replies -> activities.
Conversation state is saved after every turn, also after a failed one (the
error handler resets it), so the next turn starts from a consistent state.
"""

from __future__ import annotations

from botbuilder.core import ActivityHandler, ConversationState, TurnContext
from botbuilder.schema import ChannelAccount

from bot.activities import activity_from_reply, address_replies, user_message_from_activity
from dialogs.messages import Reply
from dialogs.router import Router
from dialogs.state import ConversationData


class AssistantBot(ActivityHandler):
    def __init__(self, router: Router, conversation_state: ConversationState) -> None:
        self._router = router
        self._conversation_state = conversation_state
        self._data = conversation_state.create_property("ConversationData")

    async def on_turn(self, turn_context: TurnContext) -> None:
        turn_context.on_send_activities(address_replies)
        await super().on_turn(turn_context)
        await self._conversation_state.save_changes(turn_context)

    async def _state(self, turn_context: TurnContext) -> ConversationData:
        return ConversationData.from_dict(await self._data.get(turn_context, dict))

    async def _send(self, turn_context: TurnContext, state: ConversationData, replies: list[Reply]):
        await self._data.set(turn_context, state.to_dict())
        if replies:
            await turn_context.send_activities([activity_from_reply(r) for r in replies])

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        state = await self._state(turn_context)
        message = user_message_from_activity(turn_context.activity)
        replies = await self._router.respond(message, state)
        await self._send(turn_context, state, replies)

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else None
        if not any(member.id != bot_id for member in members_added or []):
            return
        state = await self._state(turn_context)
        replies = self._router.welcome(state, turn_context.activity.locale)
        await self._send(turn_context, state, replies)

    async def reset(self, turn_context: TurnContext) -> ConversationData:
        """Forget a conversation's dialog state after an error; keep its language."""
        old = await self._state(turn_context)
        fresh = ConversationData(language=old.language, language_explicit=old.language_explicit)
        await self._data.set(turn_context, fresh.to_dict())
        await self._conversation_state.save_changes(turn_context, force=True)
        return fresh

    async def on_turn_error(self, turn_context: TurnContext, error: Exception) -> None:
        """The one turn error handler: reset the dialog, send the fixed polite reply."""
        state = await self.reset(turn_context)
        reply = self._router.error_reply(state, turn_context.activity.locale)
        await turn_context.send_activity(activity_from_reply(reply))
