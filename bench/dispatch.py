"""Dispatch latency: from POST /api/v1/browsing/async to the attempt running on its node,
on an idle one-node cluster, against a raw Celery round trip on the same Redis measured
in the same run.

    .venv/bin/python -m bench.dispatch [--runs 50] [--idle 0.3]

The service's figure is the task record's ``a1:started_ms`` (written by the node's claim,
with the machine's clock) minus the epoch time just before the POST; it is read after the
task finishes, so nothing polls while it runs. The baseline is ``send_task`` to the start
of the task's body in a prefork worker (one process, like the node) that this bench
starts on the same Redis with the nodes' Celery settings; the task pushes ``time.time()``
to a Redis list the bench waits on. Baseline and service runs alternate, each after
``--idle`` seconds, so both meet an idle cluster.

A third side is the path ARCHITECTURE.md sets out, built from raw parts with none of the
service's own work: an HTTP POST to a bare Flask endpoint under the gateway's gunicorn
config that writes one Redis transaction and sends a Celery task to a solo worker (the
scheduler's stand-in), which makes one Redis call and sends the baseline's task to the
prefork worker. Its ratio to the baseline is what that path itself costs on this machine.

Prints p50 and p95 of all three, their ratios, and where the service's time goes from the
record's timestamps. Target (issue 6): ratio <= 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import redis
import requests

from bench.bare_app import BASELINE_QUEUE, BASELINE_TASK, HOP_QUEUE, HOP_TASK
from bench.sites import egress_allow
from bench.stats import percentile
from bench.submit import bare_gateway
from browsing.cluster import LocalCluster, descendants, free_port
from shared import keys
from shared.config import Settings
from shared.services import celery_app, publish_options
from tests.sites.server import serve_sites

WARMUP = 3


def run_baseline_worker(redis_url: str, pool: str) -> None:
    """A worker of the baseline (this script with --baseline-worker): in a prefork pool of
    one process, as the node runs its attempts, a task that only says when it started; in
    a solo pool without ack emulation, as the scheduler runs, the chain's middle hop."""
    app = celery_app(f"bench-dispatch-{pool}", Settings(redis_url=redis_url))
    if pool == "solo":
        options = app.conf.broker_transport_options
        app.conf.broker_transport_options = {**options, "ack_emulation": False}
    client = redis.Redis.from_url(redis_url)  # redis-py reconnects after the fork

    @app.task(name=BASELINE_TASK, ignore_result=True)
    def started(reply_key: str) -> None:
        now = time.time()
        client.rpush(reply_key, repr(now))

    @app.task(name=HOP_TASK, ignore_result=True)
    def hop(reply_key: str) -> None:
        client.hset(f"{reply_key}:record", "assigned_ms", int(time.time() * 1000))
        app.send_task(BASELINE_TASK, args=[reply_key], queue=BASELINE_QUEUE, **publish_options())

    app.worker_main(
        [
            "worker",
            "-Q",
            HOP_QUEUE if pool == "solo" else BASELINE_QUEUE,
            "-n",
            f"bench-dispatch-{pool}@%h",
            *(["--pool", "solo"] if pool == "solo" else ["-c", "1"]),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


@contextlib.contextmanager
def baseline_worker(redis_url: str, log_path: Path, pool: str) -> Iterator[subprocess.Popen]:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.dispatch", "--baseline-worker", redis_url]
            + ["--pool", pool],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        tree = descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        for pid in [proc.pid, *tree]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=5)


class Baseline:
    """Sends the baseline's task and waits for its start time."""

    def __init__(self, redis_url: str, worker: subprocess.Popen) -> None:
        self.app = celery_app("bench-dispatch-client", Settings(redis_url=redis_url))
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self.worker = worker

    def run(self, timeout_s: float = 60) -> float:
        """Seconds from sending the message to the task starting."""
        reply_key = f"bench:dispatch:{uuid.uuid4().hex}"
        sent = time.time()
        # With the service's publish options, so that its savings count for the baseline
        # too.
        self.app.send_task(
            BASELINE_TASK, args=[reply_key], queue=BASELINE_QUEUE, **publish_options()
        )
        reply = self.redis.blpop([reply_key], timeout=timeout_s)
        if reply is None:
            alive = "running" if self.worker.poll() is None else f"exited {self.worker.returncode}"
            raise SystemExit(f"the baseline task did not start within {timeout_s:g} s ({alive})")
        return float(reply[1]) - sent


class Chain:
    """The raw two-hop path: POST to the bare endpoint, and wait for the final task's start."""

    def __init__(self, url: str, redis_url: str, task: str) -> None:
        self.url = url
        self.task = task
        self.session = requests.Session()
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)

    def run(self, timeout_s: float = 60) -> float:
        reply_key = f"bench:chain:{uuid.uuid4().hex}"
        sent = time.time()
        resp = self.session.post(self.url, json={"task": self.task, "chain": reply_key}, timeout=30)
        assert resp.status_code == 200, resp.text
        reply = self.redis.blpop([reply_key], timeout=timeout_s)
        if reply is None:
            raise SystemExit(f"the raw chain did not reach its last task within {timeout_s:g} s")
        return float(reply[1]) - sent


class Service:
    """Submits to /async and reads the attempt's timestamps once the task has finished."""

    def __init__(self, cluster: LocalCluster, task: str) -> None:
        self.url = cluster.base_url + "/api/v1/browsing/async"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {cluster.api_key}"
        self.body = {"task": task}
        self.redis = redis.Redis.from_url(cluster.redis_url, decode_responses=True)
        self.done = self.redis.pubsub()
        self.done.subscribe(keys.DONE_CHANNEL)
        # Until SUBSCRIBE is confirmed, so no completion is missed.
        while (message := self.done.get_message(timeout=5)) is None:
            pass
        assert message["type"] == "subscribe", message

    def _wait_done(self, task_id: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            message = self.done.get_message(timeout=left)
            if message is not None and message["type"] == "message" and message["data"] == task_id:
                return
        raise SystemExit(f"task {task_id} did not finish within {timeout_s:g} s")

    def run(self, timeout_s: float = 60) -> dict[str, float]:
        """Seconds from just before the POST to: the answer, the record's creation, the
        attempt's assignment, and the attempt running (the claim on the node)."""
        sent = time.time()
        resp = self.session.post(self.url, json=self.body, timeout=30)
        answered = time.time()
        assert resp.status_code == 200, resp.text
        task_id = resp.json()["task_id"]
        self._wait_done(task_id, timeout_s)
        h = self.redis.hgetall(keys.task(task_id))
        assert h["status"] == "completed", h
        return {
            "answered": answered - sent,
            "created": int(h["created_ms"]) / 1000 - sent,
            "assigned": int(h["a1:assigned_ms"]) / 1000 - sent,
            "running": int(h["a1:started_ms"]) / 1000 - sent,
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--idle", type=float, default=0.3, help="idle seconds before each run")
    parser.add_argument("--baseline-worker", metavar="REDIS_URL", help=argparse.SUPPRESS)
    parser.add_argument("--pool", default="prefork", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_worker:
        run_baseline_worker(args.baseline_worker, args.pool)
        return
    with serve_sites() as sites:
        cluster = LocalCluster(
            node_queues=("node.de.01",),
            node_concurrency=1,
            port=free_port(),
            reuse_services=False,
            env_overrides=egress_allow(sites),
        )
        with cluster:
            assert cluster.workdir is not None
            workdir = cluster.workdir
            bare_port = free_port()
            with (
                baseline_worker(cluster.redis_url, workdir / "bench-prefork.log", "prefork") as w,
                baseline_worker(cluster.redis_url, workdir / "bench-solo.log", "solo"),
                bare_gateway(bare_port, workdir, cluster.redis_url) as bare,  # waits on exit
            ):
                task = f"Open {sites}/index.html and return the title"
                baseline = Baseline(cluster.redis_url, w)
                bare_url = f"http://127.0.0.1:{bare_port}/durable/async"
                chain = Chain(bare_url, cluster.redis_url, task)
                service = Service(cluster, task)
                base: list[float] = []
                raw_chain: list[float] = []
                ours: list[dict[str, float]] = []
                try:
                    for i in range(args.runs + WARMUP):
                        time.sleep(args.idle)
                        b = baseline.run()
                        time.sleep(args.idle)
                        c = chain.run()
                        time.sleep(args.idle)
                        s = service.run()
                        if i >= WARMUP:
                            base.append(b)
                            raw_chain.append(c)
                            ours.append(s)
                finally:
                    bare.terminate()
    running = [s["running"] for s in ours]

    def ms(values: list[float], q: float) -> str:
        return f"{percentile(values, q) * 1000:.1f} ms"

    print(
        f"raw Celery send_task -> task start (same Redis, prefork -c 1): "
        f"p50 {ms(base, 0.5)}, p95 {ms(base, 0.95)}  ({args.runs} runs)"
    )
    print(
        f"raw two-hop chain (bare POST -> solo worker -> prefork worker):   "
        f"p50 {ms(raw_chain, 0.5)}, p95 {ms(raw_chain, 0.95)}  ({args.runs} runs)"
    )
    print(
        f"POST /async -> attempt running on the node:                    "
        f"p50 {ms(running, 0.5)}, p95 {ms(running, 0.95)}  ({args.runs} runs)"
    )
    # Each leg per run, then its median (ms; the record's timestamps are whole ms).
    legs = {
        "POST to record written (HTTP, auth, validation)": [s["created"] for s in ours],
        "record to attempt assigned (enqueue, scheduler)": [
            s["assigned"] - s["created"] for s in ours
        ],
        "assigned to running (publish, node, claim)": [s["running"] - s["assigned"] for s in ours],
        "POST to /async answered (for reference)": [s["answered"] for s in ours],
    }
    print("  where it goes (medians, from the task record):")
    for name, values in legs.items():
        print(f"    {name + ':':<50} {statistics.median(values) * 1000:.0f} ms")
    p50_ratio = percentile(running, 0.5) / percentile(base, 0.5)
    p95_ratio = percentile(running, 0.95) / percentile(base, 0.95)
    print(f"ratio p50 (service / raw Celery): {p50_ratio:.2f}  (target <= 2)")
    print(f"ratio p95 (service / raw Celery): {p95_ratio:.2f}  (target <= 2)")
    for q in (0.5, 0.95):
        print(
            f"p{q * 100:.0f}: raw two-hop chain / raw Celery "
            f"{percentile(raw_chain, q) / percentile(base, q):.2f}, "
            f"service / raw two-hop chain {percentile(running, q) / percentile(raw_chain, q):.2f}"
        )


if __name__ == "__main__":
    main()
