"""Scheduler metrics. Label sets are bounded: reasons and kinds are fixed words."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DISPATCH_LATENCY = Histogram(
    "browsing_scheduler_dispatch_duration_seconds",
    "Time to route a task and publish its attempts.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
QUEUE_WAIT = Histogram(
    "browsing_scheduler_queue_wait_seconds",
    "From a task's creation to its first placement on nodes.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
ATTEMPTS = Counter(
    "browsing_scheduler_attempts_total",
    "Attempts placed on nodes: 'initial' (one per fanout copy) or 'redispatch'.",
    ["kind"],
)
TASKS_FAILED = Counter(
    "browsing_scheduler_tasks_failed_total",
    "Tasks the scheduler failed itself: 'no_node', 'timeout', 'node_lost', 'dispatch_error'.",
    ["reason"],
)
NODES_DEAD = Counter(
    "browsing_scheduler_nodes_declared_dead_total", "Nodes declared dead after missed heartbeats."
)
