"""Placement rate: how fast the scheduler places a burst of queued tasks on nodes, against
the least that placing them costs, the Celery publishes of their browse messages, done
by one process in the same run on the same Redis.

    .venv/bin/python -m bench.placement [--tasks 10000] [--batch 50] [--pool solo]

The records are written first and the dispatch messages (``--batch`` task ids each, as
the gateway's group commit sends them) are then published at once to the scheduler, which
routes each task, records its attempt (assign.lua), publishes its browse message and marks
it published. Four nodes are registered and heartbeat, but nothing consumes their queues,
so no browser competes for the cores: what is measured is the scheduler alone. The clock
stops when no task is left queued.

``--pool threads`` runs the scheduler as it ran before (``--pool threads -c 8``), to show
why it moved to the solo pool.
"""

from __future__ import annotations

import argparse
import threading
import time

import redis

from browsing.cluster import LocalCluster, free_port
from shared import keys
from shared.config import Settings
from shared.records import NewTask, TaskStore
from shared.registry import NodeRegistry
from shared.request import TaskRequest
from shared.services import (
    BROWSE_TASK,
    DISPATCH_MANY_TASK,
    SCHEDULER_QUEUE,
    celery_app,
    publish_options,
    redis_client,
)

NODES = ("p1", "p2", "p3", "p4")
TEN_MIN = 600_000


class Cluster(LocalCluster):
    pool: str = "solo"

    def scheduler_argv(self) -> list[str]:
        argv = super().scheduler_argv()
        if self.pool == "solo":
            return argv
        i = argv.index("solo")
        return [*argv[:i], self.pool, "-c", "8", *argv[i + 1 :]]


def fake_nodes(registry: NodeRegistry, store: TaskStore, stop: threading.Event) -> None:
    """Registered, ready and heartbeating nodes whose queues nobody reads."""
    for uid in NODES:
        registry.register(
            uid=uid,
            country="DE",
            queue=f"bench.placement.{uid}",
            capacity=1_000_000,
            version="bench",
            hostname="bench",
            now_ms=store.now_ms(),
        )
        registry.browser_up(uid, 1)

    def beat() -> None:
        while not stop.wait(1):
            for uid in NODES:
                registry.heartbeat(uid, now_ms=store.now_ms())

    threading.Thread(target=beat, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=50, help="task ids per dispatch message")
    parser.add_argument("--pool", default="solo", choices=("solo", "threads"))
    args = parser.parse_args()
    cluster = Cluster(node_queues=(), port=free_port(), reuse_services=False)
    cluster.pool = args.pool
    stop = threading.Event()
    with cluster:
        settings = Settings(redis_url=cluster.redis_url)
        store = TaskStore(redis_client(settings), record_ttl_s=3600)
        client = redis.Redis.from_url(cluster.redis_url)
        app = celery_app("bench-placement", settings)
        fake_nodes(NodeRegistry(store.redis), store, stop)

        # Baseline: the browse messages alone, published by one process.
        started = time.perf_counter()
        for i in range(args.tasks):
            app.send_task(
                BROWSE_TASK,
                args=[f"web:{i:032x}", 1],
                queue=f"bench.baseline.{NODES[i % len(NODES)]}",
                argsrepr="[]",
                **publish_options(),  # as the scheduler publishes
            )
        baseline_s = time.perf_counter() - started

        batches = []
        for b in range(0, args.tasks, args.batch):
            tasks = [
                NewTask.of(
                    f"web:{i:032x}", owner="b", request=TaskRequest(task="x", timeout_ms=TEN_MIN)
                )
                for i in range(b, min(args.tasks, b + args.batch))
            ]
            store.create_many(tasks)
            batches.append([t.task_id for t in tasks])
        started = time.perf_counter()
        for ids in batches:
            app.send_task(
                DISPATCH_MANY_TASK, args=[ids], queue=SCHEDULER_QUEUE, **publish_options()
            )
        while client.zcard(keys.QUEUED) and time.perf_counter() - started < 600:
            time.sleep(0.02)
        placed_s = time.perf_counter() - started
        left = client.zcard(keys.QUEUED)
        published = sum(client.llen(f"bench.placement.{uid}") for uid in NODES)
        stop.set()
    if left:
        raise SystemExit(f"{left} tasks still queued after {placed_s:.0f} s")
    print(f"browse messages published by one process: {args.tasks / baseline_s:.0f} per s")
    print(
        f"tasks placed by the scheduler (--pool {args.pool}): {args.tasks / placed_s:.0f} per s "
        f"({args.tasks} tasks, {args.batch} per dispatch message; {published} browse messages)"
    )
    print(f"ratio (placing / publishing alone): {baseline_s / placed_s:.2f}")


if __name__ == "__main__":
    main()
