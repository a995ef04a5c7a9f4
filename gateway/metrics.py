"""Gateway metrics: requests, latency, and /sync waiters in flight.

Labels are bounded: the URL rule (not the path, which holds task ids), the method and
the status code.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from flask import Flask, Request, Response
from prometheus_client import Counter, Gauge, Histogram
from werkzeug.routing import Rule

from shared.metrics import scrape

REQUESTS = Counter(
    "browsing_gateway_requests_total",
    "HTTP requests answered by the gateway.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "browsing_gateway_request_duration_seconds",
    "Time to answer an HTTP request (a /sync request includes its wait).",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
SYNC_WAITERS = Gauge(
    "browsing_gateway_sync_waiters",
    "/sync requests waiting for their task right now.",
    multiprocess_mode="livesum",
)
TASKS_SUBMITTED = Counter(
    "browsing_gateway_tasks_submitted_total", "Tasks accepted by the gateway.", ["mode"]
)
LIMITED = Counter(
    "browsing_requests_limited_total",
    "Submits refused with 429 by a per-user limit (max_active, max_queued or rate).",
    ["limit"],
)


# WSGI environ key: the URL rule Flask matched, noted for the request timer, which runs
# outside Flask's request context.
_RULE = "browsing.url_rule"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class _RuleNotingRequest(Request):
    """Flask's request, also noting the matched rule in the WSGI environ."""

    _rule: Rule | None = None

    @property  # type: ignore[override]
    def url_rule(self) -> Rule | None:
        return self._rule

    @url_rule.setter
    def url_rule(self, rule: Rule | None) -> None:
        self._rule = rule
        if rule is not None:
            self.environ[_RULE] = rule.rule


@functools.cache
def _requests(endpoint: str, method: str, status: str) -> Any:
    """The labelled child, kept: ``labels()`` takes a lock and checks its values each time.
    The label sets are bounded (URL rules, methods, status codes), and so is this cache."""
    return REQUESTS.labels(endpoint, method, status)


@functools.cache
def _latency(endpoint: str, method: str) -> Any:
    return LATENCY.labels(endpoint, method)


@functools.cache
def submitted(mode: str) -> Any:
    return TASKS_SUBMITTED.labels(mode)


def install(app: Flask) -> None:
    """Count and time every request in a WSGI wrapper around the app: an after_request
    hook cost the busiest endpoint more than its own validation under load."""
    app.request_class = _RuleNotingRequest
    wsgi_app = app.wsgi_app

    def timed(environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        status = "500"

        def start(line: str, headers: Any, exc_info: Any = None) -> Any:
            nonlocal status
            status = line[:3]
            return start_response(line, headers, exc_info)

        body = wsgi_app(environ, start)
        endpoint = environ.get(_RULE, "unmatched")
        method = environ.get("REQUEST_METHOD", "")
        if method not in _METHODS:  # any string may arrive here: keep the labels bounded
            method = "other"
        _requests(endpoint, method, status).inc()
        _latency(endpoint, method).observe(time.perf_counter() - started)
        return body

    app.wsgi_app = timed  # type: ignore[method-assign]

    @app.get("/metrics")
    def metrics() -> Response:
        body, content_type = scrape()
        return Response(body, mimetype=content_type.split(";")[0], content_type=content_type)


EVENT_STREAMS = Gauge(
    "browsing_gateway_event_streams",
    "Event streams (GET /events) open right now.",
    multiprocess_mode="livesum",
)
STEP_EVENTS = Counter("browsing_gateway_step_events_total", "Step events sent on event streams.")
