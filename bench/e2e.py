"""End to end: /sync "open a local page, full-page final screenshot" against two baselines
measured in the same run: the same steps done in-process with a warm Playwright browser
(new context, goto, screenshot), and a cold script, a fresh Python process that starts
Playwright, launches Chromium, opens the page, takes the screenshot and closes the browser.

    .venv/bin/python bench/e2e.py [--runs 20]

Prints the medians and the ratios. Targets: /sync / warm <= 1.5 (issue 2), <= 1.0 (issue
6); /sync / cold script <= 0.4 (issue 6). The cold script also reports its own launch to
close time (no interpreter or Playwright start), printed beside it as a stricter reading.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nodes.browser import (  # noqa: E402
    CHROMIUM_ARGS,
    chromium_executable,
    context_options,
    launch_chromium,
    new_context,
)
from shared.cluster import LocalCluster, free_port  # noqa: E402
from tests.sites.server import serve_sites  # noqa: E402


def bench_service(cluster: LocalCluster, page_url: str, runs: int) -> list[float]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {cluster.api_key}"
    body = {
        "task": f"Open {page_url} and return a screenshot of the page.",
        "screenshots": {"mode": "final_only", "full_page": True},
    }
    times = []
    for i in range(runs + 3):
        start = time.perf_counter()
        resp = session.post(cluster.base_url + "/api/v1/browsing/sync", json=body, timeout=120)
        elapsed = time.perf_counter() - start
        assert resp.status_code == 200 and resp.json()["success"], resp.text
        if i >= 3:  # warm-up runs are not counted
            times.append(elapsed)
    return times


def bench_playwright(page_url: str, runs: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as pw:
        browser = launch_chromium(pw, chromium_executable())
        for i in range(runs + 3):
            start = time.perf_counter()
            context = new_context(browser)
            page = context.new_page()
            page.goto(page_url, wait_until="load")
            png = page.screenshot(full_page=True, type="png")
            context.close()
            elapsed = time.perf_counter() - start
            assert png.startswith(b"\x89PNG")
            if i >= 3:
                times.append(elapsed)
        browser.close()
    return times


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


def bench_cold(page_url: str, runs: int) -> tuple[list[float], list[float]]:
    """(whole script, launch to close) seconds of each cold run."""
    argv = [
        sys.executable,
        "-c",
        COLD_SCRIPT,
        page_url,
        chromium_executable() or "",
        json.dumps(list(CHROMIUM_ARGS)),
        json.dumps(context_options()),
    ]
    script, browser = [], []
    for i in range(runs + 1):
        start = time.perf_counter()
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        elapsed = time.perf_counter() - start
        assert out.returncode == 0, out.stderr
        if i >= 1:  # the first run fills the disk cache
            script.append(elapsed)
            browser.append(float(out.stdout.strip().splitlines()[-1]))
    return script, browser


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with serve_sites() as sites:
        page_url = f"{sites}/index.html"
        baseline = bench_playwright(page_url, args.runs)
        cold, cold_browser = bench_cold(page_url, args.runs)
        with LocalCluster(port=free_port(), reuse_services=False) as cluster:
            service = bench_service(cluster, page_url, args.runs)
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


if __name__ == "__main__":
    main()
