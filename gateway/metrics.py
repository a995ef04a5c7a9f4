"""Gateway metrics: requests, latency, and /sync waiters in flight.

Labels are bounded: the URL rule (not the path, which holds task ids), the method and
the status code.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from flask import Flask, Response, request
from prometheus_client import Counter, Gauge, Histogram

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


def _endpoint() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


@functools.cache
def _requests(endpoint: str, method: str, status: int) -> Any:
    """The labelled child, kept: ``labels()`` takes a lock and checks its values each time.
    The label sets are bounded (URL rules, methods, status codes), and so is this cache."""
    return REQUESTS.labels(endpoint, method, str(status))


@functools.cache
def _latency(endpoint: str, method: str) -> Any:
    return LATENCY.labels(endpoint, method)


@functools.cache
def submitted(mode: str) -> Any:
    return TASKS_SUBMITTED.labels(mode)


_STARTED = "browsing.started"  # the WSGI environ key holding when the request came in


def install(app: Flask) -> None:
    wsgi_app = app.wsgi_app

    def timed(environ: dict[str, Any], start_response: Any) -> Any:
        """Note the start in the environ: cheaper than a before_request hook."""
        environ[_STARTED] = time.perf_counter()
        return wsgi_app(environ, start_response)

    app.wsgi_app = timed  # type: ignore[method-assign]

    @app.after_request
    def _count(response: Response) -> Response:
        started = request.environ.get(_STARTED)
        endpoint, method = _endpoint(), request.method
        _requests(endpoint, method, response.status_code).inc()
        if started is not None:
            _latency(endpoint, method).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        body, content_type = scrape()
        return Response(body, mimetype=content_type.split(";")[0], content_type=content_type)
