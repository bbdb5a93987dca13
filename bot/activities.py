"""Conversion at the channel edge: botbuilder Activities <-> the dialogs' internal shapes.

Replies carry the contract of design.md: `channelData.topic` and `locale`.
Quick replies are messageBack actions: channels that send `value` route by it,
channels that only echo the text still work because the label is recognised.
"""

from __future__ import annotations

from collections.abc import Callable

from botbuilder.schema import (
    ActionTypes,
    Activity,
    ActivityTypes,
    CardAction,
    SuggestedActions,
)

from dialogs.messages import Reply, UserMessage

# botbuilder's TurnContext copies the incoming activity's locale onto every reply;
# the contract wants the answer language there, so replies carry it aside too.
_ANSWER_LOCALE = "answer_locale"


async def address_replies(turn_context, activities: list[Activity], next_send):
    """An on_send_activities handler: the answer language in `locale`, and `replyToId`.

    botbuilder leaves replyToId empty on Direct Line; clients (and our evaluation
    tool) use it to pair a question with its answers.
    """
    incoming = turn_context.activity
    for activity in activities:
        locale = getattr(activity, _ANSWER_LOCALE, None)
        if locale:
            activity.locale = locale
        if incoming.type == ActivityTypes.message and not activity.reply_to_id:
            activity.reply_to_id = incoming.id
    return await next_send()


# The keys a button payload may carry (dialogs/messages.py Button); anything else is dropped.
PAYLOAD_KEYS = (
    "intent",
    "level",
    "lang",
    "fb",
    "value",
    "rating",
    "topic",
    "key",
    "rating_comment",
)
MAX_PAYLOAD_VALUE = 64


def user_message_from_activity(
    activity: Activity, pseudonymise: Callable[[str | None], str] | None = None
) -> UserMessage:
    """Read text, button payload, locale, attachments and channel from a message activity."""
    value = activity.value if isinstance(activity.value, dict) else {}
    payload = {
        str(k): v
        for k, v in value.items()
        if k in PAYLOAD_KEYS and isinstance(v, str) and len(v) <= MAX_PAYLOAD_VALUE
    }
    conversation_id = activity.conversation.id if activity.conversation else None
    channel = activity.channel_id if isinstance(activity.channel_id, str) else "unknown"
    return UserMessage(
        text=activity.text if isinstance(activity.text, str) else "",
        payload=payload,
        locale=activity.locale if isinstance(activity.locale, str) else None,
        has_attachments=bool(activity.attachments),
        channel=channel[:32] or "unknown",
        conversation=pseudonymise(conversation_id) if pseudonymise else "",
    )


def activity_from_reply(reply: Reply) -> Activity:
    """A message activity with suggested actions, topic and locale."""
    actions = None
    if reply.buttons:
        actions = SuggestedActions(
            actions=[
                CardAction(
                    type=ActionTypes.message_back,
                    title=button.label,
                    text=button.label,
                    display_text=button.label,
                    value=dict(button.payload),
                )
                for button in reply.buttons
            ]
        )
    activity = Activity(
        type=ActivityTypes.message,
        text=reply.text,
        text_format="plain",
        locale=reply.locale,
        suggested_actions=actions,
        channel_data={"topic": reply.topic},
    )
    setattr(activity, _ANSWER_LOCALE, reply.locale)
    return activity
