"""The web console's figures (issue 18): the size of its assets as a browser downloads
them (gzip), and the task-detail page's first paint on the local cluster.

    .venv/bin/python -m bench.console [--runs 5]

The cluster runs one finished multi-step task with a screenshot at every step. Each run
opens a new browser context (nothing cached), signs in, then loads the task's page:
first-contentful-paint is read from the page's own Performance timeline, and "steps
shown" is when every step's thumbnail is drawn (performance.now(), from navigation
start). Target: assets <= 150 KB compressed.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
from importlib import resources

import requests
from playwright.sync_api import sync_playwright

from bench.sites import egress_allow
from browsing.cluster import LocalCluster, free_port
from nodes.browser import launch_chromium
from tests.sites.server import serve_sites

TARGET_KB = 150


def asset_sizes() -> list[tuple[str, int, int]]:
    """(file, bytes, gzip -9 bytes) of every console file."""
    out = []
    for path in sorted((resources.files("gateway.console") / "static").iterdir(), key=str):
        raw = path.read_bytes()
        out.append((path.name, len(raw), len(gzip.compress(raw, 9))))
    return out


def finished_task(base_url: str, key: str, sites: str) -> tuple[str, int]:
    """A multi-step task with a screenshot per step, run to its end; (id, steps)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    body = {
        "task": f"Open {sites}/index.html. Open {sites}/links.html. Open {sites}/form.html. "
        "Return the title.",
        "screenshots": {"mode": "every_step", "full_page": False},
    }
    resp = session.post(f"{base_url}/api/v1/browsing/sync", json=body, timeout=120)
    resp.raise_for_status()
    task_id = resp.json()["task_id"]
    events = session.get(
        f"{base_url}/api/v1/browsing/events", params={"task_id": task_id}, timeout=30
    )
    return task_id, events.text.count("event: step\n")


def first_paints(base_url: str, key: str, task_id: str, steps: int, runs: int) -> list[dict]:
    out = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                page.goto(f"{base_url}/")
                page.get_by_label("API key").fill(key)
                page.get_by_label("API key").press("Enter")
                page.get_by_role("heading", name="Tasks", exact=True).wait_for()
                page.goto(f"{base_url}/console/#/task/{task_id}")
                page.locator(".step img:not(.loading)").nth(steps - 1).wait_for()
                shown = page.evaluate("performance.now()")
                fcp = page.evaluate(
                    "performance.getEntriesByName('first-contentful-paint')[0].startTime"
                )
                nav = page.evaluate(
                    "(() => { const n = performance.getEntriesByType('navigation')[0];"
                    " return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd}; })()"
                )
                out.append({"fcp": fcp, "shown": shown, **nav})
                context.close()
        finally:
            browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sizes = asset_sizes()
    raw, packed = sum(s[1] for s in sizes), sum(s[2] for s in sizes)
    for name, size, gz in sizes:
        print(f"  {name:<16}{size:>8} B {gz:>8} B gzip")
    verdict = "met" if packed <= TARGET_KB * 1024 else "missed"
    print(
        f"console assets: {len(sizes)} files, {raw / 1024:.1f} KB, {packed / 1024:.1f} KB "
        f"gzip -9 (target <= {TARGET_KB} KB: {verdict})"
    )
    with serve_sites() as sites:
        cluster = LocalCluster(
            port=free_port(), reuse_services=False, env_overrides=egress_allow(sites)
        )
        with cluster:
            task_id, steps = finished_task(cluster.base_url, cluster.api_key, sites)
            runs = first_paints(cluster.base_url, cluster.api_key, task_id, steps, args.runs)
    fcp = [r["fcp"] for r in runs]
    shown = [r["shown"] for r in runs]
    print(
        f"task detail ({steps} steps, a thumbnail each), {args.runs} cold loads: "
        f"first-contentful-paint median {statistics.median(fcp):.0f} ms "
        f"(min {min(fcp):.0f}, max {max(fcp):.0f}); every thumbnail shown: median "
        f"{statistics.median(shown):.0f} ms (max {max(shown):.0f})"
    )


if __name__ == "__main__":
    main()
