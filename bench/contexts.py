"""What a task's fresh browser context costs, in Chromium's headless shell against the
full browser's headless mode: the reason nodes run the shell first (nodes/browser.py).

    .venv/bin/python -m bench.contexts [--cycles 40] [--rounds 3]

Each cycle is what a node does around every attempt: a new context with the nodes'
options, a tab, one script call, the context closed. Both builds run with the nodes'
flags, in turn round by round; the machine's whole CPU time (from /proc/stat) is counted,
so the browser's short-lived renderer processes are in it. Prints the median wall and CPU
time per cycle of each, and the shell's ratio to the full browser. Needs both binaries
(Debian: chromium and chromium-headless-shell).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from playwright.sync_api import Browser, sync_playwright

from nodes.browser import CHROMIUM_ARGS, context_options

BUILDS = {
    "headless shell": "/usr/bin/chromium-headless-shell",
    "full browser, headless": "/usr/bin/chromium",
}


def machine_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (all processes, all cores)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


def cycles(browser: Browser, count: int) -> tuple[float, float]:
    """Seconds of wall and of machine CPU per cycle."""
    options = context_options()
    wall, cpu = time.perf_counter(), machine_cpu_s()
    for _ in range(count):
        context = browser.new_context(**options)
        context.new_page().evaluate("location.href")
        context.close()
    return (time.perf_counter() - wall) / count, (machine_cpu_s() - cpu) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    missing = [path for path in BUILDS.values() if not os.access(path, os.X_OK)]
    if missing:  # make install installs only the shell where the distribution has it
        print(f"skipped: not installed: {', '.join(missing)} (apt-get install chromium)")
        return
    measured: dict[str, list[tuple[float, float]]] = {name: [] for name in BUILDS}
    with sync_playwright() as playwright:
        browsers = {
            name: playwright.chromium.launch(executable_path=path, args=list(CHROMIUM_ARGS))
            for name, path in BUILDS.items()
        }
        for browser in browsers.values():
            cycles(browser, 5)  # warm up
        for _ in range(args.rounds):
            for name, browser in browsers.items():
                measured[name].append(cycles(browser, args.cycles))
        for browser in browsers.values():
            browser.close()
    medians = {}
    for name, runs in measured.items():
        wall = statistics.median(w for w, _ in runs) * 1000
        cpu = statistics.median(c for _, c in runs) * 1000
        medians[name] = (wall, cpu)
        print(f"{name:24s} {wall:6.0f} ms wall, {cpu:6.0f} ms CPU per context")
    (shell_wall, shell_cpu), (full_wall, full_cpu) = medians.values()
    print(f"ratio, shell / full: wall {shell_wall / full_wall:.2f}, CPU {shell_cpu / full_cpu:.2f}")


if __name__ == "__main__":
    main()
