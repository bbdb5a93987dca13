"""The NLU behind one method, `parse(text) -> Parse`; Rasa's HTTP API is the real implementation.

A Rasa outage never crashes a turn and never changes the return type: the client
raises `NluUnavailable`, which the dialogs turn into a polite fallback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp

from nlu.http import HttpError, JsonPoster

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntentScore:
    name: str
    confidence: float


@dataclass(frozen=True)
class Parse:
    """What the NLU understood: the top intent, its confidence and the ranking below it."""

    intent: str
    confidence: float
    ranking: tuple[IntentScore, ...] = field(default_factory=tuple)
    model_id: str = ""


class NluUnavailable(Exception):
    """The NLU service could not be reached or answered nonsense."""


class NluClient(Protocol):
    async def parse(self, text: str) -> Parse: ...


def strip_intent_prefix(text: str) -> str:
    """Remove leading '/' so Rasa never reads a user's message as an intent command ("/greet")."""
    return text.lstrip().lstrip("/").lstrip()


def parse_from_rasa(payload: object) -> Parse:
    """Turn Rasa's /model/parse JSON into a Parse, or raise NluUnavailable on an odd shape."""
    try:
        intent = payload["intent"]  # type: ignore[index]
        ranking = tuple(
            IntentScore(str(item["name"]), float(item["confidence"]))
            for item in payload.get("intent_ranking") or []  # type: ignore[union-attr]
        )
        return Parse(
            intent=str(intent["name"]),
            confidence=float(intent["confidence"]),
            ranking=ranking,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise NluUnavailable("unexpected parse response shape") from error


class RasaNluClient:
    """Calls a Rasa server's `POST /model/parse` with a timeout and the server's auth token."""

    def __init__(
        self, url: str, token: str, timeout_seconds: float, model_check_seconds: float = 30.0
    ) -> None:
        self._base = url.rstrip("/")
        self._url = self._base + "/model/parse"
        self._params = {"token": token} if token else {}
        self._timeout_seconds = timeout_seconds
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        # The parse, on every question's way, has a lean client of its own (nlu/http.py).
        self._parser = JsonPoster(self._url, self._params)
        self._session: aiohttp.ClientSession | None = None
        self._model_check = model_check_seconds
        self._model: str | None = None
        self._model_checked = float("-inf")

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def parse(self, text: str) -> Parse:
        cleaned = strip_intent_prefix(text)
        try:
            async with asyncio.timeout(self._timeout_seconds):
                response = await self._parser.post({"text": cleaned})
            if response.status != 200:
                logger.warning("NLU answered HTTP %s", response.status)
                raise NluUnavailable(f"HTTP {response.status}")
            payload = json.loads(response.body)
        except (TimeoutError, OSError, HttpError, ValueError) as error:
            logger.warning("NLU unreachable: %s", type(error).__name__)
            raise NluUnavailable(type(error).__name__) from error
        return parse_from_rasa(payload)

    async def model_id(self) -> str | None:
        """The loaded model's id from `GET /status`, checked at most every `model_check_seconds`.

        Between checks (and while Rasa is unreachable) the last known id is kept.
        """
        now = time.monotonic()
        if now - self._model_checked >= self._model_check:
            self._model_checked = now
            self._model = await self._fetch_model_id() or self._model
        return self._model

    async def ready(self) -> bool:
        """Rasa answers now and has a model loaded (for /readyz)."""
        return await self._fetch_model_id() is not None

    async def _fetch_model_id(self) -> str | None:
        session = await self._client()
        try:
            async with session.get(self._base + "/status", params=self._params) as response:
                if response.status != 200:
                    return None
                status = await response.json(content_type=None)
                return str(status.get("model_id") or status.get("model_file") or "") or None
        except (TimeoutError, aiohttp.ClientError, ValueError, AttributeError):
            return None

    async def close(self) -> None:
        self._parser.close()
        if self._session is not None:
            await self._session.close()
