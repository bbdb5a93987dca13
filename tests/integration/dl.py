"""A small Direct Line client for the integration tests: start, say, read replies."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp


@dataclass
class Conversation:
    session: aiohttp.ClientSession
    base: str
    conversation_id: str = ""
    headers: dict = field(default_factory=dict)

    @property
    def activities_url(self) -> str:
        return f"{self.base}/v3/directline/conversations/{self.conversation_id}/activities"

    async def start(self) -> list[dict]:
        async with self.session.post(f"{self.base}/v3/directline/conversations") as response:
            assert response.status == 201
            body = await response.json()
        self.conversation_id = body["conversationId"]
        self.headers = {"Authorization": f"Bearer {body['token']}"}
        async with self.session.get(self.activities_url, headers=self.headers) as response:
            return (await response.json())["activities"]

    async def say(self, text: str | None = None, value: dict | None = None, **extra) -> list[dict]:
        """Send a message; return the bot's replies to it."""
        activity = {"type": "message", **extra}
        if text is not None:
            activity["text"] = text
        if value is not None:
            activity["value"] = value
        async with self.session.post(
            self.activities_url, json=activity, headers=self.headers
        ) as response:
            assert response.status == 200, await response.text()
            posted = (await response.json())["id"]
        async with self.session.get(self.activities_url, headers=self.headers) as response:
            activities = (await response.json())["activities"]
        return [a for a in activities if a.get("replyToId") == posted]

    async def click(self, reply: dict, index: int) -> list[dict]:
        action = reply["suggestedActions"]["actions"][index]
        return await self.say(action["text"], value=action["value"])

    async def press(self, reply: dict, **wanted: str) -> list[dict]:
        """Press the button whose payload contains `wanted`, e.g. press(r, fb="send")."""
        for action in (reply.get("suggestedActions") or {}).get("actions", []):
            if all(action["value"].get(k) == v for k, v in wanted.items()):
                return await self.say(action["text"], value=action["value"])
        raise AssertionError(f"no button {wanted} in {buttons(reply)}")

    async def give_feedback(
        self, category: str, text: str, typed: bool = True, bases: Sequence[str] = ()
    ) -> dict:
        """The feedback dialog through its buttons (no unit, no reply wanted), then Send;
        returns the bot's confirmation. `typed`: open it by writing, not by its button.
        `bases`: each step goes to the next of these (replicas sharing one database).
        """
        hops = itertools.cycle(bases)

        def hop() -> None:
            if bases:
                self.base = next(hops)

        hop()
        if typed:
            *_, question = await self.say("haluan antaa palautetta")
        else:
            *_, question = await self.say("", value={"intent": "give_feedback"})
        hop()
        await self.press(question, value=category)
        hop()
        await self.say("", value={"fb": "skip"})
        hop()
        [reply_q] = await self.say(text)
        hop()
        [summary] = await self.press(reply_q, fb="no")
        hop()
        stored, _ = await self.press(summary, fb="send")
        return stored


def buttons(reply: dict) -> list[dict]:
    return [a["value"] for a in (reply.get("suggestedActions") or {}).get("actions", [])]
