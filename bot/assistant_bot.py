"""The Bot: botbuilder's ActivityHandler as the turn entry point, state through accessors.

The bot only translates: activity -> UserMessage -> Router -> Replies -> activities.
Conversation state is saved after every turn, also after a failed one (the
error handler resets it), so the next turn starts from a consistent state.

The bot also remembers which conversations its last turns left reading
questions, so that a channel can send a typed message to the NLU before the
turn has read the state (`parse_early`, nlu/early.py).
"""

from __future__ import annotations

import time
from collections import OrderedDict
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
from nlu.early import EarlyParses

# Conversations remembered as reading questions; the oldest are forgotten first (a
# forgotten one only waits for its state before its question leaves).
READING_KEPT = 10_000
_READS_QUESTIONS = "kasko.reads_questions"


class AssistantBot(ActivityHandler):
    def __init__(
        self,
        router: Router,
        conversation_state: ConversationState,
        pseudonymise: Callable[[str | None], str] | None = None,
        metrics: Metrics | None = None,
        early: EarlyParses | None = None,
    ) -> None:
        self._router = router
        self._conversation_state = conversation_state
        self._data = conversation_state.create_property("ConversationData")
        self._pseudonymise = pseudonymise
        self._metrics = metrics or Metrics()
        self._early = early
        self._reading: OrderedDict[tuple[str, str], None] = OrderedDict()

    async def parse_early(self, channel: str, conversation_id: str, text: str | None) -> str | None:
        """Send a typed message's question to the NLU before its turn reads the state.

        Only when this process answered the conversation's last turn and left it
        reading questions: text typed into the feedback dialog, or after another
        replica's turn moved the conversation on, waits for the turn. Each request
        forgets that note until its turn is saved, so a second message sent during
        a turn waits too. Returns the question this request started, for
        `release_early`.
        """
        key = (channel, conversation_id)
        reading = key in self._reading
        self._reading.pop(key, None)
        if self._early is None or text is None or not reading:
            return None
        question = self._router.question_for_nlu(text)
        if question is None or not await self._early.start(question):
            return None
        return question

    def release_early(self, question: str | None) -> None:
        """The request is over: an early parse its turn did not take is dropped."""
        if question is not None and self._early is not None:
            self._early.release(question)

    async def on_turn(self, turn_context: TurnContext) -> None:
        started = time.perf_counter()
        channel = str(turn_context.activity.channel_id or "unknown")[:32]
        turn_context.on_send_activities(address_replies)
        await super().on_turn(turn_context)
        await self._conversation_state.save_changes(turn_context)
        if turn_context.turn_state.get(_READS_QUESTIONS):
            self._note_reading(turn_context.activity)
        self._metrics.turns.labels(channel).inc()
        self._metrics.turn_seconds.labels(channel).observe(time.perf_counter() - started)

    async def _state(self, turn_context: TurnContext) -> ConversationData:
        return ConversationData.from_dict(await self._data.get(turn_context, dict))

    def _note_reading(self, activity) -> None:
        """The saved state reads questions: the next message may go to the NLU early."""
        if activity.conversation is None or not isinstance(activity.conversation.id, str):
            return
        key = (str(activity.channel_id), activity.conversation.id)
        self._reading[key] = None
        self._reading.move_to_end(key)
        if len(self._reading) > READING_KEPT:
            self._reading.popitem(last=False)

    async def _send(self, turn_context: TurnContext, state: ConversationData, replies: list[Reply]):
        turn_context.turn_state[_READS_QUESTIONS] = self._router.reads_questions(state)
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
