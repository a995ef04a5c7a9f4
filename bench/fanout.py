"""Fanout: time to result racing 3 nodes (one fast, two slow) against fanout 1 on the fast
node, measured in the same run; and how fast the losers stop.

    .venv/bin/python -m bench.fanout [--runs 20] [--slow-delay 1.0] [--settle 2] [--slow-nice 19]
                                     [--shared-cores]

Targets (issue 3): median ratio <= 1.1; loser stop latency p95 <= 1000 ms.

Fanout is for nodes on different hosts; here all three share one machine. The fast node
is given a host of its own: CPU 0 is its alone, and everything else (the slow nodes, the
gateway, the scheduler, Redis, S3, the pages and this client) runs on CPU 1, in both sides
of the comparison. A slow node is a slow host in both ways: its requests go through a
proxy that delays them, and its processes run at the lowest CPU priority
(``--slow-nice``, without CAP_SYS_NICE, so that Chromium cannot raise its threads back).

``--shared-cores`` lets every process use both cores instead. The fast node then loses
time to any concurrent work, however low its priority: a third side runs fanout 1 beside
a busy loop at SCHED_IDLE priority to show how much (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import redis
import requests

from bench.sites import egress_allow
from bench.stats import percentile
from browsing.cluster import LocalCluster, free_port
from shared import keys
from tests.sites.server import serve_sites
from tests.support.slow_proxy import slow_proxy


@dataclass
class SlowHostsCluster(LocalCluster):
    """A LocalCluster whose nodes start under a command prefix per queue (nice, setpriv,
    taskset)."""

    prefixes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def node_argv(self, queue: str) -> list[str]:
        return [*self.prefixes.get(queue, ()), *super().node_argv(queue)]


@contextlib.contextmanager
def idle_priority_busy_loop(*, enabled: bool) -> Iterator[None]:
    """A process spinning at SCHED_IDLE (Linux: it runs only when nothing else wants a
    core), or nothing. Shows whether this machine's two vCPUs isolate work from other
    work the way separate hosts would."""
    if not enabled:
        yield
        return
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        os.sched_setscheduler(spin.pid, os.SCHED_IDLE, os.sched_param(0))
        time.sleep(0.2)  # running before the request starts
        yield
    finally:
        spin.kill()
        spin.wait()


def low_priority_prefix(niceness: int) -> tuple[str, ...]:
    if niceness <= 0:
        return ()
    prefix: tuple[str, ...] = ("nice", "-n", str(niceness))
    if os.geteuid() == 0 and shutil.which("setpriv"):
        # As root, Chromium raises some of its threads to nice -8; without the capability
        # it cannot, and the whole slow node stays below everything else.
        prefix = ("setpriv", "--inh-caps=-sys_nice", "--bounding-set=-sys_nice", *prefix)
    return prefix


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--slow-delay", type=float, default=1.0, help="seconds per request")
    parser.add_argument(
        "--settle",
        type=float,
        default=2.0,
        help="idle seconds before each run, so a run "
        "does not pay for the previous race's losers closing their pages",
    )
    parser.add_argument(
        "--slow-nice",
        type=int,
        default=19,
        help="CPU niceness of the slow nodes, standing in for other hosts (0: equals)",
    )
    parser.add_argument(
        "--shared-cores",
        action="store_true",
        help="do not give the fast node a core of its own: all processes share both cores",
    )
    args = parser.parse_args()
    fast_prefix: tuple[str, ...] = ()
    pin = not args.shared_cores and len(os.sched_getaffinity(0) & {0, 1}) == 2
    if pin:
        os.sched_setaffinity(0, {1})  # inherited by every process the bench starts...
        fast_prefix = ("taskset", "-c", "0")  # ...but the fast node
    slow_prefix = low_priority_prefix(args.slow_nice)
    with serve_sites() as sites, slow_proxy(args.slow_delay) as proxy:
        slow = {"BROWSING_NODE_PROXY": proxy, "BROWSING_NODE_PROXY_BYPASS": "<-loopback>"}
        cluster = SlowHostsCluster(
            node_queues=("node.de.01", "node.de.02", "node.de.03"),
            port=free_port(),
            reuse_services=False,
            env_overrides=egress_allow(sites),  # the slow proxy, their upstream, needs none
            node_env={"node.de.02": slow, "node.de.03": slow},
            prefixes={
                "node.de.01": fast_prefix,
                "node.de.02": slow_prefix,
                "node.de.03": slow_prefix,
            },
        )
        with cluster:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {cluster.api_key}"
            task = f"Open {sites}/index.html?slow=1 and return the title"
            single = {"task": task, "filter": {"node_uid": "node.de.01"}}
            race = {"task": task, "filter": {"country_iso": "DE"}, "fanout": 3}
            sides = ("single", "single+idle", "race")
            times: dict[str, list[float]] = {name: [] for name in sides}
            # Where the time goes, from the task record (epoch ms): the winner's run on
            # its node, and from the record's final write to the client's answer.
            parts: dict[str, list[tuple[int, int]]] = {name: [] for name in sides}
            r = redis.Redis.from_url(cluster.redis_url, decode_responses=True)
            stops: list[float] = []
            race_ids = []
            for i in range(args.runs + 2):
                for name, body in (("single", single), ("single+idle", single), ("race", race)):
                    time.sleep(args.settle)
                    with idle_priority_busy_loop(enabled=name == "single+idle"):
                        start = time.perf_counter()
                        resp = session.post(
                            cluster.base_url + "/api/v1/browsing/sync", json=body, timeout=120
                        )
                        elapsed = time.perf_counter() - start
                    answered_ms = time.time() * 1000
                    result = resp.json()
                    assert result.get("success"), result
                    h = r.hgetall(keys.task(result["task_id"]))
                    won = f"a{h['winner']}:"
                    run_ms = int(h[won + "finished_ms"]) - int(h[won + "started_ms"])
                    wake_ms = int(answered_ms - int(h["finished_ms"]))
                    if i >= 2:  # warm-up
                        times[name].append(elapsed)
                        parts[name].append((run_ms, wake_ms))
                        if name == "race":
                            race_ids.append(result["task_id"])
            time.sleep(2)  # let the last losers record their stop
            for task_id in race_ids:
                status = session.get(
                    cluster.base_url + "/api/v1/browsing/status",
                    params={"task_id": task_id},
                    timeout=30,
                ).json()
                stops += [
                    a["stop_latency_ms"]
                    for a in status["info"]["attempts"]
                    if a["outcome"] == "cancelled" and a["stop_latency_ms"] is not None
                ]
    single_med, race_med = statistics.median(times["single"]), statistics.median(times["race"])
    idle_med = statistics.median(times["single+idle"])
    print(f"fanout 1 on the fast node: median {single_med * 1000:.0f} ms ({args.runs} runs)")
    print(
        f"fanout 1 beside one busy loop at idle CPU priority: median {idle_med * 1000:.0f} ms "
        f"(x{idle_med / single_med:.2f}: what any other work on this machine's cores costs)"
    )
    if pin:
        print("pinned: the fast node alone on CPU 0, everything else on CPU 1")
    print(
        f"fanout 3 (1 fast, 2 slow at +{args.slow_delay:g} s/request, nice {args.slow_nice}): "
        f"median {race_med * 1000:.0f} ms ({args.runs} runs)"
    )
    for name in sides:
        run_ms = statistics.median(p[0] for p in parts[name])
        wake_ms = statistics.median(p[1] for p in parts[name])
        print(
            f"  {name}: winner's run on its node {run_ms:.0f} ms, "
            f"final write to answer {wake_ms:.0f} ms"
        )
    print(f"ratio (fanout 3 / fanout 1): {race_med / single_med:.2f}  (target <= 1.1)")
    if stops:
        print(
            f"loser stop latency: p50 {percentile(stops, 0.5):.0f} ms, "
            f"p95 {percentile(stops, 0.95):.0f} ms over {len(stops)} losers  (target p95 <= 1000)"
        )


if __name__ == "__main__":
    main()
