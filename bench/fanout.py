"""Fanout: time to result racing 3 nodes (one fast, two slow) against fanout 1 on the fast
node, measured in the same run; and how fast the losers stop.

    .venv/bin/python bench/fanout.py [--runs 20] [--slow-delay 1.0] [--settle 2]

Targets (issue 3): median ratio <= 1.1; loser stop latency p95 <= 1000 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import redis
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared import keys  # noqa: E402
from shared.cluster import LocalCluster, free_port  # noqa: E402
from tests.sites.server import serve_sites  # noqa: E402
from tests.support.slow_proxy import slow_proxy  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


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
    args = parser.parse_args()
    with serve_sites() as sites, slow_proxy(args.slow_delay) as proxy:
        slow = {"BROWSING_NODE_PROXY": proxy, "BROWSING_NODE_PROXY_BYPASS": "<-loopback>"}
        cluster = LocalCluster(
            node_queues=("node.de.01", "node.de.02", "node.de.03"),
            port=free_port(),
            reuse_services=False,
            node_env={"node.de.02": slow, "node.de.03": slow},
        )
        with cluster:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {cluster.api_key}"
            task = f"Open {sites}/index.html?slow=1 and return the title"
            single = {"task": task, "filter": {"node_uid": "node.de.01"}}
            race = {"task": task, "filter": {"country_iso": "DE"}, "fanout": 3}
            times: dict[str, list[float]] = {"single": [], "race": []}
            # Where the time goes, from the task record (epoch ms): the winner's run on
            # its node, and from the record's final write to the client's answer.
            parts: dict[str, list[tuple[int, int]]] = {"single": [], "race": []}
            r = redis.Redis.from_url(cluster.redis_url, decode_responses=True)
            stops: list[float] = []
            race_ids = []
            for i in range(args.runs + 2):
                for name, body in (("single", single), ("race", race)):
                    time.sleep(args.settle)
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
    print(f"fanout 1 on the fast node: median {single_med * 1000:.0f} ms ({args.runs} runs)")
    print(
        f"fanout 3 (1 fast, 2 slow at +{args.slow_delay:g} s/request): "
        f"median {race_med * 1000:.0f} ms ({args.runs} runs)"
    )
    for name in ("single", "race"):
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
