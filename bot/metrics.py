"""Prometheus metrics of one bot service (`GET /metrics`), in a registry of its own.

A registry per app (not the library's global one) so tests can build several
apps in one process. Labels never carry message text or identifiers: only
channels, languages, reasons, record kinds, routes and status codes.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

TURN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.turns = Counter("kasko_turns", "Turns handled", ["channel"], registry=self.registry)
        self.turn_seconds = Histogram(
            "kasko_turn_seconds",
            "Time to handle one turn, NLU included",
            ["channel"],
            buckets=TURN_BUCKETS,
            registry=self.registry,
        )
        self.nlu_errors = Counter(
            "kasko_nlu_errors",
            "NLU calls that failed or were refused by the breaker",
            ["reason"],
            registry=self.registry,
        )
        self.nlu_cache = Counter(
            "kasko_nlu_cache", "Parse cache lookups", ["result"], registry=self.registry
        )
        self.fallbacks = Counter(
            "kasko_fallbacks",
            "Turns answered with a fallback",
            ["language"],
            registry=self.registry,
        )
        self.records = Counter(
            "kasko_records_stored",
            "Records stored (feedback, rating, unanswered)",
            ["kind"],
            registry=self.registry,
        )
        self.requests = Counter(
            "kasko_http_requests",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "kasko_rate_limited", "Requests refused with 429", ["scope"], registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
