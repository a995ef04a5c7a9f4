"""The agent loop's per-step overhead: the same browsing task done by ``run_agent``
(observe, plan with the rules planner, act, record) and by raw Playwright calls.

    .venv/bin/python -m bench.agent_steps [--runs 30]

All sides run in one process against one Chromium and the local test pages,
in turn run by run so that a noisy machine slows them alike. Each run opens a
tab, does the nine steps below and closes the tab. Prints the median time per
step of each side and their ratio. Target (issue 4): ratio <= 1.3.

``run_agent`` distils the page's elements for the steps whose planner reads
them (all of an LLM's; the rules planner's clicks, typing, choices and checks,
which it matches to observed elements). A third side distils every step, to
show what a full observation at each step costs.
"""

from __future__ import annotations

import argparse
import statistics
import time

from playwright.sync_api import BrowserContext, sync_playwright

from nodes.agent import RulesPlanner, ScreenshotPolicy, run_agent, run_planner
from nodes.agent.loop.budget import Budget
from nodes.agent.loop.session import Session
from nodes.agent.observation.observe import observe
from nodes.browser import launch_chromium, new_context
from tests.sites.server import serve_sites

STEPS = 9


def instruction(base: str) -> str:
    return (
        f'Open {base}/form.html. Type "Ada Lovelace" into "Full name". Type "London" into '
        '"City". Select "Blue" from "Favourite colour". Click "Send". Go back. '
        f'Open {base}/links.html. Click "Page two". Return the title.'
    )


def agent_run(context: BrowserContext, base: str) -> float:
    start = time.perf_counter()
    result = run_agent(
        context, instruction(base), policy=ScreenshotPolicy(), deadline=time.monotonic() + 60
    )
    elapsed = time.perf_counter() - start
    assert result.result == "Links Page Two" and len(result.steps) == STEPS, result
    return elapsed


class EveryStep(RulesPlanner):
    reads_page = True  # type: ignore[assignment]  # observe the elements before each step


def every_step_run(context: BrowserContext, base: str) -> float:
    start = time.perf_counter()
    planner = EveryStep(instruction(base))
    result = run_planner(
        context, planner, policy=ScreenshotPolicy(), deadline=time.monotonic() + 60
    )
    elapsed = time.perf_counter() - start
    assert result.result == "Links Page Two" and len(result.steps) == STEPS, result
    return elapsed


def raw_run(context: BrowserContext, base: str) -> float:
    """What a hand-written Playwright script does for the same nine steps."""
    start = time.perf_counter()
    page = context.new_page()
    page.goto(f"{base}/form.html")
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_placeholder("City").fill("London")
    page.get_by_label("Favourite colour").select_option(label="Blue")
    page.get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    page.go_back()
    page.goto(f"{base}/links.html")
    page.get_by_role("link", name="Page two").click()
    page.wait_for_load_state()
    title = page.title()
    page.close()
    elapsed = time.perf_counter() - start
    assert title == "Links Page Two"
    return elapsed


def observe_ms(context: BrowserContext, base: str, runs: int) -> float:
    """The median cost of one observation of the form page, for the breakdown."""
    page = context.new_page()
    page.goto(f"{base}/form.html")
    session = Session(context, page, Budget(time.monotonic() + 60, 5000))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        observe(session, steps_done=0)
        times.append(time.perf_counter() - start)
    page.close()
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    sides = (agent_run, every_step_run, raw_run)
    times: dict[object, list[float]] = {side: [] for side in sides}
    with serve_sites() as base, sync_playwright() as pw:
        browser = launch_chromium(pw)
        context = new_context(browser)
        try:
            for i in range(args.warmup + args.runs):
                # Rotate which side goes first, so none always follows another.
                order = sides[i % 3 :] + sides[: i % 3]
                timed = {side: side(context, base) for side in order}
                if i >= args.warmup:
                    for side in sides:
                        times[side].append(timed[side])
            observation = observe_ms(context, base, args.runs)
        finally:
            context.close()
            browser.close()
    agent_step, every_step, raw_step = (
        statistics.median(times[side]) / STEPS * 1000 for side in sides
    )
    print(f"runs: {args.runs} of {STEPS} steps each (after {args.warmup} warm-up runs)")
    print(f"run_agent, rules planner:                  {agent_step:7.1f} ms per step (median)")
    print(f"the same, elements observed at every step: {every_step:7.1f} ms per step (median)")
    print(f"raw Playwright calls:                      {raw_step:7.1f} ms per step (median)")
    print(f"one observation of the form page:          {observation:7.1f} ms (median)")
    print(f"ratio run_agent / raw: {agent_step / raw_step:.2f} (target <= 1.3)")
    print(f"ratio observing every step / raw: {every_step / raw_step:.2f}")


if __name__ == "__main__":
    main()
