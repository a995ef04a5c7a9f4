"""Burst: 10,000 tasks submitted at once across 4 nodes, by two users (alice and bob,
alternately); every one completes, none is lost and none runs twice.

    .venv/bin/python -m bench.burst [--tasks 10000] [--concurrency 32] [--hold] [--page]

The task is the cheapest one that still runs on a node: "Return the url" (claim, a fresh
browser context, one step, the record's final write), so what is measured is the service's
path (submit, dispatch, claim, report), not page loads; ``--page`` opens a local page and
returns its title instead.
``--concurrency`` threads POST /async, each on its own keep-alive connection.

The scheduler's CPU time (user + system, from /proc) over the burst and its drain is
printed per task: the cost of binding late, fairly, on every freed slot.

Redis memory per queued task is INFO used_memory at the peak of the queue minus before
the burst, over the number of unfinished tasks then. By default the nodes run during the
burst and a thread samples Redis; the peak then also holds the records of the tasks
already finished, so the figure leans high. With ``--hold`` the nodes are paused (SIGSTOP,
and a long dead-node window) until every task sits in a node queue, measured, then
released: an exact figure, but the nodes do not compete with the submits for the CPU and
the drain then includes the hold (the drain from the release is printed beside it).
With late binding (issue 14) the tasks held wait in the scheduler's wait sets, and only
capacity plus prefetch per node sit in node queues.

Counted twice: from the task records (completed, success, exactly one winning attempt)
and from the node logs (exactly one "attempt ended" line that ran, and won, per task
across the node logs, on the node the record names).

Target (issue 6): all complete, none lost, none run twice.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import redis
import requests

from bench.sites import egress_allow
from bench.stats import percentile
from browsing.cluster import LocalCluster, free_port
from shared import keys
from tests.sites.server import serve_sites

NODES = ("node.de.01", "node.de.02", "node.de.03", "node.de.04")
MB = 1024 * 1024


class Submitter:
    """POSTs task bodies to /async from a thread pool, one keep-alive session per thread."""

    def __init__(self, cluster: LocalCluster, concurrency: int, api_keys: list[str]) -> None:
        self.url = cluster.base_url + "/api/v1/browsing/async"
        self.api_keys = api_keys
        self.concurrency = concurrency
        self._local = threading.local()

    def _post(self, item: tuple[dict, int]) -> tuple[str | None, str | None, float]:
        """(task id, error, seconds) of one submit; the item's index picks the user."""
        body, index = item
        sessions = getattr(self._local, "sessions", None)
        if sessions is None:
            sessions = self._local.sessions = []
            for key in self.api_keys:
                sessions.append(requests.Session())
                sessions[-1].headers["Authorization"] = f"Bearer {key}"
        session = sessions[index % len(sessions)]
        start = time.perf_counter()
        try:
            resp = session.post(self.url, json=body, timeout=120)
        except requests.RequestException as exc:
            return None, type(exc).__name__, time.perf_counter() - start
        elapsed = time.perf_counter() - start
        if resp.status_code != 200:
            return None, f"HTTP {resp.status_code}: {resp.text[:200]}", elapsed
        return resp.json()["task_id"], None, elapsed

    def burst(self, body: dict, count: int) -> dict:
        start = time.perf_counter()
        with ThreadPoolExecutor(self.concurrency) as pool:
            answers = list(pool.map(self._post, [(body, i) for i in range(count)]))
        return {
            "seconds": time.perf_counter() - start,
            "ids": [task_id for task_id, _, _ in answers if task_id],
            "errors": Counter(error for _, error, _ in answers if error),
            "latency": [elapsed for _, _, elapsed in answers],
        }


class RedisSampler:
    """INFO memory and the number of unfinished tasks, every ``interval_s``, on a thread."""

    def __init__(self, client: redis.Redis, interval_s: float = 0.2) -> None:
        self.client = client
        self.interval_s = interval_s
        self.samples: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="redis-sampler", daemon=True)

    def sample(self) -> dict:
        pipe = self.client.pipeline(transaction=False)
        pipe.info("memory")
        pipe.info("clients")
        pipe.zcard(keys.DEADLINES)
        memory, clients, unfinished = pipe.execute()
        return {
            "used": memory["used_memory"],
            "clients_mem": memory.get("mem_clients_normal", 0),
            "clients": clients["connected_clients"],
            "unfinished": unfinished,
        }

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.sample())
            self._stop.wait(self.interval_s)

    def __enter__(self) -> RedisSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self) -> dict:
        return max(self.samples, key=lambda s: s["unfinished"])


def wait_until(what: str, check, timeout_s: float, every_s: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            print(f"gave up waiting for {what} after {timeout_s:g} s", file=sys.stderr)
            return False
        time.sleep(every_s)
    return True


def wait_drained(client: redis.Redis, timeout_s: float) -> bool:
    """Until no task of the cluster is unfinished, with a progress line every 10 s."""
    deadline, report = time.monotonic() + timeout_s, time.monotonic() + 10
    while (left := client.zcard(keys.DEADLINES)) > 0:
        if time.monotonic() > deadline:
            print(f"gave up after {timeout_s:g} s with {left} tasks unfinished", file=sys.stderr)
            return False
        if time.monotonic() > report:
            print(f"  ... {left} tasks unfinished", file=sys.stderr)
            report += 10
        time.sleep(0.5)
    return True


def check_records(client: redis.Redis, ids: list[str]) -> dict:
    """Every task completed with success and exactly one winning attempt."""
    bad: dict[str, list[str]] = defaultdict(list)
    attempts: Counter[int] = Counter()
    winners: dict[str, str] = {}  # task id -> node of its winning attempt
    created, finished, run_ms = [], [], []
    for i in range(0, len(ids), 1000):
        chunk = ids[i : i + 1000]
        pipe = client.pipeline(transaction=False)
        for task_id in chunk:
            pipe.hgetall(keys.task(task_id))
        for task_id, h in zip(chunk, pipe.execute(), strict=True):
            if not h:
                bad["record missing"].append(task_id)
                continue
            count = int(h.get("attempts") or 0)
            attempts[count] += 1
            won = [n for n in range(1, count + 1) if h.get(f"a{n}:state") == "won"]
            if h.get("status") != "completed" or h.get("success") != "1":
                bad[f"status {h.get('status')}: {h.get('error', '')[:80]}"].append(task_id)
            elif len(won) != 1 or h.get("winner") != str(won[0]):
                bad[f"{len(won)} winning attempts"].append(task_id)
            else:
                winners[task_id] = h[f"a{won[0]}:node"]
                created.append(int(h["created_ms"]))
                finished.append(int(h["finished_ms"]))
                run_ms.append(int(h[f"a{won[0]}:finished_ms"]) - int(h[f"a{won[0]}:started_ms"]))
    return {
        "bad": bad,
        "attempts": attempts,
        "winners": winners,
        "first_created_ms": min(created, default=0),
        "last_finished_ms": max(finished, default=0),
        "run_ms": run_ms,
    }


def read_node_logs(cluster: LocalCluster) -> dict[str, list[tuple[str, int, str]]]:
    """Task id -> (node, attempt, outcome) of every "attempt ended" line (nodes/task.py)."""
    ended: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for node in NODES:
        with open(cluster.log_path(node), encoding="utf-8", errors="replace") as log:
            for line in log:
                if '"attempt ended"' not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("msg") == "attempt ended" and "task_id" in entry:
                    ended[entry["task_id"]].append((node, entry["attempt"], entry["outcome"]))
    return ended


def check_node_logs(ended: dict, ids: list[str], winners: dict[str, str]) -> dict:
    """Each task ran exactly once across the node logs, won, on the record's node."""
    bad: dict[str, list[str]] = defaultdict(list)
    dropped = 0
    for task_id in ids:
        lines = ended.get(task_id, [])
        ran = [line for line in lines if not line[2].startswith("dropped")]
        dropped += len(lines) - len(ran)
        if not ran:
            bad["no line: lost"].append(task_id)
        elif len(ran) > 1:
            bad[f"ran {len(ran)} times"].append(task_id)
        elif ran[0][2] != "won":
            bad[f"outcome {ran[0][2]}"].append(task_id)
        elif task_id in winners and ran[0][0] != winners[task_id]:
            bad["ran on another node than the record's winner"].append(task_id)
    return {"bad": bad, "dropped": dropped, "lines": sum(len(v) for v in ended.values())}


def log_warnings(cluster: LocalCluster) -> Counter[str]:
    """Warning and error lines of the scheduler and nodes, by process and message (a node
    declared dead, a stranded attempt republished, a heartbeat that failed...)."""
    found: Counter[str] = Counter()
    for name in ("scheduler", *NODES):
        with open(cluster.log_path(name), encoding="utf-8", errors="replace") as log:
            for line in log:
                if '"level": "warning"' not in line and '"level": "error"' not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                found[f"{name}: {entry['level']} {entry['msg'][:100]}"] += 1
    return found


def print_bad(source: str, bad: dict[str, list[str]]) -> None:
    for why, ids in sorted(bad.items()):
        print(f"  {source}: {len(ids)} tasks: {why} (e.g. {', '.join(ids[:3])})")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pause(cluster: LocalCluster, sig: int) -> None:
    """SIGSTOP/SIGCONT each node's process group (its Celery worker and pool children;
    Chromium sits idle in a group of its own)."""
    for node in NODES:
        os.killpg(cluster.procs[node].pid, sig)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32, help="submitting threads")
    parser.add_argument("--node-concurrency", type=int, default=2, help="browsers per node")
    parser.add_argument(
        "--hold",
        action="store_true",
        help="pause the nodes during the burst, measure Redis with every task queued, release",
    )
    parser.add_argument(
        "--page", action="store_true", help="open a local page and return its title instead"
    )
    parser.add_argument(
        "--timeout-ms",
        type=int,
        default=3 * 60 * 60 * 1000,
        help="each task's timeout (the longest allowed): the last task waits the whole drain",
    )
    parser.add_argument("--drain-timeout", type=float, default=3 * 3600, help="seconds")
    args = parser.parse_args()
    env = {"BROWSING_NODE_DEAD_AFTER_S": "3600"} if args.hold else {}
    api_keys = [secrets.token_urlsafe(18), secrets.token_urlsafe(18)]
    env["BROWSING_API_KEYS"] = f"alice:{api_keys[0]},bob:{api_keys[1]}"
    with ExitStack() as stack:
        if args.page:
            sites = stack.enter_context(serve_sites())
            body = {"task": f"Open {sites}/index.html and return the title"}
            env.update(egress_allow(sites))
        else:
            body = {"task": "Return the url"}
        body["timeout"] = args.timeout_ms
        cluster = stack.enter_context(
            LocalCluster(
                node_queues=NODES,
                node_concurrency=args.node_concurrency,
                port=free_port(),
                reuse_services=False,
                env_overrides=env,
            )
        )
        r = redis.Redis.from_url(cluster.redis_url, decode_responses=True)
        submitter = Submitter(cluster, args.concurrency, api_keys)
        scheduler_pid = cluster.procs["scheduler"].pid
        # Warm-up: the gateway's and nodes' Redis connections open before the baseline.
        warm = submitter.burst(body, args.concurrency)
        assert not warm["errors"], warm["errors"]
        wait_drained(r, 120)
        sampler = RedisSampler(r)
        before = sampler.sample()
        held = released_ms = None
        cpu_before = cpu_seconds(scheduler_pid)
        with sampler:
            if args.hold:
                pause(cluster, signal.SIGSTOP)
            try:
                burst = submitter.burst(body, args.tasks)
                if args.hold:
                    wait_until(
                        "every task stored and every bound attempt sent",
                        lambda: (
                            r.zcard(keys.DEADLINES) >= args.tasks and r.zcard(keys.UNPUBLISHED) == 0
                        ),
                        600,
                    )
                    held = sampler.sample()
                    # A node's BRPOP sent before the pause may still take one message each.
                    held["in_node_queues"] = sum(r.llen(node) for node in NODES)
                    held["waiting"] = sum(r.zcard(keys.waiting(u)) for u in ("alice", "bob"))
            finally:
                if args.hold:
                    released_ms = int(time.time() * 1000)
                    pause(cluster, signal.SIGCONT)
            drained = wait_drained(r, args.drain_timeout)
        scheduler_cpu = cpu_seconds(scheduler_pid) - cpu_before
        ids = burst["ids"]
        records = check_records(r, ids)
        # A node logs "attempt ended" just after the record's final write: let it land.
        submitted = set(ids)
        wait_until(
            "the node logs",
            lambda: (
                sum(len(v) for k, v in read_node_logs(cluster).items() if k in submitted)
                >= len(records["winners"])
            ),
            15,
        )
        logs = check_node_logs(read_node_logs(cluster), ids, records["winners"])
        after = sampler.sample()
        warnings = log_warnings(cluster)

    peak = held or sampler.peak()
    latency = burst["latency"]
    print(
        f"{args.tasks} tasks ({body['task']!r}) on {len(NODES)} nodes x "
        f"{args.node_concurrency} browsers, {args.concurrency} submitting threads"
        + (", nodes paused during the burst" if args.hold else "")
    )
    print(
        f"submit: {burst['seconds']:.1f} s, {args.tasks / burst['seconds']:.0f} tasks/s; "
        f"latency p50 {statistics.median(latency) * 1000:.1f} ms, "
        f"p99 {percentile(latency, 0.99) * 1000:.1f} ms; {len(ids)} accepted"
    )
    for error, count in burst["errors"].items():
        print(f"  submit refused {count} times: {error}")
    first, last = records["first_created_ms"], records["last_finished_ms"]
    if last:
        span = (last - first) / 1000
        print(
            f"drain (first submit to last task finished, from the records): {span:.1f} s, "
            f"{len(records['winners']) / span:.1f} tasks/s"
        )
        print(
            f"  one attempt on its node (claim to final write): median "
            f"{statistics.median(records['run_ms']):.0f} ms, "
            f"p95 {percentile(records['run_ms'], 0.95):.0f} ms"
        )
        if released_ms:
            after_release = (last - released_ms) / 1000
            print(
                f"  of which from the release of the nodes: {after_release:.1f} s, "
                f"{len(records['winners']) / after_release:.1f} tasks/s"
            )
    if peak["unfinished"]:
        grown = peak["used"] - before["used"]
        print(
            f"Redis used_memory: {before['used'] / MB:.1f} MB before, {peak['used'] / MB:.1f} MB "
            f"with {peak['unfinished']} tasks unfinished"
            + (
                f" ({held['waiting']} waiting in the scheduler's wait sets, "
                f"{held['in_node_queues']} messages in node queues)"
                if held
                else ""
            )
            + f": {grown / peak['unfinished'] / 1024:.2f} KB per queued task"
            + ("" if held else " (the peak also holds the finished tasks' records)")
        )
        clients = peak["clients_mem"] - before["clients_mem"]
        print(
            f"  of which client buffers {clients / MB:.1f} MB ({before['clients']} -> "
            f"{peak['clients']} connections); without them "
            f"{(grown - clients) / peak['unfinished'] / 1024:.2f} KB per queued task"
        )
        print(
            f"  after the drain: {(after['used'] - before['used']) / len(ids) / 1024:.2f} KB "
            "per finished task (records are kept for BROWSING_TASK_RECORD_TTL_S)"
        )
    print(
        f"records: {len(records['winners'])} of {len(ids)} completed with exactly one winning "
        f"attempt; attempts per task: "
        + ", ".join(f"{n}: {c}" for n, c in sorted(records["attempts"].items()))
    )
    print(
        "  won per node: "
        + ", ".join(f"{n} {c}" for n, c in sorted(Counter(records["winners"].values()).items()))
    )
    print_bad("records", records["bad"])
    print(
        f"scheduler CPU: {scheduler_cpu:.1f} s over the burst and its drain, "
        f"{scheduler_cpu / max(len(ids), 1) * 1e6:.0f} us per task"
    )
    ran_once = len(ids) - sum(len(v) for v in logs["bad"].values())
    print(
        f"node logs: {ran_once} of {len(ids)} tasks ran exactly once and won, on the record's "
        f"node ({logs['lines']} 'attempt ended' lines, {logs['dropped']} duplicate deliveries "
        "dropped by fencing)"
    )
    print_bad("node logs", logs["bad"])
    for what, count in warnings.most_common(10):
        print(f"  log: {count} x {what}")
    ok = (
        drained
        and len(ids) == args.tasks
        and not records["bad"]
        and not logs["bad"]
        and len(records["winners"]) == args.tasks
    )
    lost = args.tasks - len(records["winners"])
    twice = sum(len(v) for k, v in logs["bad"].items() if k.startswith("ran "))
    print(
        f"{'PASS' if ok else 'FAIL'}: {len(records['winners'])} of {args.tasks} completed, "
        f"{lost} lost or failed, {twice} run twice"
    )
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
