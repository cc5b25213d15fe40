"""Prometheus metrics. With several workers, prometheus_client's multiprocess mode aggregates them
(``candor serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker starts)."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

REQUESTS = Counter("candor_requests_total", "Chat requests answered, by model and HTTP status",
                   ["model", "status"])
LATENCY = Histogram("candor_request_duration_seconds", "Time to answer a chat request (to the last byte)",
                    ["model", "status"], buckets=_BUCKETS)
UPSTREAM_LATENCY = Histogram("candor_upstream_first_byte_seconds",
                             "Time from calling the provider to its first reply object", ["model"],
                             buckets=_BUCKETS)
UPSTREAM_ERRORS = Counter("candor_upstream_errors_total", "Provider failures, by model and error code",
                          ["model", "code"])
REFUSALS = Counter("candor_refusals_total", "Requests refused by a rule, by code", ["code"])
GUARD_CALLS = Counter("candor_guard_calls_total",
                      "Guard-model calls, by guard model, format and outcome (ok, timeout, error, garbage)",
                      ["model", "format", "outcome"])
GUARD_LATENCY = Histogram("candor_guard_duration_seconds", "Time a guard model took to answer (or fail)",
                          ["model", "format"], buckets=_BUCKETS)
GUARD_UNAVAILABLE = Counter("candor_guard_unavailable_total",
                            "Requests whose guard model did not answer usably, by what on_error did (local, refuse)",
                            ["on_error"])
OVERLOAD = Counter("candor_overload_total",
                   "Requests answered 503 because a per-worker limit was reached (server_busy: server.max_in_flight; "
                   "upstream_pool_exhausted: upstream.max_connections)", ["code"])
PROTOCOL_ERRORS = Counter("candor_protocol_errors_total",
                          "Requests refused by the HTTP server before the app ran (malformed, head too large)",
                          ["code"])


def render() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


_children: dict[tuple[str, int], tuple[Any, Any, Any]] = {}


def observe(model: str, status: int, seconds: float, upstream_ms: float | None) -> None:
    # labelled children looked up once per (model, status), not three locked lookups per request
    key = (model, status)
    child = _children.get(key)
    if child is None:
        s = str(status)
        child = _children[key] = (REQUESTS.labels(model, s), LATENCY.labels(model, s), UPSTREAM_LATENCY.labels(model))
    child[0].inc()
    child[1].observe(seconds)
    if upstream_ms is not None:
        child[2].observe(upstream_ms / 1000.0)
