"""POST /api/messages: the Bot Framework endpoint (Teams), checked before the CloudAdapter.

botbuilder's CloudAdapter answers 500 to a wrong content type, a body that is
not a JSON object, an oversized body or a malformed bearer header, and lets
some token failures escape as other exceptions. Here every such request gets
its 4xx before the adapter runs, and authentication happens first and
separately, so a request that fails it never causes an outbound call.
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlparse

from aiohttp import web
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticateRequestResult, BotFrameworkAuthentication

from bot.activities import text_without_mention
from bot.assistant_bot import AssistantBot
from bot.directline.routes import encodable, error_response
from bot.ratelimit import Limit, RateLimiter

logger = logging.getLogger(__name__)

# "Bearer" and a JWT: three base64url parts.
_BEARER = re.compile(r"^Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


class BotFrameworkEndpoint:
    def __init__(
        self,
        adapter: CloudAdapter,
        authentication: BotFrameworkAuthentication,
        bot: AssistantBot,
        max_body_bytes: int,
        auth_required: bool,
        limiter: RateLimiter | None = None,
        per_conversation_per_minute: int = 0,
    ) -> None:
        self._adapter = adapter
        self._authentication = authentication
        self._bot = bot
        self._max_body = max_body_bytes
        self._auth_required = auth_required
        self._limiter = limiter
        self._per_conversation = per_conversation_per_minute

    async def messages(self, request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return error_response(
                415, "UnsupportedMediaType", "Content-Type must be application/json"
            )
        if (request.content_length or 0) > self._max_body:
            return error_response(413, "PayloadTooLarge", "activity too large")
        body = await request.content.read(self._max_body + 1)
        if len(body) > self._max_body:
            return error_response(413, "PayloadTooLarge", "activity too large")
        header = request.headers.get("Authorization", "")
        if header and not _BEARER.match(header):
            return error_response(401, "Unauthorized", "malformed Authorization header")
        if self._auth_required and not header:
            return error_response(401, "Unauthorized", "a Bot Framework token is required")
        activity, problem = _parse_activity(body)
        if activity is None:
            return error_response(400, "BadArgument", problem)
        try:
            authenticated = await self._authentication.authenticate_request(activity, header)
        except Exception as error:  # noqa: BLE001 - botbuilder raises many kinds on a bad token
            logger.warning("Bot Framework request refused: %s", type(error).__name__)
            return error_response(401, "Unauthorized", "the token was not accepted")
        conversation_id = activity.conversation.id
        key = f"c:{activity.channel_id}:{conversation_id}"
        limits = [Limit("conversation", key, self._per_conversation)]
        typed = activity.type == "message" and not activity.value
        question = await self._bot.parse_early(
            activity.channel_id, conversation_id, text_without_mention(activity) if typed else None
        )
        try:
            return await self._answer(authenticated, activity, limits)
        finally:
            self._bot.release_early(question)

    async def _answer(
        self, authenticated: AuthenticateRequestResult, activity: Activity, limits: list[Limit]
    ) -> web.StreamResponse:
        """The turn, unless the conversation is over its rate limit (per conversation:
        every request comes from the channel's own servers, so not per address)."""
        if self._limiter is not None:
            refused = await self._limiter.check(limits)
            if refused is not None:
                return refused
        try:
            invoke = await self._adapter.process_activity(
                authenticated, activity, self._bot.on_turn
            )
        except Exception as error:  # noqa: BLE001 - the channel could not take our replies
            logger.error("replying through the channel failed: %s", type(error).__name__)
            return error_response(502, "BadGateway", "the channel did not accept the reply")
        if invoke is not None:
            return web.json_response(invoke.body, status=invoke.status)
        return web.Response(status=201)


def _parse_activity(body: bytes) -> tuple[Activity | None, str]:
    """The activity, or None and what is wrong with it (for a 400)."""
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, "the body is not JSON"
    if not isinstance(raw, dict):
        return None, "the body must be a JSON object"
    if not encodable(raw):
        return None, "the body has text that is not valid Unicode"
    for key in ("type", "channelId", "serviceUrl"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            return None, f"'{key}' must be a non-empty string"
    service = urlparse(raw["serviceUrl"])
    if service.scheme not in ("http", "https") or not service.netloc:
        return None, "'serviceUrl' must be an http(s) URL"
    conversation = raw.get("conversation")
    if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str):
        return None, "'conversation.id' must be a string"
    for key in ("from", "recipient"):
        if key in raw and not isinstance(raw[key], dict):
            return None, f"'{key}' must be an object"
    for key in ("entities", "attachments", "membersAdded", "membersRemoved"):
        # botbuilder reads these lists' items as objects: "entities": [null] failed
        # inside the turn, where it read as the channel refusing the reply (502).
        listed = raw.get(key)
        if key in raw and not (
            isinstance(listed, list) and all(isinstance(i, dict) for i in listed)
        ):
            return None, f"'{key}' must be a list of objects"
    try:
        return Activity().deserialize(raw), ""
    except (Exception, RecursionError):  # noqa: BLE001 - msrest raises many kinds
        return None, "the activity has fields of the wrong type"


def setup_botframework(app: web.Application, endpoint: BotFrameworkEndpoint) -> None:
    app.router.add_post("/api/messages", endpoint.messages)
