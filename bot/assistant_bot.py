"""The Bot: botbuilder's ActivityHandler as the turn entry point, state through accessors.

The bot only translates: activity -> UserMessage -> Router -> Replies -> activities.
Conversation state is saved after every turn, also after a failed one (the
error handler resets it), so the next turn starts from a consistent state.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from botbuilder.core import ActivityHandler, ConversationState, InvokeResponse, TurnContext
from botbuilder.schema import ChannelAccount
from sqlalchemy.exc import SQLAlchemyError

from bot.activities import (
    activity_from_reply,
    activity_locale,
    address_replies,
    user_message_from_activity,
    wants_cards,
)
from bot.metrics import Metrics
from dialogs.messages import Reply
from dialogs.router import Router
from dialogs.state import ConversationData


class AssistantBot(ActivityHandler):
    def __init__(
        self,
        router: Router,
        conversation_state: ConversationState,
        pseudonymise: Callable[[str | None], str] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._router = router
        self._conversation_state = conversation_state
        self._data = conversation_state.create_property("ConversationData")
        self._pseudonymise = pseudonymise
        self._metrics = metrics or Metrics()

    async def on_turn(self, turn_context: TurnContext) -> None:
        started = time.perf_counter()
        channel = str(turn_context.activity.channel_id or "unknown")[:32]
        turn_context.on_send_activities(address_replies)
        await super().on_turn(turn_context)
        await self._conversation_state.save_changes(turn_context)
        self._metrics.turns.labels(channel).inc()
        self._metrics.turn_seconds.labels(channel).observe(time.perf_counter() - started)

    async def _state(self, turn_context: TurnContext) -> ConversationData:
        return ConversationData.from_dict(await self._data.get(turn_context, dict))

    async def _send(self, turn_context: TurnContext, state: ConversationData, replies: list[Reply]):
        await self._data.set(turn_context, state.to_dict())
        if replies:
            as_card = wants_cards(turn_context.activity)
            await turn_context.send_activities([activity_from_reply(r, as_card) for r in replies])

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        state = await self._state(turn_context)
        message = user_message_from_activity(turn_context.activity, self._pseudonymise)
        replies = await self._router.respond(message, state)
        fallback = next((r for r in replies if r.topic == "out_of_scope"), None)
        if fallback is not None:
            self._metrics.fallbacks.labels(fallback.locale).inc()
        await self._send(turn_context, state, replies)

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        activity = turn_context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        joined = {member.id for member in members_added or []}
        # Teams: greet when the bot is added (personal chat, group chat or team). Direct
        # Line and Web Chat: greet when a user joins.
        greet = bot_id in joined if activity.channel_id == "msteams" else bool(joined - {bot_id})
        if not greet:
            return
        state = await self._state(turn_context)
        replies = self._router.welcome(state, activity_locale(activity))
        await self._send(turn_context, state, replies)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        """The assistant handles no invoke (card actions come as messages with a value).

        botbuilder would answer 501; a request the bot does not support is the
        caller's to change, so it gets a 400 that says so.
        """
        return InvokeResponse(status=400, body={"error": "this bot handles no invoke activities"})

    async def reset(self, turn_context: TurnContext) -> ConversationData:
        """Forget a conversation's dialog state after an error.

        Kept: the language, a feedback draft and records waiting to be stored, so
        that an error never loses what the user already wrote.
        """
        old = await self._state(turn_context)
        fresh = ConversationData(
            language=old.language,
            language_explicit=old.language_explicit,
            feedback=old.feedback,
            outbox=old.outbox,
        )
        await self._data.set(turn_context, fresh.to_dict())
        await self._conversation_state.save_changes(turn_context, force=True)
        return fresh

    async def on_turn_error(self, turn_context: TurnContext, error: Exception) -> None:
        """The one turn error handler: reset the dialog, send the fixed polite reply.

        When the state itself cannot be read or written (the database is down) the
        stored state is left alone: it still holds everything up to the last turn.
        """
        locale = activity_locale(turn_context.activity)
        if isinstance(error, SQLAlchemyError):
            reply = self._router.storage_error_reply(locale)
        else:
            try:
                state = await self.reset(turn_context)
            except SQLAlchemyError:
                reply = self._router.storage_error_reply(locale)
            else:
                reply = self._router.error_reply(state, locale)
        await turn_context.send_activity(
            activity_from_reply(reply, wants_cards(turn_context.activity))
        )
