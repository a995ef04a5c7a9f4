"""Scheduler metrics. Label sets are bounded: reasons and kinds are fixed words."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import redis
from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from shared.records import TaskStore
from shared.registry import NodeRegistry

log = logging.getLogger(__name__)

DISPATCH_LATENCY = Histogram(
    "browsing_scheduler_dispatch_duration_seconds",
    "Time to bind a task to nodes: record its attempts and publish them (once per "
    "binding; a fanout task bound in several steps counts each).",
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


class ClusterCollector:
    """Cluster-wide figures read from Redis at scrape time: tasks by final status (counted
    by the record scripts), cancelled attempts, each node's liveness and queue depth, and
    the tasks each user has waiting for a node.

    Only the maintenance leader reports them, so that several schedulers do not multiply
    the sums; ``is_leader`` tells this process whether it holds the lease."""

    def __init__(
        self,
        *,
        store: TaskStore,
        registry: NodeRegistry,
        is_leader: Callable[[], bool],
        dead_after_ms: int,
    ) -> None:
        self.store = store
        self.registry = registry
        self.is_leader = is_leader
        self.dead_after_ms = dead_after_ms

    def describe(self) -> list:
        return []  # collected at scrape time only; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        try:
            if not self.is_leader():
                return
            stats = self.store.stats()
            nodes = self.registry.all()
            depths = self.registry.queue_lengths([node.queue for node in nodes])
            waiting_by_user = self.store.waiting_by_owner()
            countries = sorted({node.country.upper() for node in nodes if node.country})
            waiting_where = self.store.waiting_where([*countries, "any", "node"])
        except redis.RedisError as exc:
            log.warning("cluster metrics unavailable: %s", exc)
            return
        finished = CounterMetricFamily(
            "browsing_scheduler_tasks_finished",
            "Tasks that reached a final status, cluster-wide.",
            labels=["status"],
        )
        for status in ("completed", "failed"):
            finished.add_metric([status], float(stats.get(f"tasks_{status}", 0)))
        yield finished
        yield CounterMetricFamily(
            "browsing_scheduler_attempts_cancelled",
            "Attempts cancelled: fanout losers, cancelled tasks, timed-out tasks.",
            value=float(stats.get("attempts_cancelled", 0)),
        )
        depth = GaugeMetricFamily(
            "browsing_scheduler_node_queue_depth",
            "Messages waiting on a node's queue.",
            labels=["node"],
        )
        inflight = GaugeMetricFamily(
            "browsing_scheduler_node_inflight",
            "Attempts assigned to or running on a node.",
            labels=["node"],
        )
        up = GaugeMetricFamily(
            "browsing_scheduler_node_up",
            "1 while a node's heartbeat is fresh and a browser of it is up, else 0.",
            labels=["node", "country"],
        )
        live: dict[str, int] = {}
        now = self.store.now_ms()
        for node, queued in zip(nodes, depths, strict=True):
            is_up = node.live(now, self.dead_after_ms) and node.ready
            depth.add_metric([node.uid], float(queued))
            inflight.add_metric([node.uid], float(node.inflight))
            up.add_metric([node.uid, node.country], float(is_up))
            live[node.country] = live.get(node.country, 0) + int(is_up)
        per_country = GaugeMetricFamily(
            "browsing_scheduler_live_nodes",
            "Live, ready nodes per country (0 for a country whose nodes all died).",
            labels=["country"],
        )
        for country, count in sorted(live.items()):
            per_country.add_metric([country], float(count))
        waiting = GaugeMetricFamily(
            "browsing_scheduler_tasks_waiting",
            "Tasks waiting for a node (late binding), per user.",
            labels=["user"],
        )
        for user, count in sorted(waiting_by_user.items()):
            waiting.add_metric([user], float(count))
        where = GaugeMetricFamily(
            "browsing_scheduler_tasks_waiting_where",
            "Tasks waiting for a node, by where their filter lets them run: a country of "
            "the registered nodes, any (no filter) or node (one node named).",
            labels=["where"],
        )
        for place, count in waiting_where.items():
            where.add_metric([place], float(count))
        yield from (depth, inflight, up, per_country, waiting, where)


WEBHOOK_DELIVERIES = Counter(
    "browsing_webhook_deliveries_total",
    "Webhook tries by outcome: 'delivered' (2xx), 'retry' (failed, tried again later), "
    "'stopped' (410 Gone), 'gave_up' (failed past BROWSING_WEBHOOK_RETRY_FOR_S), "
    "'refused' (by the egress policy), 'expired' (the task record was gone).",
    ["outcome"],
)
WEBHOOK_LATENCY = Histogram(
    "browsing_webhook_delivery_latency_seconds",
    "From a task's finish to its webhook's 2xx answer, retries included.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400),
)
