"""Event streams: N concurrent GET /events streams held by one gateway worker, with
step events written at a steady rate; gateway RSS growth and step-event latency.

    .venv/bin/python -m bench.events [--streams 1000] [--steps 5] [--rate 200]

The cluster's only node is paused (SIGSTOP, and a long dead-node window), so the tasks
are placed on it and never start. The bench then plays that node: it claims each attempt
and writes its steps through the node's own write path (``EventLog.add_step``: the step
script's XADD and PUBLISH), ``--rate`` steps per second in all, round robin over the
tasks. A step's latency is from its write (the stream entry's id: Redis's clock, this
machine's) to its arrival in the client. Last, every task is cancelled through the API
and each stream must end with its final status, having got every step once, in order.

Targets (issue 15): gateway RSS growth <= 200 MB for 1,000 streams; step-event latency
p95 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time

import redis

from bench.waiters import http, rss_mb
from browsing.cluster import LocalCluster, free_port
from shared import keys
from shared.events import EventLog, StepEvent
from shared.records import TaskStore

NODE = "node.de.01"
API = "/api/v1/browsing"


class Stream:
    """One SSE client on its own HTTP/1.0 connection (no chunked framing to undo)."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        self.statuses: list[str] = []
        self.steps: list[int] = []
        self.latency_s: list[float] = []
        self.ended = False
        self.ready = asyncio.Event()  # the first status event arrived

    async def run(self, host: str, port: int, key: str) -> None:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        writer.write(
            f"GET {API}/events?task_id={self.task_id} HTTP/1.0\r\nHost: {host}\r\n"
            f"Authorization: Bearer {key}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"stream {self.task_id}: {head[:200]!r}")
        event_id, name, data = "", "", ""
        while line := await reader.readline():
            text = line.decode().rstrip("\r\n")
            if text.startswith("id: "):
                event_id = text[4:]
            elif text.startswith("event: "):
                name = text[7:]
            elif text.startswith("data: "):
                data = text[6:]
            elif text == "" and data:
                self._got(event_id, name, json.loads(data), time.time())
                data = ""
        writer.close()

    def _got(self, event_id: str, name: str, data: dict, now_s: float) -> None:
        if name == "step":
            self.latency_s.append(now_s - int(event_id.partition("-")[0]) / 1000)
            self.steps.append(data["index"])
        elif name == "status":
            self.statuses.append(data["status"])
            self.ready.set()
            self.ended = event_id == "end"


def open_streams_gauge(metrics_url: str) -> float:
    import urllib.request

    text = urllib.request.urlopen(metrics_url, timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith("browsing_gateway_event_streams"):
            return float(line.split()[-1])
    return 0.0


async def submit_all(host: str, port: int, key: str, n: int) -> list[str]:
    sem = asyncio.Semaphore(20)

    async def one(_: int) -> str:
        async with sem:
            status, body = await http(host, port, "POST", f"{API}/async", key, {"task": "Wait"})
            assert status == 200, (status, body)
            return str(body["task_id"])

    return await asyncio.gather(*(one(i) for i in range(n)))


async def run(cluster: LocalCluster, n: int, steps: int, rate: float) -> dict:
    host, port, key = "127.0.0.1", cluster.port, cluster.api_key
    r = redis.Redis.from_url(cluster.redis_url, decode_responses=True)
    store = TaskStore(r, record_ttl_s=3600)
    log = EventLog(r, record_ttl_s=3600)
    task_ids = await submit_all(host, port, key, n)
    deadline = time.monotonic() + 120
    while sum(1 for t in task_ids if r.hget(keys.task(t), "status") == "assigned") < n:
        if time.monotonic() > deadline:
            raise SystemExit("the tasks were not all placed on the paused node within 120 s")
        await asyncio.sleep(0.5)
    for task_id in task_ids:  # as the node would, before its first step
        assert store.claim(task_id, 1, NODE) == "ok"

    before_mb = rss_mb(cluster.procs["gateway"].pid)
    streams = [Stream(t) for t in task_ids]
    readers = [asyncio.create_task(s.run(host, port, key)) for s in streams]
    await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in streams)), 120)
    while open_streams_gauge(cluster.metrics_url("gateway")) < n:
        await asyncio.sleep(0.2)
    held_mb = rss_mb(cluster.procs["gateway"].pid)

    loop = asyncio.get_running_loop()
    interval = 1 / rate
    started = time.monotonic()
    for i in range(steps * n):
        task_id, index = task_ids[i % n], i // n + 1
        event = StepEvent(
            attempt=1, index=index, action=f"bench step {index}", url="https://example.com/",
            ok=True, error=None, duration_ms=1, screenshot=None, node=NODE,
            at_ms=store.now_ms(),
        )  # fmt: skip
        await loop.run_in_executor(None, log.add_step, task_id, event)
        lag = started + (i + 1) * interval - time.monotonic()
        if lag > 0:
            await asyncio.sleep(lag)
    peak_mb = rss_mb(cluster.procs["gateway"].pid)
    await asyncio.sleep(1)  # the last steps arrive

    for start in range(0, n, 100):
        store.fail_many([(t, "cancelled") for t in task_ids[start : start + 100]])
    await asyncio.wait_for(asyncio.gather(*readers), 60)
    for s in streams:
        assert s.ended and s.statuses[-1] == "failed", (s.task_id, s.statuses)
        assert s.steps == list(range(1, steps + 1)), (s.task_id, s.steps)
    return {
        "before_mb": before_mb,
        "held_mb": held_mb,
        "peak_mb": peak_mb,
        "latency": sorted(x for s in streams for x in s.latency_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=5, help="steps written per task")
    parser.add_argument("--rate", type=float, default=200.0, help="steps written per second")
    args = parser.parse_args()
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    cluster = LocalCluster(
        node_queues=(NODE,),
        node_concurrency=1,
        port=free_port(),
        reuse_services=False,
        env_overrides={
            "BROWSING_GATEWAY_WORKERS": "1",
            "BROWSING_NODE_DEAD_AFTER_S": "3600",
            "BROWSING_NODE_PREFETCH": "100000",  # every task placed on the paused node
        },
    )
    with cluster:
        node = cluster.procs[NODE].pid
        os.killpg(node, signal.SIGSTOP)  # the tasks are placed on it but never start
        try:
            figures = asyncio.run(run(cluster, args.streams, args.steps, args.rate))
        finally:
            os.killpg(node, signal.SIGCONT)
    latency = figures["latency"]
    p50 = latency[len(latency) // 2]
    p95 = latency[int(0.95 * (len(latency) - 1))]
    growth = max(figures["held_mb"], figures["peak_mb"]) - figures["before_mb"]
    print(f"{args.streams} streams, {len(latency)} step events, every one received once, in order")
    print(
        f"gateway RSS: {figures['before_mb']:.0f} MB before, {figures['held_mb']:.0f} MB "
        f"holding the streams, {figures['peak_mb']:.0f} MB after the steps"
    )
    print(f"step-event latency (write -> client): p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")
    print(
        f"targets: RSS growth <= 200 MB ({'met' if growth <= 200 else 'missed'}: "
        f"{growth:.0f} MB), latency p95 <= 50 ms ({'met' if p95 <= 0.05 else 'missed'})"
    )


if __name__ == "__main__":
    main()
