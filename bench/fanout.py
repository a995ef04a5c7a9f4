"""Fanout: time to result racing 3 nodes (one fast, two slow) against fanout 1 on the fast
node, measured in the same run; and how fast the losers stop.

    .venv/bin/python bench/fanout.py [--runs 20] [--slow-delay 1.0]

Targets (issue 3): median ratio <= 1.1; loser stop latency p95 <= 1000 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
            stops: list[float] = []
            race_ids = []
            for i in range(args.runs + 2):
                for name, body in (("single", single), ("race", race)):
                    start = time.perf_counter()
                    resp = session.post(
                        cluster.base_url + "/api/v1/browsing/sync", json=body, timeout=120
                    )
                    elapsed = time.perf_counter() - start
                    result = resp.json()
                    assert result.get("success"), result
                    if i >= 2:  # warm-up
                        times[name].append(elapsed)
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
    print(f"ratio (fanout 3 / fanout 1): {race_med / single_med:.2f}  (target <= 1.1)")
    if stops:
        print(
            f"loser stop latency: p50 {percentile(stops, 0.5):.0f} ms, "
            f"p95 {percentile(stops, 0.95):.0f} ms over {len(stops)} losers  (target p95 <= 1000)"
        )


if __name__ == "__main__":
    main()
