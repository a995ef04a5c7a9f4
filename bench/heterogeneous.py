"""Heterogeneous nodes: 400 tasks on two nodes, one about three times slower, drained
in how long against the ideal computed from each node's own task time and slots.

    .venv/bin/python -m bench.heterogeneous [--tasks 400] [--calibrate 40]
                                            [--slow-delay 2.0] [--slow-nice 19]

Target (issue 14): drain time at most 1.2 times the ideal.

The slow node is slowed as in bench/fanout.py: its page loads go through a proxy that
delays them by ``--slow-delay``, and its processes run at the lowest CPU priority.

Each node's task time is measured first, in the same run: ``--calibrate`` tasks pinned
to each node (``filter.node_uid``), both nodes at once so that they share the CPU as in
the drain. A node's throughput is the tasks it finished while both were busy, over that
span; that is its slots divided by its task time, turnaround between tasks included.
The ideal drain is tasks / (sum of the throughputs): every slot of both nodes busy from
the first submit to the last result. Binding at submit would give each node
half of the tasks, and the drain would be the slow node's half; late binding gives the
fast node the larger share.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import redis
import requests

from bench.fanout import SlowHostsCluster, low_priority_prefix
from bench.sites import egress_allow
from browsing.cluster import free_port
from shared import keys
from tests.sites.server import serve_sites
from tests.support.slow_proxy import slow_proxy

FAST, SLOW = "node.de.01", "node.de.02"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--calibrate", type=int, default=40, help="tasks pinned to each node")
    parser.add_argument(
        "--slow-delay",
        type=float,
        default=2.0,
        help="seconds added to each of the slow node's pages (2 s makes its task about "
        "three times the fast node's on this 2-core machine, both nodes busy)",
    )
    parser.add_argument("--slow-nice", type=int, default=19)
    args = parser.parse_args()
    with serve_sites() as sites, slow_proxy(args.slow_delay) as proxy:
        slow_env = {"BROWSING_NODE_PROXY": proxy, "BROWSING_NODE_PROXY_BYPASS": "<-loopback>"}
        cluster = SlowHostsCluster(
            node_queues=(FAST, SLOW),
            port=free_port(),
            reuse_services=False,
            env_overrides=egress_allow(sites),
            node_env={SLOW: slow_env},
            prefixes={SLOW: low_priority_prefix(args.slow_nice)},
        )
        with cluster:
            r = redis.Redis.from_url(cluster.redis_url, decode_responses=True)
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {cluster.api_key}"
            body = {"task": f"Open {sites}/index.html?slow=1 and return the title"}
            for node in (FAST, SLOW, FAST, SLOW):  # warm-up: both nodes have run a task
                warm = {**body, "filter": {"node_uid": node}}
                resp = session.post(cluster.base_url + "/api/v1/browsing/sync", json=warm)
                assert resp.json().get("success"), resp.text
            pinned = [{**body, "filter": {"node_uid": node}} for node in (FAST, SLOW)]
            calibration = submit_all(cluster, pinned * args.calibrate)
            drain(r, calibration)
            throughput = node_throughput(
                r, calibration, [b["filter"]["node_uid"] for b in pinned * args.calibrate]
            )
            started = time.perf_counter()
            ids = submit_all(cluster, [body] * args.tasks)
            submitted_s = time.perf_counter() - started
            drain(r, ids)
            drain_s = time.perf_counter() - started
            ran = Counter(
                r.hget(keys.task(t), f"a{r.hget(keys.task(t), 'winner')}:node") for t in ids
            )
    total = sum(throughput.values())
    ideal_s = args.tasks / total
    print(f"{args.tasks} tasks, submitted in {submitted_s:.1f} s, drained in {drain_s:.1f} s")
    for uid in (FAST, SLOW):
        print(
            f"  {uid}: {throughput[uid]:.2f} tasks/s, both nodes busy "
            f"(task time {2 / throughput[uid] * 1000:.0f} ms per slot); "
            f"ran {ran[uid] / args.tasks:.0%} of the tasks (ideal {throughput[uid] / total:.0%})"
        )
    print(f"slow / fast task time: {throughput[FAST] / throughput[SLOW]:.2f}")
    print(
        f"ideal drain {ideal_s:.1f} s; ratio (drain / ideal): {drain_s / ideal_s:.2f}  "
        "(target <= 1.2)"
    )


def submit_all(cluster: SlowHostsCluster, bodies: list[dict], threads: int = 16) -> list[str]:
    """POST each body to /async; the task ids, in order."""
    local = threading.local()

    def post(body: dict) -> str:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["Authorization"] = f"Bearer {cluster.api_key}"
        resp = local.session.post(cluster.base_url + "/api/v1/browsing/async", json=body)
        assert resp.status_code == 200, resp.text
        return resp.json()["task_id"]

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(post, bodies))


def drain(r: redis.Redis, ids: list[str], timeout_s: float = 1800) -> None:
    """Until every task of ``ids`` completed; any failure stops the bench."""
    deadline = time.monotonic() + timeout_s
    pending = list(ids)
    while pending:
        assert time.monotonic() < deadline, f"{len(pending)} tasks not done in {timeout_s:g} s"
        pipe = r.pipeline(transaction=False)
        for task_id in pending:
            pipe.hget(keys.task(task_id), "status")
        statuses = pipe.execute()
        failed = [t for t, s in zip(pending, statuses, strict=True) if s == "failed"]
        assert not failed, f"{len(failed)} tasks failed: {r.hget(keys.task(failed[0]), 'error')}"
        pending = [t for t, s in zip(pending, statuses, strict=True) if s != "completed"]
        if pending:
            time.sleep(0.05)


def node_throughput(r: redis.Redis, ids: list[str], nodes: list[str]) -> dict[str, float]:
    """Tasks per second of each node, over the span when every node was busy with its
    pinned tasks (from the latest first claim to the earliest last result): the node
    that finishes its share first leaves the other the whole CPU, which the drain will
    not, so the time after that does not count."""
    runs: dict[str, list[tuple[int, int]]] = {}
    for task_id, node in zip(ids, nodes, strict=True):
        h = r.hgetall(keys.task(task_id))
        won = f"a{h['winner']}:"
        runs.setdefault(node, []).append((int(h[won + "started_ms"]), int(h[won + "finished_ms"])))
    start = max(min(s for s, _ in spans) for spans in runs.values())
    end = min(max(e for _, e in spans) for spans in runs.values())
    return {
        node: sum(1 for s, e in spans if start <= e <= end) / ((end - start) / 1000)
        for node, spans in runs.items()
    }


if __name__ == "__main__":
    main()
