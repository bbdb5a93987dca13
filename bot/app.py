"""The composition root: `create_app(config) -> web.Application` wires everything by constructor.

No work happens at import time; tests build the app from a test config, and can
hand in their own NLU client (a test double for unit tests only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from aiohttp import web
from botbuilder.core import Storage, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from sqlalchemy.exc import SQLAlchemyError

from bot.assistant_bot import AssistantBot
from bot.botframework.auth import auth_required, check_startup, create_authentication
from bot.botframework.routes import BotFrameworkEndpoint, setup_botframework
from bot.config import AppConfig
from bot.directline.adapter import DirectLineAdapter
from bot.directline.routes import DirectLineService, error_response, setup_directline
from bot.directline.store import ConversationLog, SqlConversationLog
from bot.directline.tokens import TokenIssuer
from bot.metrics import Metrics
from bot.observability import livez, metrics_endpoint, readyz, request_context
from bot.pseudonym import Pseudonymiser
from bot.ratelimit import MemoryCounter, RateLimiter, SqlCounter
from bot.staff.web import setup_staff
from bot.state import JsonConversationState
from bot.storage.database import create_database_engine
from bot.storage.records import SqlRecordStore
from bot.storage.state import SqlStorage, StateConflict
from bot.widget import setup_widget
from content.store import ContentStore, load_content
from dialogs.feedback import FeedbackSettings
from dialogs.language import LanguagePolicy
from dialogs.records import RecordSink
from dialogs.router import Router
from nlu.client import NluClient, RasaNluClient
from nlu.early import EarlyParses
from nlu.language import create_detector
from nlu.resilience import CircuitBreaker, ParseCache

logger = logging.getLogger(__name__)

CONFIG_KEY = web.AppKey("config", AppConfig)
CONTENT_KEY = web.AppKey("content", ContentStore)
ROUTER_KEY = web.AppKey("router", Router)
STORAGE_RETRY_AFTER_SECONDS = 5


def build_router(
    config: AppConfig,
    content: ContentStore,
    nlu: NluClient,
    records: RecordSink,
    clock: Callable[[], datetime] | None = None,
) -> Router:
    """The channel-independent turn logic, from config (`clock`: tests fix the time)."""
    language = LanguagePolicy(
        detector=create_detector(config.language.detector),
        default=config.language.default,
        min_confidence=config.language.min_confidence,
        first_message_min_confidence=config.language.first_message_min_confidence,
        min_letters=config.language.min_letters,
        by_words=content.cues.language_by_function_words,
    )
    return Router(
        content=content,
        nlu=nlu,
        language=language,
        confidence_threshold=config.nlu.confidence_threshold,
        suggestion_min_confidence=config.nlu.suggestion_min_confidence,
        max_suggestions=config.nlu.max_suggestions,
        max_message_chars=config.nlu.max_message_chars,
        records=records,
        feedback=FeedbackSettings(
            timeout=timedelta(minutes=config.feedback.dialog_timeout_minutes),
            max_text_chars=config.feedback.max_text_chars,
            max_unit_chars=config.feedback.max_unit_chars,
            contact_days=config.retention.contact_days,
        ),
        max_comment_chars=config.feedback.max_comment_chars,
        clock=clock,
        crisis_line=config.contacts.crisis_line,
    )


@web.middleware
async def json_errors(request: web.Request, handler):
    """Errors answer in the Direct Line error shape, never an HTML page or a stack trace.

    The database unreachable is a 503 with Retry-After: the client keeps what the
    user wrote and sends it again (nothing was stored, so nothing is doubled).
    """
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.content_type == "application/json" or error.status < 400:
            raise
        return error_response(error.status, "BadArgument", error.reason)
    except StateConflict:
        # Two replicas answered one conversation at the same moment; this turn's
        # state and replies were not written (its message is in the log).
        logger.warning("conversation state changed during the turn")
        return error_response(
            409, "Conflict", "The conversation changed while this was answered; send it again"
        )
    except SQLAlchemyError as error:
        logger.error("database unavailable: %s", type(error).__name__)
        response = error_response(
            503, "ServiceUnavailable", "Storage is unavailable; send the request again shortly"
        )
        response.headers["Retry-After"] = str(STORAGE_RETRY_AFTER_SECONDS)
        return response
    except Exception as error:  # noqa: BLE001 - the last line: log the kind, answer politely
        logger.error("request failed: %s", type(error).__name__, exc_info=error)
        return error_response(500, "InternalError", "Something went wrong; try again")


def build_nlu(config: AppConfig, metrics: Metrics) -> tuple[NluClient, RasaNluClient]:
    """Rasa behind a circuit breaker, behind a parse cache; returns (the stack, the client)."""
    rasa = RasaNluClient(config.nlu.url, config.nlu.token, config.nlu.timeout_seconds)
    breaker = CircuitBreaker(
        rasa,
        failure_threshold=config.nlu.breaker_failures,
        reset_seconds=config.nlu.breaker_reset_seconds,
        on_error=lambda reason: metrics.nlu_errors.labels(reason).inc(),
    )
    if config.nlu.cache_entries <= 0:
        return breaker, rasa
    cache = ParseCache(
        breaker,
        rasa.model_id,
        max_entries=config.nlu.cache_entries,
        on_lookup=lambda result: metrics.nlu_cache.labels(result).inc(),
    )
    return cache, rasa


def manage_lifecycle(
    app: web.Application,
    rasa: RasaNluClient | None,
    conversation_log: ConversationLog,
    engine,
    stream_poll_seconds: float,
) -> None:
    """Start the stream watcher with the app; close Rasa's client and the database after."""

    async def watch_streams(_: web.Application):
        # Wakes this replica's WebSocket streams for replies written by other replicas.
        watcher = asyncio.create_task(conversation_log.watch(stream_poll_seconds))
        yield
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher

    async def close(_: web.Application) -> None:
        if rasa is not None:
            await rasa.close()
        if engine is not None:
            engine.dispose()

    app.cleanup_ctx.append(watch_streams)
    app.on_cleanup.append(close)


def create_app(
    config: AppConfig,
    nlu: NluClient | None = None,
    storage: Storage | None = None,
    records: RecordSink | None = None,
    conversations: ConversationLog | None = None,
) -> web.Application:
    """The bot service. `nlu`, `storage`, `records` and `conversations` default to the real
    ones (Rasa, the database); unit tests hand in doubles."""
    check_startup(config)
    if (storage is None) != (conversations is None):
        # Direct Line writes a turn's state through its conversation log, with the
        # replies: the two must be the same database, or doubles sharing a storage.
        raise ValueError("storage and conversations are replaced together")
    content = load_content(config.content.path(), config.links)
    metrics = Metrics()
    rasa = None
    nlu_client = nlu
    if nlu_client is None:
        nlu_client, rasa = build_nlu(config, metrics)
    engine = None
    if storage is None or records is None or conversations is None:
        engine = create_database_engine(config.database.url)
    record_sink = records or SqlRecordStore(
        engine, on_saved=lambda kind: metrics.records.labels(kind).inc()
    )
    early = EarlyParses(nlu_client)
    router = build_router(config, content, early, record_sink)
    conversation_state = JsonConversationState(storage or SqlStorage(engine))
    bot = AssistantBot(
        router,
        conversation_state,
        Pseudonymiser(config.privacy.pseudonym_secret),
        metrics,
        early,
    )

    async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
        # Log the failure without message text; the user gets a fixed polite reply.
        logger.error("turn failed: %s", type(error).__name__, exc_info=error)
        await bot.on_turn_error(turn_context, error)

    counter = (
        SqlCounter(engine)
        if config.rate_limits.store == "database" and engine is not None
        else MemoryCounter()
    )
    limiter = RateLimiter(
        counter, on_limited=lambda scope: metrics.rate_limited.labels(scope).inc()
    )
    conversation_log = conversations or SqlConversationLog(
        engine, config.directline.conversation_ttl_seconds
    )
    directline = DirectLineService(
        adapter=DirectLineAdapter(on_turn_error),
        bot=bot,
        store=conversation_log,
        tokens=TokenIssuer(config.directline.token_secret, config.directline.token_ttl_seconds),
        max_activity_bytes=config.directline.max_activity_bytes,
        keepalive_seconds=config.directline.stream_keepalive_seconds,
        limiter=limiter,
        limits=config.rate_limits,
        # Both built here on one engine: a turn's unanswered question goes in its one write.
        records=record_sink if records is None and conversations is None else None,
    )
    authentication = create_authentication(config.bot_framework)
    cloud_adapter = CloudAdapter(authentication)
    cloud_adapter.on_turn_error = on_turn_error
    teams = BotFrameworkEndpoint(
        adapter=cloud_adapter,
        authentication=authentication,
        bot=bot,
        max_body_bytes=config.bot_framework.max_body_bytes,
        auth_required=auth_required(config.bot_framework),
        limiter=limiter,
        per_conversation_per_minute=config.rate_limits.per_conversation_per_minute,
    )
    app = web.Application(
        middlewares=[request_context(metrics), json_errors],
        client_max_size=config.directline.max_activity_bytes * 2,
    )
    app[CONFIG_KEY] = config
    app[CONTENT_KEY] = content
    app[ROUTER_KEY] = router
    setup_directline(app, directline)
    setup_botframework(app, teams)
    setup_widget(app)
    if engine is not None:
        titles = {
            entry_id: entry.title
            for entries in (content.topics, content.conversation)
            for entry_id, entry in entries.items()
        }
        setup_staff(app, config, engine, limiter, titles)
    app.router.add_get("/livez", livez)
    app.router.add_get("/readyz", readyz(rasa.ready if rasa else None, engine))
    app.router.add_get("/metrics", metrics_endpoint(metrics))

    manage_lifecycle(app, rasa, conversation_log, engine, config.directline.stream_poll_seconds)
    return app
