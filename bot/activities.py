"""Conversion at the channel edge: botbuilder Activities <-> the dialogs' internal shapes.

Replies carry the contract of design.md: `channelData.topic` and `locale`.
Quick replies are messageBack actions: channels that send `value` route by it,
channels that only echo the text still work because the label is recognised.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from botbuilder.core import CardFactory
from botbuilder.schema import (
    ActionTypes,
    Activity,
    ActivityTypes,
    CardAction,
    HeroCard,
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
        text=text_without_mention(activity),
        payload=payload,
        locale=activity_locale(activity),
        has_attachments=bool(activity.attachments),
        channel=channel[:32] or "unknown",
        conversation=pseudonymise(conversation_id) if pseudonymise else "",
    )


def text_without_mention(activity: Activity) -> str:
    """The message text; in Teams without the bot's own @mention ("<at>Kasko</at> hi")."""
    if not isinstance(activity.text, str):
        return ""
    if activity.channel_id == "msteams" and activity.recipient and activity.entities:
        mentioned = [
            entity.additional_properties.get("text") or ""
            for entity in activity.entities
            if entity.type == "mention"
            and (entity.additional_properties.get("mentioned") or {}).get("id")
            == activity.recipient.id
        ]
        text = activity.text
        for mention in mentioned:
            text = text.replace(mention, " ")
        return text.strip()
    return activity.text


def activity_locale(activity: Activity) -> str | None:
    """The user's locale: the activity's, else Teams' clientInfo entity's."""
    if isinstance(activity.locale, str) and activity.locale:
        return activity.locale
    for entity in activity.entities or []:
        if entity.type == "clientInfo":
            locale = entity.additional_properties.get("locale")
            if isinstance(locale, str) and locale:
                return locale
    return None


def wants_cards(activity: Activity) -> bool:
    """Teams shows no suggested actions in group chats and channels: buttons go on a card."""
    conversation_type = getattr(activity.conversation, "conversation_type", None)
    return activity.channel_id == "msteams" and conversation_type in ("groupChat", "channel")


class FreshActivity(Activity):
    """An outgoing activity built for one send and never used again.

    botbuilder deep-copies every activity before sending it, so that a caller's
    object is never changed; in the benchmark that copy was about 4 % of the
    bot's CPU in a turn. This activity has no other owner, and what botbuilder
    and our send handlers change are its top-level fields, so a shallow copy
    keeps the same promise.
    """

    def __deepcopy__(self, memo: dict) -> FreshActivity:
        return copy.copy(self)


def activity_from_reply(reply: Reply, as_card: bool = False) -> Activity:
    """A message activity with its buttons (suggested actions or a hero card), topic, locale."""
    buttons = [
        CardAction(
            type=ActionTypes.message_back,
            title=button.label,
            text=button.label,
            display_text=button.label,
            value=dict(button.payload),
        )
        for button in reply.buttons
    ]
    actions = SuggestedActions(actions=buttons) if buttons and not as_card else None
    attachments = (
        [CardFactory.hero_card(HeroCard(buttons=buttons))] if buttons and as_card else None
    )
    activity = FreshActivity(
        type=ActivityTypes.message,
        text=reply.text,
        text_format="plain",
        locale=reply.locale,
        suggested_actions=actions,
        attachments=attachments,
        channel_data={"topic": reply.topic},
    )
    setattr(activity, _ANSWER_LOCALE, reply.locale)
    return activity
