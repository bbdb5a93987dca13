"""Outgoing activities: botbuilder's copy before sending still leaves ours unchanged.

Test double: botbuilder's TestAdapter (no channel) records what was sent.
"""

from __future__ import annotations

from botbuilder.core import TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount

from bot.activities import FreshActivity, activity_from_reply
from dialogs.messages import Button, Reply


async def test_a_sent_reply_is_a_copy_and_the_built_one_is_untouched():
    adapter = TestAdapter()
    incoming = Activity(
        type="message",
        id="in-1",
        text="hei",
        channel_id="test",
        service_url="https://example.invalid/",
        conversation=ConversationAccount(id="c1"),
        from_property=ChannelAccount(id="user"),
        recipient=ChannelAccount(id="bot"),
    )
    context = TurnContext(adapter, incoming)
    reply = activity_from_reply(
        Reply("Moi!", "greet", "fi", (Button("Suomeksi", {"lang": "fi"}),)), as_card=False
    )
    assert isinstance(reply, FreshActivity)
    await context.send_activity(reply)
    sent = adapter.activity_buffer[-1]
    assert sent is not reply
    assert sent.conversation.id == "c1" and sent.recipient.id == "user"
    assert reply.conversation is None and reply.recipient is None  # ours as built
    assert sent.suggested_actions.actions[0].value == {"lang": "fi"}
