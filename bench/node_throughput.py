"""Node throughput, memory per concurrent context, and hygiene after many tasks, on one
node (node.de.01) of a local cluster, restarted at each Celery concurrency C (one pool
child, and so one warm Chromium, per slot).

    .venv/bin/python -m bench.node_throughput [--tasks 60] [--concurrency 1 2 4] [--rounds 1]
        [--hold 6] [--leak-tasks 500] [--leak-concurrency 2] [--max-tasks-per-child N]
        [--settle 5]

1. Throughput: a batch of --tasks "Open <local site>/index.html and return the title",
   all submitted at once through POST /async. Tasks per minute are counted from the
   task records: first start on the node to last finish. The ratio is to the first
   concurrency (1) in the same run; ideal is C, but two cores shared with the rest of
   the cluster cannot give that. --rounds repeats the cycle and takes medians, so that
   a load change on the machine does not land on one concurrency only.
2. Memory: the node's process tree (Celery main process, pool children, Playwright
   drivers, Chromium), idle and while C tasks hold a loaded page ("... wait --hold
   seconds ..."): (busy - idle) / C per busy context, in PSS and in heap (anonymous and
   shmem PSS; bench/proctree.py says why, and why not RSS). Idle already holds one
   prewarmed context and tab per slot, so the whole cost of a slot (pool child,
   Playwright, Chromium, warm context) is printed too: the slope of idle over C.
3. Hygiene: --leak-tasks tasks on a freshly started node at --leak-concurrency, in waves
   of --leak-wave (a task's deadline runs from its submission). Baseline after a short
   warm-up (the first tasks start Chromium helpers that stay), compared after a settle.
   PASS: the same process, Chromium and renderer counts, no zombies, and heap within
   10 % or 30 MB (PSS and RSS are printed beside). A pool child replaced after
   BROWSING_NODE_MAX_TASKS_PER_CHILD (200) tasks takes its Chromium with it;
   --max-tasks-per-child above --leak-tasks keeps one Chromium per slot for the whole
   run, which is what shows a leak in the browser.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import redis
import requests

from bench.proctree import (
    TreeSample,
    children,
    describe,
    median_sample,
    sample_tree,
)
from bench.sites import egress_allow
from browsing.cluster import LocalCluster, free_port
from shared import keys
from shared.records import TaskRecord, TaskStore
from tests.sites.server import serve_sites

NODE = "node.de.01"
LEAK_TOLERANCE_MB = 30.0
LEAK_TOLERANCE_RATIO = 0.10


class NodeBench:
    """One node of a running cluster: submit tasks, wait for them, restart the node."""

    def __init__(self, cluster: LocalCluster):
        self.cluster = cluster
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {cluster.api_key}"
        self.redis = redis.Redis.from_url(cluster.redis_url, decode_responses=True)
        self.store = TaskStore(self.redis, record_ttl_s=3600)

    @property
    def pid(self) -> int:
        return self.cluster.procs[NODE].pid

    def restart(self, concurrency: int) -> None:
        if concurrency == self.cluster.node_concurrency and NODE in self.cluster.procs:
            return
        self.cluster.stop_process(NODE)
        self.cluster.node_concurrency = concurrency
        self.cluster.start_node(NODE)
        self.cluster.wait_node_ready(NODE, 120)

    def settled(self, settle_s: float, samples: int = 5) -> TreeSample:
        """After ``settle_s`` idle seconds, the median of samples half a second apart."""
        time.sleep(settle_s)
        taken = []
        for _ in range(samples):
            taken.append(sample_tree(self.pid))
            time.sleep(0.5)
        return median_sample(taken)

    def submit(self, task: str) -> str:
        resp = self.session.post(
            self.cluster.base_url + "/api/v1/browsing/async", json={"task": task}, timeout=30
        )
        resp.raise_for_status()
        return resp.json()["task_id"]

    def run(
        self, tasks: list[str], *, on_poll: Callable[[], None] | None = None
    ) -> list[TaskRecord]:
        """Submit every task, then wait until all are finished; their records."""
        ids = [self.submit(task) for task in tasks]
        deadline = time.monotonic() + 120 + 10 * len(ids)
        while True:
            if on_poll is not None:
                on_poll()
            pipe = self.redis.pipeline(transaction=False)
            for task_id in ids:
                pipe.hget(keys.task(task_id), "status")
            pending = sum(s not in ("completed", "failed") for s in pipe.execute())
            if not pending:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"{pending} of {len(ids)} tasks still unfinished; giving up")
            time.sleep(0.25)
        records = [r for r in map(self.store.get, ids) if r is not None]
        failed = [r for r in records if not r.success]
        if failed or len(records) < len(ids):
            error = failed[0].error if failed else "record missing"
            print(f"  warning: {len(ids) - len(records) + len(failed)} tasks failed, e.g. {error}")
        return records


def throughput(
    bench: NodeBench, task: str, count: int, concurrency: int
) -> tuple[float, float, float, float]:
    """(tasks/min on the node, tasks/min from the first submit, median ms from claim to
    report, mean ms a task of slot time outside claim-to-report: the next context's
    prewarm, fetching the next message, Celery's own work)."""
    done = [r for r in bench.run([task] * count) if r.success]
    last = max(r.finished_ms for r in done)
    node_span = last - min(r.started_ms for r in done)
    full_span = last - min(r.created_ms for r in done)
    runs = [r.finished_ms - r.started_ms for r in done]
    outside = (concurrency * node_span - sum(runs)) / len(done)
    per_min = len(done) * 60_000
    return per_min / node_span, per_min / full_span, statistics.median(runs), outside


def busy_sample(bench: NodeBench, task: str, concurrency: int) -> TreeSample | None:
    """The tree while all ``concurrency`` tasks hold their page: the median of the samples
    from a second after the last start (its page is loaded by then) to the first finish;
    None if they never all ran at once."""
    timed: list[tuple[float, TreeSample]] = []
    records = bench.run(
        [task] * concurrency,
        on_poll=lambda: timed.append((time.time() * 1000, sample_tree(bench.pid))),
    )
    if len(records) < concurrency or not all(r.started_ms and r.finished_ms for r in records):
        return None
    lo = max(r.started_ms for r in records) + 1000
    hi = min(r.finished_ms for r in records) - 200
    window = [s for t, s in timed if lo <= t <= hi]
    return median_sample(window) if window else None


def slope(xs: list[float], ys: list[float]) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    dx = [x - mx for x in xs]
    return sum(d * (y - my) for d, y in zip(dx, ys, strict=True)) / sum(d * d for d in dx)


def print_memory(concurrency: list[int], idle: dict, busy: dict) -> None:
    print("\nmemory of the node's process tree (Celery, pool children, Playwright, Chromium):")
    for c in concurrency:
        print(f"  concurrency {c}, idle: {describe(idle[c])}")
        if busy[c] is None:
            print(f"    busy: the {c} tasks never all held their page at once")
            continue
        pss, heap = (busy[c].pss_mb - idle[c].pss_mb) / c, (busy[c].heap_mb - idle[c].heap_mb) / c
        print(f"    {c} pages held: {describe(busy[c])}")
        print(f"    per busy context: PSS {pss:+.1f} MB, heap {heap:+.1f} MB")
    if len(concurrency) > 1:
        xs = [float(c) for c in concurrency]
        pss = slope(xs, [idle[c].pss_mb for c in concurrency])
        heap = slope(xs, [idle[c].heap_mb for c in concurrency])
        print(
            f"  per slot (pool child, Playwright, Chromium, warm context), slope of idle: "
            f"PSS {pss:.0f} MB, heap {heap:.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=60, help="tasks per throughput batch")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rounds", type=int, default=1, help="throughput cycles (medians)")
    parser.add_argument("--hold", type=float, default=6.0, help="seconds a busy task holds")
    parser.add_argument("--leak-tasks", type=int, default=500, help="0 skips the leak check")
    parser.add_argument("--leak-concurrency", type=int, default=2)
    parser.add_argument("--leak-wave", type=int, default=50, help="tasks submitted at once")
    parser.add_argument(
        "--max-tasks-per-child",
        type=int,
        help="the node's BROWSING_NODE_MAX_TASKS_PER_CHILD (default: its own, 200); one "
        "above --leak-tasks keeps each Chromium for the whole leak run",
    )
    parser.add_argument("--warmup", type=int, default=10, help="tasks after a node start")
    parser.add_argument("--settle", type=float, default=5.0, help="idle seconds before a sample")
    args = parser.parse_args()
    cs: list[int] = args.concurrency

    rates: dict[int, list[tuple[float, float, float, float]]] = {c: [] for c in cs}
    idle: dict[int, TreeSample] = {}
    busy: dict[int, TreeSample | None] = {}
    with serve_sites() as sites:
        page = f"{sites}/index.html"
        simple = f"Open {page} and return the title"
        recycle = args.max_tasks_per_child
        cluster = LocalCluster(
            node_queues=(NODE,),
            port=free_port(),
            reuse_services=False,
            node_concurrency=cs[0],
            env_overrides=egress_allow(sites),
            node_env={NODE: {"BROWSING_NODE_MAX_TASKS_PER_CHILD": str(recycle)}} if recycle else {},
        )
        with cluster:
            bench = NodeBench(cluster)
            warm = False
            for round_ in range(args.rounds):
                for c in cs:
                    if c != cluster.node_concurrency or not warm:
                        bench.restart(c)
                        bench.run([simple] * max(args.warmup, 2 * c))
                        warm = True
                    if round_ == 0:
                        idle[c] = bench.settled(args.settle)
                        held = f"Open {page}, wait {args.hold:g} seconds and return the title"
                        busy[c] = busy_sample(bench, held, c)
                        time.sleep(args.settle)
                    rates[c].append(throughput(bench, simple, args.tasks, c))
                    print(
                        f"round {round_ + 1}, concurrency {c}: {rates[c][-1][0]:.1f} tasks/min",
                        flush=True,
                    )

            if args.leak_tasks:
                cluster.node_concurrency = 0  # a fresh node, whatever ran last
                bench.restart(args.leak_concurrency)
                bench.run([simple] * args.warmup)
                before = bench.settled(args.settle)
                pool_before = children(bench.pid)
                trend = []
                done = 0
                while done < args.leak_tasks:
                    wave = min(args.leak_wave, args.leak_tasks - done)
                    bench.run([simple] * wave)
                    done += wave
                    trend.append((done, sample_tree(bench.pid)))
                after = bench.settled(args.settle)
                replaced = len(pool_before - children(bench.pid))

    medians = {c: [statistics.median(r[i] for r in rates[c]) for i in range(4)] for c in cs}
    base = medians[cs[0]][0]
    rounds = f", median of {args.rounds} rounds" if args.rounds > 1 else ""
    print(f"\nthroughput: {args.tasks} tasks of '{simple}'{rounds}")
    for c in cs:
        node_rate, full_rate, per_task, outside = medians[c]
        print(
            f"  concurrency {c}: {node_rate:.1f} tasks/min on the node "
            f"({full_rate:.1f} from the first submit); ratio to concurrency {cs[0]}: "
            f"{node_rate / base:.2f}\n    a task: {per_task:.0f} ms claim to report (median), "
            f"{outside:.0f} ms more of its slot's time outside that (mean)"
        )
    print_memory(cs, idle, busy)

    if args.leak_tasks:
        print(
            f"\nhygiene: {args.leak_tasks} tasks at concurrency {args.leak_concurrency} "
            f"after {args.warmup} warm-up tasks, {args.settle:g} s settles"
        )
        print(f"  before: {describe(before)}")
        for count, s in trend:
            print(
                f"    {count} tasks done (not settled): PSS {s.pss_mb:.0f} MB, "
                f"heap {s.heap_mb:.0f} MB, {s.chromium} Chromium ({s.renderers} renderers)"
            )
        print(f"  after:  {describe(after)}")
        print(f"  pool children replaced (max tasks per child): {replaced}")
        grown = after.heap_mb - before.heap_mb
        allowed = max(LEAK_TOLERANCE_MB, LEAK_TOLERANCE_RATIO * before.heap_mb)
        counts = ("processes", "chromium", "renderers")
        same = all(getattr(after, n) == getattr(before, n) for n in counts)
        ok = same and not after.zombies and grown <= allowed
        print(
            f"{'PASS' if ok else 'FAIL'}: no leak (heap {grown:+.0f} MB, allowed +{allowed:.0f}; "
            f"PSS {after.pss_mb - before.pss_mb:+.0f} MB, RSS {after.rss_mb - before.rss_mb:+.0f}"
            f" MB; processes {before.processes} -> {after.processes}, Chromium "
            f"{before.chromium} -> {after.chromium}, renderers "
            f"{before.renderers} -> {after.renderers}, zombies {after.zombies})"
        )
        if not ok:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
