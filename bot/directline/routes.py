"""HTTP endpoints of the Direct Line 3.0 subset: conversations, tokens, activities, stream.

Follows the Direct Line 3.0 REST reference closely (paths, JSON shapes, watermark
strings, `streamUrl` WebSocket, error object `{"error": {"code", "message"}}`) so
Microsoft's Web Chat and directline-js can talk to it. Every bad request gets a
4xx with a reason: input is checked here, before it reaches botbuilder.

The conversation log is in the database (store.py), so consecutive requests of
one conversation, and its WebSocket, may each reach a different replica.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSCloseCode, web
from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount
from msrest.exceptions import DeserializationError

from bot.assistant_bot import AssistantBot
from bot.config import RateLimitConfig
from bot.directline.adapter import DirectLineAdapter
from bot.directline.store import ConversationLog
from bot.directline.tokens import TokenError, TokenExpired, TokenIssuer
from bot.ratelimit import Limit, RateLimiter, client_address
from bot.serialize import to_json
from bot.state import StateWriter
from bot.storage.records import RecordsWithTurn, SqlRecordStore
from bot.storage.redaction import redact

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
    bot: AssistantBot
    store: ConversationLog
    tokens: TokenIssuer
    max_activity_bytes: int
    keepalive_seconds: float = 20.0
    limiter: RateLimiter | None = None
    limits: RateLimitConfig = field(default_factory=RateLimitConfig)
    # Set when records and the log share a database: a turn's unanswered question is
    # then written in the turn's one transaction (bot/storage/records.py).
    records: SqlRecordStore | None = None
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _sockets: set[web.WebSocketResponse] = field(default_factory=set)

    async def close_streams(self, _app: web.Application | None = None) -> None:
        """On shutdown: close every stream ("going away"), so clients reconnect elsewhere
        at once and the process stops without waiting for them."""
        for socket in list(self._sockets):
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    # --- helpers -----------------------------------------------------------------

    def _bearer(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _error(401, "BadArgument", "Malformed bearer")
        return token.strip()

    def _claims_for(
        self, request: web.Request, conversation_id: str | None = None, token: str | None = None
    ):
        """Verify the bearer token; it must belong to `conversation_id` when one is given."""
        token = token or self._bearer(request)
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

    async def _limited(
        self, request: web.Request, conversation_id: str | None = None, new: bool = False
    ) -> None:
        """Raise the 429 when this request is over a limit (bot/ratelimit.py)."""
        if self.limiter is None:
            return
        address = client_address(request, self.limits.trust_forwarded_for)
        limits = [Limit("client address", f"a:{address}", self.limits.per_address_per_minute)]
        if new:
            limits.append(
                Limit(
                    "new conversations",
                    f"n:{address}",
                    self.limits.new_conversations_per_address_per_minute,
                )
            )
        if conversation_id:
            limits.append(
                Limit(
                    "conversation", f"c:{conversation_id}", self.limits.per_conversation_per_minute
                )
            )
        refused = await self.limiter.check(limits)
        if refused is not None:
            raise web.HTTPTooManyRequests(
                text=refused.text,
                content_type="application/json",
                headers={"Retry-After": refused.headers["Retry-After"]},
            )

    def _conversation_body(
        self, request: web.Request, conversation_id: str, status: int = 201
    ) -> web.Response:
        token = self.tokens.issue(conversation_id)
        return web.json_response(
            {
                "conversationId": conversation_id,
                "token": token,
                "expires_in": self.tokens.ttl_seconds,
                "streamUrl": _stream_url(request, conversation_id, token),
            },
            status=status,
        )

    @asynccontextmanager
    async def _turn(self, conversation_id: str) -> AsyncIterator[None]:
        """One turn at a time per conversation in this process (the state's e-tags
        guard the rare case of two replicas at once)."""
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and self._locks.get(conversation_id) is lock:
                del self._locks[conversation_id]

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
        if not encodable(body):
            raise _error(400, "BadArgument", "Body has text that is not valid Unicode")
        return body

    # --- endpoints -----------------------------------------------------------------

    async def generate_token(self, request: web.Request) -> web.Response:
        """POST /v3/directline/tokens/generate: a new conversation id with its token."""
        await self._limited(request, new=True)
        conversation_id = await self.store.create()
        return self._conversation_body(request, conversation_id, status=200)

    async def refresh_token(self, request: web.Request) -> web.Response:
        """POST /v3/directline/tokens/refresh: a fresh token for the same conversation."""
        claims = self._claims_for(request)
        return self._conversation_body(request, claims.conversation_id, status=200)

    async def start_conversation(self, request: web.Request) -> web.Response:
        """POST /v3/directline/conversations: start (or, with a token, resume) a conversation.

        Without a token a new conversation is created: the public widget holds no
        secret. With a token from tokens/generate, that conversation is started.
        """
        token = self._bearer(request)
        await self._limited(request, new=token is None)
        if token is not None:
            conversation_id = self._claims_for(request).conversation_id
            length = await self.store.length(conversation_id)
            if length:
                return self._conversation_body(request, conversation_id, status=200)
            if length is None:
                await self.store.create(conversation_id)
        else:
            conversation_id = await self.store.create()
        locale = request.query.get("locale")
        await self._welcome(request, conversation_id, locale)
        return self._conversation_body(request, conversation_id)

    async def reconnect(self, request: web.Request) -> web.Response:
        """GET /v3/directline/conversations/{id}: resume with a new token."""
        conversation_id = request.match_info["conversation_id"]
        self._claims_for(request, conversation_id)
        # The log may have expired while the dialog state has not: the token proves the
        # right to the id, so the conversation resumes with a new, empty log.
        await self.store.ensure(conversation_id)
        return self._conversation_body(request, conversation_id, status=200)

    async def get_activities(self, request: web.Request) -> web.Response:
        """GET .../activities?watermark=N: everything after the watermark."""
        conversation_id = request.match_info["conversation_id"]
        self._claims_for(request, conversation_id)
        watermark = _watermark(request)
        # Reading needs no existence check: a conversation with no log reads as empty.
        activities, next_watermark = await self.store.since(conversation_id, watermark)
        return web.json_response({"activities": activities, "watermark": str(next_watermark)})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """GET .../stream?t=<token>&watermark=N: activities pushed over a WebSocket.

        Sends what is new as `{"activities": [...], "watermark": "N"}`, an empty
        message as keep-alive, and catches up from the watermark on a reconnect,
        to this or any other replica.
        """
        conversation_id = request.match_info["conversation_id"]
        self._claims_for(request, conversation_id, token=request.query.get("t"))
        await self._limited(request)
        watermark = _watermark(request)
        socket = web.WebSocketResponse(heartbeat=self.keepalive_seconds)
        await socket.prepare(request)
        self._sockets.add(socket)
        changed = self.store.subscribe(conversation_id)
        closed = asyncio.create_task(_until_closed(socket))
        try:
            while not socket.closed:
                changed.clear()
                activities, watermark = await self._push(socket, conversation_id, watermark)
                woken = asyncio.create_task(changed.wait())
                done, _ = await asyncio.wait(
                    {woken, closed},
                    timeout=self.keepalive_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                woken.cancel()
                if closed in done:
                    break
                if not done and not socket.closed:
                    await socket.send_str("")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._sockets.discard(socket)
            self.store.unsubscribe(conversation_id)
            closed.cancel()
            await socket.close()
        return socket

    async def _push(
        self, socket: web.WebSocketResponse, conversation_id: str, watermark: int
    ) -> tuple[list[dict], int]:
        activities, next_watermark = await self.store.since(conversation_id, watermark)
        if activities and not socket.closed:
            await socket.send_json({"activities": activities, "watermark": str(next_watermark)})
        return activities, next_watermark

    async def post_activity(self, request: web.Request) -> web.Response:
        """POST .../activities: run the bot's turn; its replies are ready when this returns.

        A typed message is sent to the NLU first (nlu/early.py), so that the rate
        limits, the activity and the state are dealt with while the NLU works.
        """
        conversation_id = request.match_info["conversation_id"]
        self._claims_for(request, conversation_id)
        body = await self._read_json_object(request)
        question = await self.bot.parse_early(CHANNEL_ID, conversation_id, _typed_text(body))
        try:
            return await self._answer(request, conversation_id, body)
        finally:
            self.bot.release_early(question)

    async def _answer(
        self, request: web.Request, conversation_id: str, body: dict[str, Any]
    ) -> web.Response:
        await self._limited(request, conversation_id)
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
        # No separate existence check: appending the user's activity creates the
        # conversation's log if it is gone (the token proved the right to the id).
        async with self._turn(conversation_id):
            activity_id = await self._run_turn(request, conversation_id, activity, body)
        return web.json_response({"id": activity_id})

    async def _run_turn(
        self, request: web.Request, conversation_id: str, activity: Activity, body: dict
    ) -> str:
        user = _user_account(body, conversation_id)
        activity.channel_id = CHANNEL_ID
        activity.conversation = ConversationAccount(id=conversation_id)
        activity.from_property = user
        activity.recipient = BOT_ACCOUNT
        activity.service_url = _service_url(request)
        activity.timestamp = datetime.now(UTC)
        logged = _redacted(to_json(activity))
        with self.records.with_turn() if self.records else nullcontext() as records:
            turn = TurnLog(self.store, conversation_id, logged, activity.type == "message", records)
            replies: list[dict] = []
            try:
                if activity.type in ("message", "conversationUpdate"):
                    replies = await self.adapter.process(
                        activity, self.bot.on_turn, self._state_writer(turn)
                    )
            finally:
                # The replies sent after the state was written, and the user's activity
                # if no state write took it (a turn that changed nothing, or failed).
                await turn.write(replies)
        return turn.user_activity_id

    def _state_writer(self, turn: TurnLog) -> StateWriter:
        """How a turn writes its state: in one transaction with what it adds to the log."""

        async def write_state(context: TurnContext, changes: dict) -> None:
            await turn.write(self.adapter.take_replies(context), changes)

        return write_state

    async def _welcome(
        self, request: web.Request, conversation_id: str, locale: str | None
    ) -> None:
        """Send the bot a conversationUpdate with the user joining, as Direct Line does."""
        user = ChannelAccount(id=_default_user_id(conversation_id))
        activity = Activity(
            type="conversationUpdate",
            members_added=[user],
            channel_id=CHANNEL_ID,
            conversation=ConversationAccount(id=conversation_id),
            from_property=user,
            recipient=BOT_ACCOUNT,
            service_url=_service_url(request),
            timestamp=datetime.now(UTC),
            locale=locale,
            id=f"{conversation_id}|join",
        )
        async with self._turn(conversation_id):
            turn = TurnLog(self.store, conversation_id, None, replying=False)
            replies = await self.adapter.process(
                activity, self.bot.on_turn, self._state_writer(turn)
            )
            await turn.write(replies)


class TurnLog:
    """What one turn adds to the conversation's log, written with the state it reaches.

    The user's activity goes in the turn's first write, in one transaction with
    the replies sent so far and the new state: the log never holds a reply
    without its state, nor a state ahead of the log, and a turn that dies half
    way leaves nothing of itself for the client's retry to double. One write
    instead of two also saves a transaction on every turn.
    """

    def __init__(
        self,
        store: ConversationLog,
        conversation_id: str,
        user_activity: dict | None,
        replying: bool,
        records: RecordsWithTurn | None = None,
    ) -> None:
        """`replying`: the replies answer the user's activity and name it in replyToId.
        `records`: what the turn asked to store, written with it."""
        self._store = store
        self._conversation_id = conversation_id
        self._unwritten_user_activity = user_activity
        self._replying = replying
        self._records = records
        self.user_activity_id: str | None = None

    async def write(self, replies: list[dict], state: dict | None = None) -> None:
        user = self._unwritten_user_activity
        rows = self._records.rows() if self._records else []
        if user is None:
            if self._replying and self.user_activity_id:
                for reply in replies:
                    reply.setdefault("replyToId", self.user_activity_id)
            if replies or state or rows:
                await self._store.append(self._conversation_id, replies, state, also=rows)
                self._written()
            return
        ids = await self._store.append(
            self._conversation_id, [user, *replies], state, reply_to_first=self._replying, also=rows
        )
        self._written()
        self._unwritten_user_activity = None
        self.user_activity_id = ids[0]

    def _written(self) -> None:
        if self._records:
            self._records.written()


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


def _redacted(activity: dict[str, Any]) -> dict[str, Any]:
    """The user's activity as the transcript keeps it: its text redacted.

    The bot gets the text as written (the contact step needs the address it asks
    for); the transcript, kept for a day, never holds an identity code, a phone
    number or an e-mail address, not even a contact whose consent was then declined.
    The widget keeps showing its own copy of a message it sent.
    """
    if isinstance(activity.get("text"), str):
        activity["text"] = redact(activity["text"]).text
    return activity


def _typed_text(body: dict[str, Any]) -> str | None:
    """The text of a typed message (not a button's value): a question, maybe."""
    text = body.get("text")
    if body.get("type") != "message" or body.get("value") or not isinstance(text, str):
        return None
    return text


def _default_user_id(conversation_id: str) -> str:
    return "dl_" + conversation_id[:12]


def _user_account(body: dict[str, Any], conversation_id: str) -> ChannelAccount:
    sender = body.get("from")
    if (
        isinstance(sender, dict)
        and isinstance(sender.get("id"), str)
        and 0 < len(sender["id"]) <= 128
    ):
        return ChannelAccount(id=sender["id"])
    return ChannelAccount(id=_default_user_id(conversation_id))


def encodable(value: Any) -> bool:
    """False when the JSON held lone surrogates ("\\ud800"): valid JSON, not storable text."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError, ValueError):
        return False
    return True


def _watermark(request: web.Request) -> int:
    raw = request.query.get("watermark", "0") or "0"
    if not raw.isdigit() or len(raw) > 12:
        raise _error(400, "BadArgument", "watermark must be a non-negative integer")
    return int(raw)


async def _until_closed(socket: web.WebSocketResponse) -> None:
    """Read (and ignore) what the client sends until the socket closes."""
    async for _message in socket:
        pass


def _stream_url(request: web.Request, conversation_id: str, token: str) -> str:
    scheme = "wss" if request.scheme == "https" else "ws"
    path = f"/v3/directline/conversations/{conversation_id}/stream"
    return f"{scheme}://{request.host}{path}?t={token}"


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
    app.router.add_get(f"{prefix}/conversations/{{conversation_id}}/stream", service.stream)
    app.on_shutdown.append(service.close_streams)
