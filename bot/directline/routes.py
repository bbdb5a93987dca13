"""HTTP endpoints of the Direct Line 3.0 subset: conversations, tokens, activities.

Follows the Direct Line 3.0 REST reference closely (paths, JSON shapes, watermark
strings, error object `{"error": {"code", "message"}}`) so Microsoft's Web Chat
and directline-js can talk to it. Every bad request gets a 4xx with a reason:
input is checked here, before it reaches botbuilder.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from botbuilder.core import Bot
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount
from msrest.exceptions import DeserializationError

from bot.directline.adapter import DirectLineAdapter
from bot.directline.store import Conversation, ConversationStore
from bot.directline.tokens import TokenError, TokenExpired, TokenIssuer

logger = logging.getLogger(__name__)

CHANNEL_ID = "directline"
BOT_ACCOUNT = ChannelAccount(id="kasko-participation-assistant", name="Osallisuusavustaja")
ACCEPTED_TYPES = {"message", "event", "typing", "conversationUpdate"}


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@dataclass
class DirectLineService:
    """The Direct Line endpoints' collaborators, wired by the app factory."""

    adapter: DirectLineAdapter
    bot: Bot
    store: ConversationStore
    tokens: TokenIssuer
    max_activity_bytes: int

    # --- helpers -----------------------------------------------------------------

    def _bearer(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _error(401, "BadArgument", "Malformed bearer")
        return token.strip()

    def _claims_for(self, request: web.Request, conversation_id: str | None = None):
        """Verify the bearer token; it must belong to `conversation_id` when one is given."""
        token = self._bearer(request)
        if token is None:
            raise _error(401, "BadArgument", "Missing Authorization bearer")
        try:
            claims = self.tokens.verify(token)
        except TokenExpired as error:
            raise _error(403, "TokenExpired", "Token expired") from error
        except TokenError as error:
            raise _error(403, "BadArgument", "Token not valid") from error
        if conversation_id is not None and claims.conversation_id != conversation_id:
            raise _error(403, "BadArgument", "Token not valid for this conversation")
        return claims

    def _conversation(self, conversation_id: str) -> Conversation:
        """The conversation a verified token opens.

        After a restart the activity log (process memory) is gone while the dialog
        state (database) is not: the token proves the client's right to the id, so
        the conversation resumes with a new, empty log.
        """
        return self.store.get(conversation_id) or self.store.create(conversation_id)

    def _conversation_body(self, conversation: Conversation, status: int = 201) -> web.Response:
        return web.json_response(
            {
                "conversationId": conversation.id,
                "token": self.tokens.issue(conversation.id),
                "expires_in": self.tokens.ttl_seconds,
            },
            status=status,
        )

    async def _read_json_object(self, request: web.Request) -> dict[str, Any]:
        if request.content_length is not None and request.content_length > self.max_activity_bytes:
            raise _error(413, "MessageSizeTooBig", "Activity too large")
        content_type = request.content_type
        if content_type != "application/json":
            raise _error(415, "BadArgument", "Content-Type must be application/json")
        try:
            raw = await request.content.read(self.max_activity_bytes + 1)
        except (web.HTTPRequestEntityTooLarge, ValueError) as error:
            raise _error(413, "MessageSizeTooBig", "Activity too large") from error
        if len(raw) > self.max_activity_bytes:
            raise _error(413, "MessageSizeTooBig", "Activity too large")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise _error(400, "BadArgument", "Body is not valid JSON") from error
        if not isinstance(body, dict):
            raise _error(400, "BadArgument", "Body must be a JSON object (an activity)")
        return body

    # --- endpoints -----------------------------------------------------------------

    async def generate_token(self, request: web.Request) -> web.Response:
        """POST /v3/directline/tokens/generate: a new conversation id with its token."""
        conversation = self.store.create()
        return self._conversation_body(conversation, status=200)

    async def refresh_token(self, request: web.Request) -> web.Response:
        """POST /v3/directline/tokens/refresh: a fresh token for the same conversation."""
        claims = self._claims_for(request)
        return web.json_response(
            {
                "conversationId": claims.conversation_id,
                "token": self.tokens.issue(claims.conversation_id),
                "expires_in": self.tokens.ttl_seconds,
            }
        )

    async def start_conversation(self, request: web.Request) -> web.Response:
        """POST /v3/directline/conversations: start (or, with a token, resume) a conversation.

        Without a token a new conversation is created: the public widget holds no
        secret. With a token from tokens/generate, that conversation is started.
        """
        token = self._bearer(request)
        if token is not None:
            claims = self._claims_for(request)
            existing = self.store.get(claims.conversation_id)
            if existing is not None and existing.activities:
                return self._conversation_body(existing, status=200)
            conversation = existing or self.store.create(claims.conversation_id)
        else:
            conversation = self.store.create()
        locale = request.query.get("locale")
        await self._welcome(request, conversation, locale)
        return self._conversation_body(conversation)

    async def reconnect(self, request: web.Request) -> web.Response:
        """GET /v3/directline/conversations/{id}: resume with a new token."""
        conversation_id = request.match_info["conversation_id"]
        self._claims_for(request, conversation_id)
        conversation = self._conversation(conversation_id)
        return self._conversation_body(conversation, status=200)

    async def get_activities(self, request: web.Request) -> web.Response:
        """GET .../activities?watermark=N: everything after the watermark."""
        conversation_id = request.match_info["conversation_id"]
        self._claims_for(request, conversation_id)
        conversation = self._conversation(conversation_id)
        raw_watermark = request.query.get("watermark", "0") or "0"
        try:
            watermark = int(raw_watermark)
            if watermark < 0:
                raise ValueError
        except ValueError:
            return error_response(400, "BadArgument", "watermark must be a non-negative integer")
        activities, next_watermark = conversation.since(watermark)
        return web.json_response({"activities": activities, "watermark": str(next_watermark)})

    async def post_activity(self, request: web.Request) -> web.Response:
        """POST .../activities: run the bot's turn; its replies are ready when this returns."""
        conversation_id = request.match_info["conversation_id"]
        self._claims_for(request, conversation_id)
        conversation = self._conversation(conversation_id)
        body = await self._read_json_object(request)
        activity_type = body.get("type")
        if not isinstance(activity_type, str) or activity_type not in ACCEPTED_TYPES:
            return error_response(
                400, "BadArgument", f"type must be one of {', '.join(sorted(ACCEPTED_TYPES))}"
            )
        if "text" in body and body["text"] is not None and not isinstance(body["text"], str):
            return error_response(400, "BadArgument", "text must be a string")
        if "locale" in body and body["locale"] is not None and not isinstance(body["locale"], str):
            return error_response(400, "BadArgument", "locale must be a string")
        try:
            activity = Activity().deserialize(_inbound_fields(body))
        except (DeserializationError, TypeError, ValueError, AttributeError, RecursionError):
            return error_response(400, "BadArgument", "Activity has fields of the wrong type")
        async with conversation.lock:
            activity_id = await self._run_turn(request, conversation, activity, body)
        return web.json_response({"id": activity_id})

    async def _run_turn(
        self, request: web.Request, conversation: Conversation, activity: Activity, body: dict
    ) -> str:
        user = _user_account(body, conversation)
        activity.channel_id = CHANNEL_ID
        activity.conversation = ConversationAccount(id=conversation.id)
        activity.from_property = user
        activity.recipient = BOT_ACCOUNT
        activity.service_url = _service_url(request)
        activity.timestamp = datetime.now(UTC)
        activity_id = conversation.append(activity.serialize())
        activity.id = activity_id
        if activity.type in ("message", "conversationUpdate"):
            await self.adapter.process(conversation, activity, self.bot.on_turn)
        return activity_id

    async def _welcome(
        self, request: web.Request, conversation: Conversation, locale: str | None
    ) -> None:
        """Send the bot a conversationUpdate with the user joining, as Direct Line does."""
        user = ChannelAccount(id=_default_user_id(conversation))
        activity = Activity(
            type="conversationUpdate",
            members_added=[user],
            channel_id=CHANNEL_ID,
            conversation=ConversationAccount(id=conversation.id),
            from_property=user,
            recipient=BOT_ACCOUNT,
            service_url=_service_url(request),
            timestamp=datetime.now(UTC),
            locale=locale,
            id=f"{conversation.id}|join",
        )
        async with conversation.lock:
            await self.adapter.process(conversation, activity, self.bot.on_turn)


_ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    413: web.HTTPRequestEntityTooLarge,
    415: web.HTTPUnsupportedMediaType,
}


def _error(status: int, code: str, message: str) -> web.HTTPException:
    """An HTTP error to raise, with the Direct Line error object as its JSON body."""
    cls = _ERRORS[status]
    payload = json.dumps({"error": {"code": code, "message": message}})
    if cls is web.HTTPRequestEntityTooLarge:
        return cls(max_size=0, actual_size=0, text=payload, content_type="application/json")
    return cls(text=payload, content_type="application/json")


_INBOUND_KEYS = (
    "type",
    "text",
    "locale",
    "value",
    "attachments",
    "channelData",
    "name",
    "textFormat",
)


def _inbound_fields(body: dict[str, Any]) -> dict[str, Any]:
    """Only the fields a client may set; ids, accounts and timestamps are the server's."""
    return {key: body[key] for key in _INBOUND_KEYS if key in body}


def _default_user_id(conversation: Conversation) -> str:
    return "dl_" + conversation.id[:12]


def _user_account(body: dict[str, Any], conversation: Conversation) -> ChannelAccount:
    sender = body.get("from")
    if (
        isinstance(sender, dict)
        and isinstance(sender.get("id"), str)
        and 0 < len(sender["id"]) <= 128
    ):
        return ChannelAccount(id=sender["id"])
    return ChannelAccount(id=_default_user_id(conversation))


def _service_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}/"


def setup_directline(app: web.Application, service: DirectLineService) -> None:
    """Register the Direct Line routes on the app."""
    prefix = "/v3/directline"
    app.router.add_post(f"{prefix}/tokens/generate", service.generate_token)
    app.router.add_post(f"{prefix}/tokens/refresh", service.refresh_token)
    app.router.add_post(f"{prefix}/conversations", service.start_conversation)
    app.router.add_get(f"{prefix}/conversations/{{conversation_id}}", service.reconnect)
    app.router.add_get(
        f"{prefix}/conversations/{{conversation_id}}/activities", service.get_activities
    )
    app.router.add_post(
        f"{prefix}/conversations/{{conversation_id}}/activities", service.post_activity
    )
