"""Request ids, structured logs and the operations endpoints (/livez, /readyz, /metrics).

Every request gets an id (the caller's `X-Request-Id` when it is a plain token,
else a new one); it is returned in the response header and added to every log
line written while the request is handled, so one turn can be followed through
the logs. `LOG_FORMAT=json` writes one JSON object per line. Logs never carry
message text: code logs only kinds and counts, and exceptions are written as
their type and stack frames, never their message (which could quote input).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import re
import secrets
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import Engine, text

from bot.metrics import Metrics

REQUEST_ID = contextvars.ContextVar("request_id", default="-")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
READY_TIMEOUT_SECONDS = 2.0


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def _frames(exc_info) -> list[str]:
    return [
        f"{frame.filename}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(exc_info[2])
    ]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
            entry["frames"] = _frames(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class SafeTextFormatter(logging.Formatter):
    """The text format; exceptions as type and frames, like the JSON one."""

    def formatException(self, exc_info) -> str:  # noqa: N802 - logging's name
        return f"{exc_info[0].__name__} at " + " <- ".join(reversed(_frames(exc_info)))


def configure_logging(log_format: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else SafeTextFormatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def request_context(metrics: Metrics):
    @web.middleware
    async def middleware(request: web.Request, handler):
        given = request.headers.get("X-Request-Id", "")
        request_id = given if _SAFE_ID.match(given) else secrets.token_hex(8)
        token = REQUEST_ID.set(request_id)
        status = 500
        try:
            response = await handler(request)
            status = response.status
            if not response.prepared:
                response.headers["X-Request-Id"] = request_id
            return response
        except web.HTTPException as error:
            status = error.status
            error.headers["X-Request-Id"] = request_id
            raise
        finally:
            route = request.match_info.route.resource
            name = route.canonical if route is not None else "unmatched"
            metrics.requests.labels(name, str(status)).inc()
            REQUEST_ID.reset(token)

    return middleware


async def livez(request: web.Request) -> web.Response:
    """The process is up and serving (no dependencies checked)."""
    return web.json_response({"status": "ok"})


def readyz(
    nlu_ready: Callable[[], Awaitable[bool]] | None, engine: Engine | None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Ready when Rasa has a model loaded and the database answers; 503 names what is not."""

    def database_answers() -> bool:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True

    async def check(name: str, probe: Callable[[], Awaitable[bool]]) -> tuple[str, str]:
        try:
            ok = await asyncio.wait_for(probe(), READY_TIMEOUT_SECONDS)
        except Exception:  # noqa: BLE001 - any failure means not ready
            ok = False
        return name, "ok" if ok else "unavailable"

    async def handler(request: web.Request) -> web.Response:
        started = time.monotonic()
        probes = []
        if nlu_ready is not None:
            probes.append(check("nlu", nlu_ready))
        if engine is not None:
            probes.append(check("database", lambda: asyncio.to_thread(database_answers)))
        checks = dict(await asyncio.gather(*probes))
        ready = all(value == "ok" for value in checks.values())
        body = {
            "status": "ready" if ready else "not ready",
            "checks": checks,
            "seconds": round(time.monotonic() - started, 3),
        }
        return web.json_response(body, status=200 if ready else 503)

    return handler


def metrics_endpoint(metrics: Metrics):
    async def handler(request: web.Request) -> web.Response:
        response = web.Response(body=metrics.render())
        response.headers["Content-Type"] = metrics.content_type
        return response

    return handler
