"""End to end: /sync "open a local page, full-page final screenshot" against two baselines
measured in the same run: the same steps done in-process with a warm Playwright browser
(new context, goto, screenshot), and a cold script, a fresh Python process that starts
Playwright, launches Chromium, opens the page, takes the screenshot and closes the browser.

    .venv/bin/python -m bench.e2e [--runs 20] [--idle 1.0] [--trace]

The three alternate run by run, each after an idle pause, on the same machine with the
local cluster (two nodes) idling beside them: this is latency at light load; throughput
under load is bench/node_throughput.py's and bench/burst.py's.

Prints the medians and the ratios. Targets: /sync / warm <= 1.5 (issue 2), <= 1.0 (issue
6); /sync / cold script <= 0.4 (issue 6). The cold script also reports its own launch to
close time (no interpreter or Playwright start), printed beside it as a stricter reading.

``--trace`` adds a fourth series, interleaved with the others: the same /sync with
``"record": {"trace": true}`` (issue 17), and prints what recording costs against the
/sync without it, and the size of the trace zips.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import requests

from bench.sites import egress_allow
from bench.stats import p95
from browsing.cluster import LocalCluster, free_port
from nodes.browser import (
    CHROMIUM_ARGS,
    chromium_executable,
    context_options,
    launch_chromium,
    new_context,
)
from tests.sites.server import serve_sites

WARMUP = 3


class Service:
    """One /sync of the task through the cluster."""

    def __init__(self, cluster: LocalCluster, page_url: str, *, trace: bool = False) -> None:
        self.url = cluster.base_url + "/api/v1/browsing/sync"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {cluster.api_key}"
        self.body = {
            "task": f"Open {page_url} and return a screenshot of the page.",
            "screenshots": {"mode": "final_only", "full_page": True},
        }
        if trace:
            self.body["record"] = {"trace": True}
        self.trace_bytes: list[int] = []

    def run(self) -> float:
        start = time.perf_counter()
        resp = self.session.post(self.url, json=self.body, timeout=120)
        elapsed = time.perf_counter() - start
        assert resp.status_code == 200 and resp.json()["success"], resp.text
        if "record" in self.body:
            trace = json.loads(resp.json()["payload"])["trace"]
            self.trace_bytes.append(trace["size"])
        return elapsed


class WarmPlaywright:
    """The same steps in this process, on a browser launched once."""

    def __init__(self, page_url: str) -> None:
        from playwright.sync_api import sync_playwright

        self.page_url = page_url
        self.pw = sync_playwright().start()
        self.browser = launch_chromium(self.pw, chromium_executable())

    def run(self) -> float:
        start = time.perf_counter()
        context = new_context(self.browser)
        page = context.new_page()
        page.goto(self.page_url, wait_until="load")
        png = page.screenshot(full_page=True, type="png")
        context.close()
        elapsed = time.perf_counter() - start
        assert png.startswith(b"\x89PNG")
        return elapsed

    def close(self) -> None:
        self.browser.close()
        self.pw.stop()


# What one would run without the service: standalone, so it pays for its own interpreter
# and imports. Same Chromium binary, flags and context options as the nodes.
COLD_SCRIPT = """
import json, sys, time
from playwright.sync_api import sync_playwright

url, executable, args, options = sys.argv[1], sys.argv[2] or None, *map(json.loads, sys.argv[3:])
with sync_playwright() as pw:
    start = time.perf_counter()
    browser = pw.chromium.launch(headless=True, executable_path=executable, args=args)
    page = browser.new_context(**options).new_page()
    page.goto(url, wait_until="load")
    png = page.screenshot(full_page=True, type="png")
    browser.close()
    elapsed = time.perf_counter() - start
assert png.startswith(b"\\x89PNG")
print(elapsed)
"""


class ColdScript:
    """The cold script in a fresh process: (whole script, launch to close) seconds."""

    def __init__(self, page_url: str) -> None:
        self.argv = [
            sys.executable,
            "-c",
            COLD_SCRIPT,
            page_url,
            chromium_executable() or "",
            json.dumps(list(CHROMIUM_ARGS)),
            json.dumps(context_options()),
        ]

    def run(self) -> tuple[float, float]:
        start = time.perf_counter()
        out = subprocess.run(self.argv, capture_output=True, text=True, timeout=120)
        elapsed = time.perf_counter() - start
        assert out.returncode == 0, out.stderr
        return elapsed, float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--idle", type=float, default=1.0, help="idle seconds before each measured run"
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help='also measure /sync with "record": {"trace": true}, interleaved',
    )
    args = parser.parse_args()
    traced: list[float] = []
    baseline: list[float] = []
    cold: list[float] = []
    cold_browser: list[float] = []
    service: list[float] = []
    with serve_sites() as sites:
        page_url = f"{sites}/index.html"
        cluster = LocalCluster(
            port=free_port(), reuse_services=False, env_overrides=egress_allow(sites)
        )
        with cluster:
            warm, script, ours = (
                WarmPlaywright(page_url),
                ColdScript(page_url),
                Service(cluster, page_url),
            )
            recording = Service(cluster, page_url, trace=True)
            try:
                # Interleaved, each after an idle pause: all three meet the same machine
                # (the cluster idling beside them), and none pays for another's clean-up.
                for i in range(args.runs + WARMUP):
                    time.sleep(args.idle)
                    b = warm.run()
                    time.sleep(args.idle)
                    c, cb = script.run()
                    time.sleep(args.idle)
                    s = ours.run()
                    if args.trace:
                        time.sleep(args.idle)
                        t = recording.run()
                        if i >= WARMUP:
                            traced.append(t)
                    if i >= WARMUP:
                        baseline.append(b)
                        cold.append(c)
                        cold_browser.append(cb)
                        service.append(s)
            finally:
                warm.close()
    base_med, svc_med = statistics.median(baseline), statistics.median(service)
    cold_med, cold_browser_med = statistics.median(cold), statistics.median(cold_browser)
    print(
        f"warm in-process Playwright: median {base_med * 1000:.0f} ms "
        f"(p95 {p95(baseline) * 1000:.0f} ms), {args.runs} runs"
    )
    print(
        f"cold script (python, Playwright, Chromium launch to close): median "
        f"{cold_med * 1000:.0f} ms (p95 {p95(cold) * 1000:.0f} ms), {args.runs} runs; "
        f"of which launch to close: median {cold_browser_med * 1000:.0f} ms"
    )
    print(
        f"/sync through the cluster:  median {svc_med * 1000:.0f} ms "
        f"(p95 {p95(service) * 1000:.0f} ms), {args.runs} runs"
    )
    print(
        f"ratio (service / warm Playwright): {svc_med / base_med:.2f}  "
        "(target <= 1.5 issue 2, <= 1.0 issue 6)"
    )
    print(f"ratio (service / cold script):    {svc_med / cold_med:.2f}  (target <= 0.4)")
    print(
        f"ratio (service / cold launch to close, stricter): "
        f"{svc_med / cold_browser_med:.2f}  (target <= 0.4)"
    )
    if traced:
        trace_med = statistics.median(traced)
        sizes = recording.trace_bytes[WARMUP:]
        print(
            f'/sync with "record": {{"trace": true}}: median {trace_med * 1000:.0f} ms '
            f"(p95 {p95(traced) * 1000:.0f} ms), {args.runs} runs; recording costs "
            f"{(trace_med - svc_med) * 1000:+.0f} ms ({trace_med / svc_med:.2f}x); "
            f"trace zip median {statistics.median(sizes) / 1024:.0f} KiB"
        )


if __name__ == "__main__":
    main()
