"""Waiters: 2,000 concurrent /sync requests held by one gateway, then woken.

    .venv/bin/python -m bench.waiters [--waiters 2000]

The cluster's only node is paused (SIGSTOP, and a long dead-node window), so the tasks
are placed on it and stay unfinished while every /sync request is held. Then each is
cancelled through the API (``--cancel-concurrency`` at a time); the wake-up latency of a
waiter is the time from the task record's final write (``finished_ms``, written by the
Lua script with the machine's clock) to its /sync answer. The baseline printed beside it
is the cancel round trip itself, measured in the same run.

Targets (issue 6): all answered correctly; gateway RSS <= 500 MB while holding them;
wake-up p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import time
import urllib.request

import redis

from browsing.cluster import LocalCluster, descendants, free_port
from shared import keys


async def http(
    host: str, port: int, method: str, path: str, key: str, body: dict | None = None
) -> tuple[int, dict]:
    """One HTTP/1.1 request on its own connection (the stdlib has no async client)."""
    reader, writer = await asyncio.open_connection(host, port)
    data = json.dumps(body).encode() if body is not None else b""
    writer.write(
        f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        "Connection: close\r\n\r\n".encode()
        + data
    )
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"chunked" in head.lower():  # not used by gunicorn for JSON, but be safe
        raise RuntimeError("unexpected chunked reply")
    return status, json.loads(payload or b"{}")


def rss_mb(pid: int) -> float:
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def sync_waiters(metrics_url: str) -> float:
    text = urllib.request.urlopen(metrics_url, timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith("browsing_gateway_sync_waiters"):
            return float(line.split()[-1])
    return 0.0


async def run(cluster: LocalCluster, waiters: int, cancel_concurrency: int) -> dict:
    host, port, key = "127.0.0.1", cluster.port, cluster.api_key
    api = "/api/v1/browsing"
    task = {"task": "Return the url"}

    async def hold(_: int) -> tuple[int, dict, float]:
        status, body = await http(host, port, "POST", f"{api}/sync", key, task)
        return status, body, time.time()

    holders = [asyncio.create_task(hold(i)) for i in range(waiters)]
    deadline = time.monotonic() + 120
    r = redis.Redis.from_url(cluster.redis_url, decode_responses=True)
    # Held: every request is waiting and every task is stored (a /sync request counts as
    # a waiter from before its record is written, so that no wake-up can be missed).
    while (
        sync_waiters(cluster.metrics_url("gateway")) < waiters or r.zcard(keys.DEADLINES) < waiters
    ):
        if time.monotonic() > deadline:
            raise SystemExit("the gateway did not hold every /sync request within 120 s")
        await asyncio.sleep(0.5)
    held_rss = rss_mb(cluster.procs["gateway"].pid)
    # The ids of the held tasks: every unfinished task of this cluster.
    ids = r.zrange(keys.DEADLINES, 0, -1)
    assert len(ids) == waiters, (len(ids), waiters)

    cancelled_at: dict[str, float] = {}
    cancel_rtt: list[float] = []
    sem = asyncio.Semaphore(cancel_concurrency)

    async def cancel(task_id: str) -> None:
        async with sem:
            start = time.perf_counter()
            status, _ = await http(host, port, "POST", f"{api}/cancel?task_id={task_id}", key)
            cancelled_at[task_id] = time.perf_counter()
            cancel_rtt.append(cancelled_at[task_id] - start)
            assert status == 200, status

    await asyncio.gather(*(cancel(t) for t in ids))
    results = await asyncio.gather(*holders)
    wake = []
    for status, body, answered in results:
        assert status == 200 and body["status"] == "failed" and body["error"] == "cancelled", body
        finished_ms = int(r.hget(keys.task(body["task_id"]), "finished_ms"))
        wake.append(answered - finished_ms / 1000)
    return {"rss_mb": held_rss, "wake": wake, "cancel_rtt": cancel_rtt}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--waiters", type=int, default=2000)
    parser.add_argument("--cancel-concurrency", type=int, default=10)
    args = parser.parse_args()
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    cluster = LocalCluster(
        node_queues=("node.de.01",),
        node_concurrency=1,
        port=free_port(),
        reuse_services=False,
        env_overrides={"BROWSING_GATEWAY_WORKERS": "1", "BROWSING_NODE_DEAD_AFTER_S": "3600"},
    )
    with cluster:
        node = cluster.procs["node.de.01"].pid
        os.killpg(node, signal.SIGSTOP)  # the tasks are placed on it but never start
        try:
            idle_rss = rss_mb(cluster.procs["gateway"].pid)
            figures = asyncio.run(run(cluster, args.waiters, args.cancel_concurrency))
        finally:
            os.killpg(node, signal.SIGCONT)
    wake = sorted(figures["wake"])
    p50, p95 = statistics.median(wake), wake[int(0.95 * (len(wake) - 1))]
    rtt = statistics.median(figures["cancel_rtt"])
    print(f"{args.waiters} /sync requests held, all answered 200 with the right body")
    print(f"gateway RSS: {idle_rss:.0f} MB idle, {figures['rss_mb']:.0f} MB holding them")
    print(f"wake-up after the task's final write: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")
    print(f"baseline, the cancel round trip itself: median {rtt * 1000:.1f} ms")
    print(
        f"targets: RSS <= 500 MB ({'met' if figures['rss_mb'] <= 500 else 'missed'}), "
        f"wake-up p95 <= 100 ms ({'met' if p95 <= 0.1 else 'missed'})"
    )


if __name__ == "__main__":
    main()
