"""Fairness: Bob's /sync while Alice holds a backlog of 1,000 tasks, against Bob's /sync
on an idle cluster, measured in the same run.

    .venv/bin/python -m bench.fairness [--backlog 1000] [--tries 20] [--nodes 2]
                                       [--node-concurrency 1] [--server-ms 0]

Target (issue 14): Bob's p50 with the backlog at most 3 times his p50 on the idle
cluster. Binding each task to a node when it is submitted (the design before issue 14)
puts Bob behind the whole backlog: about backlog / slots x task time, which the bench
prints from the task time it measures.

Two nodes of one slot each by default, one page per task (a local page, its title
returned). With two slots per node on this 2-core machine, four Chromium pages share two
cores under the backlog and every task runs about twice as long as on the idle cluster,
whoever schedules it; ``--node-concurrency 2`` shows that too.
Alice's backlog is submitted through /async by a thread pool, then Bob sends his /sync
requests one after another; the bench checks that Alice still has tasks waiting after
Bob's last one, or the loaded side would not have been loaded throughout.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import redis
import requests

from bench.sites import egress_allow
from bench.stats import percentile
from browsing.cluster import LocalCluster, free_port
from shared import keys
from tests.sites.server import serve_sites


def sync_times(
    session: requests.Session, url: str, body: dict, tries: int
) -> tuple[list[float], list[str]]:
    """Seconds each /sync took, and the task ids."""
    times, ids = [], []
    for _ in range(tries):
        start = time.perf_counter()
        resp = session.post(url, json=body, timeout=300)
        times.append(time.perf_counter() - start)
        assert resp.status_code == 200 and resp.json().get("success"), resp.text
        ids.append(resp.json()["task_id"])
    return times, ids


def parts_ms(r: redis.Redis, task_ids: list[str]) -> tuple[float, float]:
    """Median wait for a node (created to started) and run on it (started to finished)."""
    waits, runs = [], []
    for task_id in task_ids:
        h = r.hgetall(keys.task(task_id))
        won = f"a{h['winner']}:"
        waits.append(int(h[won + "started_ms"]) - int(h["created_ms"]))
        runs.append(int(h[won + "finished_ms"]) - int(h[won + "started_ms"]))
    return statistics.median(waits), statistics.median(runs)


def submit_backlog(base_url: str, key: str, body: dict, count: int, threads: int = 16) -> None:
    """POST ``count`` tasks to /async, one keep-alive session per thread."""
    local = threading.local()

    def post(_: int) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["Authorization"] = f"Bearer {key}"
        resp = local.session.post(base_url + "/api/v1/browsing/async", json=body, timeout=60)
        assert resp.status_code == 200, resp.text

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, range(count)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--tries", type=int, default=20)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument(
        "--server-ms",
        type=int,
        default=0,
        help="the page's server answers after this long (the sites' /slow page), as a "
        "page on the internet does; 0: a local page, answered at once",
    )
    parser.add_argument(
        "--node-concurrency",
        type=int,
        default=1,
        help="browsers per node: on a 2-core machine, 2 nodes x 1 keep Chromium from "
        "starving for CPU under the backlog, so that the loaded side measures waiting",
    )
    args = parser.parse_args()
    alice, bob = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    with serve_sites() as sites:
        cluster = LocalCluster(
            node_queues=tuple(f"node.de.{i:02d}" for i in range(1, args.nodes + 1)),
            node_concurrency=args.node_concurrency,
            port=free_port(),
            reuse_services=False,
            env_overrides={
                **egress_allow(sites),
                "BROWSING_API_KEYS": f"alice:{alice},bob:{bob}",
            },
        )
        with cluster:
            r = redis.Redis.from_url(cluster.redis_url, decode_responses=True)
            page = f"{sites}/slow?ms={args.server_ms}" if args.server_ms else f"{sites}/index.html"
            body = {"task": f"Open {page} and return the title"}
            url = cluster.base_url + "/api/v1/browsing/sync"
            bob_session = requests.Session()
            bob_session.headers["Authorization"] = f"Bearer {bob}"
            sync_times(bob_session, url, body, 4)  # warm-up: every node process has run
            idle, idle_ids = sync_times(bob_session, url, body, args.tries)
            started = time.perf_counter()
            submit_backlog(cluster.base_url, alice, body, args.backlog)
            submitted_s = time.perf_counter() - started
            waiting_before = r.zcard(keys.waiting("alice"))
            loaded, loaded_ids = sync_times(bob_session, url, body, args.tries)
            parts = {"idle:  ": parts_ms(r, idle_ids), "loaded:": parts_ms(r, loaded_ids)}
            waiting_after = r.zcard(keys.waiting("alice"))
            # Alice's task time on the nodes, from the records of her finished tasks.
            runs = []
            for task_key in r.scan_iter(keys.task("*"), count=1000):
                h = r.hgetall(task_key)
                if h.get("owner") == "alice" and h.get("winner"):
                    won = f"a{h['winner']}:"
                    runs.append((int(h[won + "finished_ms"]) - int(h[won + "started_ms"])) / 1000)
    slots = args.node_concurrency * args.nodes
    idle_p50, loaded_p50 = statistics.median(idle), statistics.median(loaded)
    task_s = statistics.median(runs) if runs else float("nan")
    page = f"a page served in {args.server_ms} ms" if args.server_ms else "a local page"
    print(f"{args.nodes} nodes, {slots} slots, {page}; Alice's backlog {args.backlog} tasks")
    print(
        f"  submitted in {submitted_s:.1f} s; waiting when Bob started: {waiting_before}, "
        f"after his last: {waiting_after}"
    )
    for name, times in (("idle:  ", idle), ("loaded:", loaded)):
        p50, p95 = statistics.median(times) * 1000, percentile(times, 0.95) * 1000
        wait, run = parts[name]
        print(
            f"Bob {name} p50 {p50:.0f} ms, p95 {p95:.0f} ms; medians: waited {wait:.0f} ms "
            f"for a node, ran {run:.0f} ms on it"
        )
    print(
        f"Alice's task time on a node: median {task_s * 1000:.0f} ms over {len(runs)} tasks; "
        f"binding at submit would make Bob wait about {waiting_before / slots * task_s:.0f} s"
    )
    print(f"ratio (loaded / idle p50): {loaded_p50 / idle_p50:.2f}  (target <= 3)")
    if waiting_after == 0:
        print("WARNING: Alice's backlog ran out before Bob's last try: the figure is not valid")


if __name__ == "__main__":
    main()
