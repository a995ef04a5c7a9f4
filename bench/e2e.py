"""End to end: /sync "open a local page, full-page final screenshot" against the same
steps done in-process with a warm Playwright browser (new context, goto, screenshot).

    .venv/bin/python bench/e2e.py [--runs 20]

Prints the medians and their ratio. Target (issue 2): ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nodes.browser import chromium_executable, launch_chromium, new_context  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with serve_sites() as sites:
        page_url = f"{sites}/index.html"
        baseline = bench_playwright(page_url, args.runs)
        with LocalCluster(port=free_port(), reuse_services=False) as cluster:
            service = bench_service(cluster, page_url, args.runs)
    base_med, svc_med = statistics.median(baseline), statistics.median(service)
    print(
        f"warm in-process Playwright: median {base_med * 1000:.0f} ms "
        f"(p95 {statistics.quantiles(baseline, n=20)[18] * 1000:.0f} ms), {args.runs} runs"
    )
    print(
        f"/sync through the cluster:  median {svc_med * 1000:.0f} ms "
        f"(p95 {statistics.quantiles(service, n=20)[18] * 1000:.0f} ms), {args.runs} runs"
    )
    print(f"ratio (service / warm Playwright): {svc_med / base_med:.2f}  (target <= 1.5)")


if __name__ == "__main__":
    main()
