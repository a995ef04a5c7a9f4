"""Gateway metrics: requests, latency, and /sync waiters in flight.

Labels are bounded: the URL rule (not the path, which holds task ids), the method and
the status code.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
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


def install(app: Flask) -> None:
    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        endpoint, method = _endpoint(), request.method
        REQUESTS.labels(endpoint, method, str(response.status_code)).inc()
        if started is not None:
            LATENCY.labels(endpoint, method).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        body, content_type = scrape()
        return Response(body, mimetype=content_type.split(";")[0], content_type=content_type)
