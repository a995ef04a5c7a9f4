"""Every process exposes /metrics, and real tasks move the numbers."""

from __future__ import annotations

import time

import requests
from prometheus_client.parser import text_string_to_metric_families


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def test_real_tasks_move_gateway_scheduler_and_node_metrics(cluster, api, sites):
    urls = {name: cluster.metrics_url(name) for name in ("gateway", "scheduler", "node.de.01")}
    before = settled(urls)
    body = {
        "task": f"Open {sites}/index.html and return a screenshot of the page.",
        "filter": {"node_uid": "node.de.01"},
        "screenshots": {"mode": "final_only"},
    }
    for _ in range(2):
        assert api.post("/api/v1/browsing/sync", body).json()["success"] is True
    api.post("/api/v1/browsing/sync", {"task": "x", "filter": {"country_iso": "ZZ"}})
    # A /sync answers once the node has reported. The node counts the attempt, and opens
    # its next warm context, just after that: on a loaded machine a scrape taken at once
    # can come first. So scrape until every figure holds (counters only go up), for
    # ten seconds at most; past that, the failing check's own message is the error.
    deadline = time.monotonic() + 10
    while True:
        after = {name: scrape(url) for name, url in urls.items()}
        try:
            check_figures(before, after)
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)

    # A race of two: the loser is a cancelled attempt.
    raced = api.post("/api/v1/browsing/sync", {"task": "Return the url", "fanout": 2}).json()
    assert raced["status"] == "completed"
    final = scrape(urls["scheduler"])
    cancelled = "browsing_scheduler_attempts_cancelled_total"
    assert value(final, cancelled) - value(after["scheduler"], cancelled) == 1


def settled(urls: dict[str, str]) -> dict:
    """A scrape once what earlier tests left in flight has been counted: the node counts
    an attempt just after reporting it, and the scheduler fails or binds an earlier
    test's tasks when it gets to them, so the figures may still move for a moment after
    that test's answer. Two scrapes half a second apart must agree."""
    figures = {
        "node.de.01": ("browsing_node_attempts_total", "browsing_node_agent_steps_total"),
        "scheduler": (
            "browsing_scheduler_tasks_failed_total",
            "browsing_scheduler_attempts_total",
        ),
    }
    deadline = time.monotonic() + 10
    last = {name: scrape(url) for name, url in urls.items()}
    while True:
        time.sleep(0.5)
        now = {name: scrape(url) for name, url in urls.items()}
        steady = all(
            value(now[name], figure) == value(last[name], figure)
            for name, names in figures.items()
            for figure in names
        )
        if steady or time.monotonic() > deadline:
            return now
        last = now


def check_figures(before: dict, after: dict) -> None:
    def moved(name: str, metric: str, **labels: str) -> float:
        return value(after[name], metric, **labels) - value(before[name], metric, **labels)

    sync_rule = "/api/v1/browsing/sync"
    assert (
        moved("gateway", "browsing_gateway_requests_total", endpoint=sync_rule, status="200") == 3
    )
    assert (
        moved("gateway", "browsing_gateway_request_duration_seconds_count", endpoint=sync_rule) == 3
    )
    assert moved("gateway", "browsing_gateway_tasks_submitted_total", mode="sync") == 3
    assert value(after["gateway"], "browsing_gateway_sync_waiters") == 0
    assert moved("scheduler", "browsing_scheduler_attempts_total", kind="initial") == 2
    assert moved("scheduler", "browsing_scheduler_queue_wait_seconds_count") == 2
    assert moved("scheduler", "browsing_scheduler_tasks_failed_total", reason="no_node") == 1
    # Timed per binding: the task no node matches is failed, never bound.
    assert moved("scheduler", "browsing_scheduler_dispatch_duration_seconds_count") == 2
    # Cluster-wide figures the scheduler reads from Redis at scrape time.
    finished = "browsing_scheduler_tasks_finished_total"
    assert moved("scheduler", finished, status="completed") == 2
    assert moved("scheduler", finished, status="failed") == 1
    assert value(after["scheduler"], "browsing_scheduler_node_up", node="node.de.01") == 1
    assert value(after["scheduler"], "browsing_scheduler_live_nodes", country="DE") == 1
    assert value(after["scheduler"], "browsing_scheduler_live_nodes", country="US") == 1
    assert ("browsing_scheduler_node_queue_depth", frozenset({("node", "node.us.01")})) in after[
        "scheduler"
    ]
    assert value(after["scheduler"], "browsing_scheduler_node_inflight", node="node.de.01") == 0
    assert moved("node.de.01", "browsing_node_attempts_total", outcome="won") == 2
    assert moved("node.de.01", "browsing_node_attempt_duration_seconds_count", outcome="won") == 2
    assert moved("node.de.01", "browsing_node_agent_steps_total") == 4  # open, screenshot; twice
    assert moved("node.de.01", "browsing_node_screenshots_uploaded_total") == 2
    assert moved("node.de.01", "browsing_node_screenshot_bytes_total") > 2 * 1000
    assert moved("node.de.01", "browsing_node_s3_upload_duration_seconds_count") == 2
    assert value(after["node.de.01"], "browsing_node_browser_launches_total") >= 2
    # Each of the node's processes keeps one warm context open between tasks.
    assert value(after["node.de.01"], "browsing_node_open_contexts") == 2


def test_metric_labels_never_hold_task_ids(cluster, api, sites):
    task_id = api.submit({"task": f"Open {sites}/index.html"})
    api.wait(task_id)
    api.get("/api/v1/browsing/status", params={"task_id": task_id})
    for name in ("gateway", "scheduler", "node.de.01"):
        text = requests.get(cluster.metrics_url(name), timeout=10).text
        assert task_id not in text and "web:" not in text


def test_request_labels_stay_bounded_whatever_the_method(cluster):
    """Any token is a valid HTTP method: the label is 'other', not the client's string."""
    url = cluster.metrics_url("gateway")
    before = scrape(url)
    for method in ("BREW", "PROPFIND", "BREW"):
        resp = requests.request(method, f"{cluster.base_url}/api/v1/browsing/status", timeout=10)
        assert resp.status_code == 405, resp.text
        assert resp.json() == {"error": "method not allowed"}
    after = scrape(url)
    requests_total = "browsing_gateway_requests_total"
    moved = value(after, requests_total, endpoint="unmatched", method="other", status="405")
    assert moved - value(before, requests_total, method="other", status="405") == 3
    assert not [labels for (name, labels) in after if ("method", "BREW") in labels]
    timed = "browsing_gateway_request_duration_seconds_count"
    assert value(after, timed, method="other") - value(before, timed, method="other") == 3
