"""Egress policy: what the filtering proxy in front of each node's Chromium costs, with the
policy enforced against the same cluster with the policy off, measured in the same run.

    .venv/bin/python -m bench.egress [--runs 15] [--idle 1.0] [--subresources 50]
                                     [--swap-nodes]

One local cluster with two nodes, one slot each: node.de.01 enforces the policy (its
Chromium connects through the node's egress proxy) and allows this bench's two local
sites, one ``host:port`` entry each (BROWSING_EGRESS_ALLOW); node.de.02 runs with
BROWSING_EGRESS_POLICY=off (Chromium connects directly), which is this bench's baseline
by definition (``--swap-nodes``: the other way round, to rule out a difference between
the two nodes themselves). Each request is routed to one of them with
``filter.node_uid``. Before measuring, the bench checks that the enforcing node refuses
a port it does not allow and that the other one reaches it.

Two tasks, both /sync "Open <page> and return a screenshot of the page." with a
final_only full-page screenshot (bench/e2e.py's task):

a. the test sites' index.html (tests/sites/server.py), one document;
b. a page with ``--subresources`` images, served by this bench over HTTP/1.1 keep-alive,
   each a distinct URL (a new one every run) with ``Cache-Control: no-store``, so every
   one is fetched, through the proxy on the enforcing node.

The four sides alternate run by run, each after ``--idle`` seconds, the order rotating so
that none always follows another. Prints medians and p95 of each, with the time the
attempt ran on its node (the task record's claim to final write), and the ratios policy
on / policy off. Target: <= 1.10 for both tasks.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis
import requests

from bench.sites import egress_allow
from bench.stats import p95
from browsing.cluster import LocalCluster, free_port
from shared import keys
from tests.sites.server import serve_sites

WARMUP = 3
ENFORCE, OFF = "node.de.01", "node.de.02"


def png(width: int = 16, height: int = 16) -> bytes:
    """A small opaque PNG (grey), made here so the bench needs no image file."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


IMAGE = png()


def many_page(run: str, count: int) -> bytes:
    images = "".join(
        f"<img src='/img/{run}/{i}.png' width='16' height='16' alt=''>" for i in range(count)
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Many</title>"
        f"</head><body><h1>{count} images</h1><p>{images}</p></body></html>"
    ).encode()


@contextmanager
def serve_many(count: int) -> Iterator[str]:
    """``/many/<run>.html``: a page with ``count`` images at ``/img/<run>/<i>.png``.
    HTTP/1.1 with keep-alive, as a real site serves it; nothing may be cached."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Head and body in one write, and no Nagle: a keep-alive connection must not wait
        # for a delayed ACK (40 ms a response) that no real server would make it wait for.
        wbufsize = -1
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            if parts[0] == "many" and len(parts) == 2 and parts[1].endswith(".html"):
                self._send(many_page(parts[1][:-5], count), "text/html; charset=utf-8")
            elif parts[0] == "img" and len(parts) == 3:
                self._send(IMAGE, "image/png")
            else:
                self._send(b"", "text/plain", status=404)

        def _send(self, body: bytes, content_type: str, status: int = 200) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="bench-many", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Sync:
    """/sync of the e2e task on one node: (seconds to the answer, seconds on the node)."""

    def __init__(self, cluster: LocalCluster, node: str, page_url: Callable[[], str]) -> None:
        self.url = cluster.base_url + "/api/v1/browsing/sync"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {cluster.api_key}"
        self.redis = redis.Redis.from_url(cluster.redis_url, decode_responses=True)
        self.node = node
        self.page_url = page_url

    def send(self, task: str) -> dict:
        body = {
            "task": task,
            "screenshots": {"mode": "final_only", "full_page": True},
            "filter": {"node_uid": self.node},
        }
        resp = self.session.post(self.url, json=body, timeout=120)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def run(self) -> tuple[float, float]:
        task = f"Open {self.page_url()} and return a screenshot of the page."
        start = time.perf_counter()
        result = self.send(task)
        elapsed = time.perf_counter() - start
        assert result["success"], result
        h = self.redis.hgetall(keys.task(result["task_id"]))
        won = f"a{h['winner']}:"
        assert h[won + "node"] == self.node, h
        on_node = (int(h[won + "finished_ms"]) - int(h[won + "started_ms"])) / 1000
        return elapsed, on_node


def check_policies(on: Sync, off: Sync, forbidden: str) -> None:
    """The enforcing node refuses a loopback port it does not allow; the other reaches it."""
    refused = on.send(f"Open {forbidden} and return the title")
    assert not refused["success"] and "egress refused" in (refused.get("error") or ""), refused
    reached = off.send(f"Open {forbidden} and return the title")
    assert reached["success"], reached


def ms(value: float) -> str:
    return f"{value * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--idle", type=float, default=1.0, help="idle seconds before each measured run"
    )
    parser.add_argument("--subresources", type=int, default=50, help="images on page b")
    parser.add_argument(
        "--swap-nodes", action="store_true", help=f"{OFF} enforces the policy, {ENFORCE} not"
    )
    args = parser.parse_args()
    enforce, off = (OFF, ENFORCE) if args.swap_nodes else (ENFORCE, OFF)
    sides = ("a on", "a off", "b on", "b off")
    times: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
    with serve_sites() as sites, serve_many(args.subresources) as many:
        counter = itertools.count()
        single_url = f"{sites}/index.html"

        def many_url() -> str:
            return f"{many}/many/{next(counter)}.html"

        cluster = LocalCluster(
            node_queues=(ENFORCE, OFF),  # both started; which one enforces is node_env's
            node_concurrency=1,
            port=free_port(),
            reuse_services=False,
            node_env={
                enforce: {"BROWSING_EGRESS_POLICY": "enforce", **egress_allow(sites, many)},
                off: {"BROWSING_EGRESS_POLICY": "off"},
            },
        )
        with cluster:
            runners = {
                "a on": Sync(cluster, enforce, lambda: single_url),
                "a off": Sync(cluster, off, lambda: single_url),
                "b on": Sync(cluster, enforce, many_url),
                "b off": Sync(cluster, off, many_url),
            }
            check_policies(runners["a on"], runners["a off"], f"{cluster.base_url}/healthz")
            for i in range(args.runs + WARMUP):
                # Rotate the order, so that no side always follows another.
                order = sides[i % 4 :] + sides[: i % 4]
                for side in order:
                    time.sleep(args.idle)
                    measured = runners[side].run()
                    if i >= WARMUP:
                        times[side].append(measured)
    print(
        f"{args.runs} runs of each side after {WARMUP} warm-up runs, {args.idle:g} s idle before "
        f"each; nodes: {enforce} enforcing (its sites allowed by host:port), {off} policy off"
    )
    labels = {
        "a": "a. one page (tests/sites/index.html)",
        "b": f"b. a page with {args.subresources} images, each a new URL",
    }
    for task, label in labels.items():
        print(label)
        medians = {}
        for policy in ("on", "off"):
            total = [t for t, _ in times[f"{task} {policy}"]]
            node = [n for _, n in times[f"{task} {policy}"]]
            medians[policy] = (statistics.median(total), p95(total), statistics.median(node))
            name = "policy enforced" if policy == "on" else "policy off     "
            print(
                f"  {name}: /sync median {ms(medians[policy][0])} (p95 {ms(p95(total))}); "
                f"on the node median {ms(medians[policy][2])}"
            )
        on, off = medians["on"], medians["off"]
        print(
            f"  ratio on / off: median {on[0] / off[0]:.2f} (target <= 1.10), "
            f"p95 {on[1] / off[1]:.2f}, on the node {on[2] / off[2]:.2f}"
        )


if __name__ == "__main__":
    main()
