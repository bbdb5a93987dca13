"""The fast activity serialiser gives exactly msrest's JSON for the activities the bot sends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount

from bot.activities import activity_from_reply
from bot.serialize import to_json
from dialogs.messages import Button, Reply

REPLY = Reply(
    "Hei!\nLue lisää: https://www.hel.fi",
    "greet",
    "fi",
    (Button("Svenska", {"lang": "sv"}), Button("👍 Auttoi", {"rating": "up", "key": "k"})),
)


@pytest.mark.parametrize("as_card", [False, True])
@pytest.mark.parametrize("microsecond", [0, 120000, 677520, 1])
def test_same_json_as_msrest(as_card, microsecond):
    activity = activity_from_reply(REPLY, as_card)
    activity.from_property = ChannelAccount(id="bot", name="Osallisuusavustaja")
    activity.conversation = ConversationAccount(id="c1", conversation_type="personal")
    activity.timestamp = datetime(2026, 11, 29, 10, 0, 0, microsecond, tzinfo=UTC)
    activity.reply_to_id = "c1|0000001"
    assert to_json(activity) == activity.serialize()


def test_incoming_activity_keeps_entity_fields_msrest_drops():
    raw = {
        "type": "message",
        "text": "hei",
        "entities": [{"type": "clientInfo", "locale": "fi-FI"}],
        "channelData": {"clientActivityID": "x"},
        "value": {"intent": "help"},
    }
    activity = Activity().deserialize(raw)
    fast, slow = to_json(activity), activity.serialize()
    assert {k: v for k, v in fast.items() if k != "entities"} == {
        k: v for k, v in slow.items() if k != "entities"
    }
    # msrest loses an entity's own fields (the locale here); the transcript keeps them.
    assert fast["entities"] == [{"type": "clientInfo", "locale": "fi-FI"}]
    assert slow["entities"] == [{"type": "clientInfo"}]


def test_state_change_check_sees_every_change_to_plain_json_state():
    from bot.state import JsonCachedBotState

    state = {"ConversationData": {"language": "fi", "offered": {"a": {"intent": "x"}}}}
    cached = JsonCachedBotState(state)
    assert not cached.is_changed
    state["ConversationData"]["offered"]["a"]["intent"] = "y"
    assert cached.is_changed
