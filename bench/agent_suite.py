"""The agent on real third-party applications: tasks phrased by the grammar and freely.

    .venv/bin/python -m bench.agent_suite [--subset fast] [--only style=free] [--only app=roundup]
    .venv/bin/python -m bench.agent_suite --set heldout   # the held-out tasks

Four applications, none written by us, run locally: Django's admin (PyPI), Datasette
over a small SQLite database (PyPI), the Roundup issue tracker (PyPI) and Python's own
documentation server (``pydoc -p``). Each task (bench/suite_tasks.py) goes through
``run_agent`` with the rules planner (no model) in a fresh context of one real Chromium;
then its check reads the answer, or the application's database for what the task
should have changed (bench/suite_checks.py). Outcomes:

- ``pass``: the run succeeded and the check holds;
- ``fail``: the run ended with an error (the agent said it could not);
- ``WRONG``: the run reported success but the answer or the effect is wrong: the
  outcome that must never happen, counted apart.

Prints each task's outcome, pass rates by difficulty and by style, the time per task
(median, p90), and the targets of issue 19: every grammar task passes, at least half of
the free ones do, none is WRONG. Exits 1 when a task is WRONG.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, fields

from playwright.sync_api import Browser

from bench.stats import percentile
from bench.suite_checks import Apps
from bench.suite_tasks import TASKS, SuiteTask
from nodes.agent import ScreenshotPolicy, run_agent
from nodes.browser import new_context
from tests.sites.browsing import chromium
from tests.sites.datasette_site import serve_datasette
from tests.sites.django_admin import serve_django_admin
from tests.sites.pydoc_site import serve_pydoc
from tests.sites.roundup_tracker import serve_roundup

PASS, FAIL, WRONG = "pass", "fail", "WRONG"
TASK_TIMEOUT_S = 60.0
SERVERS: dict[str, Callable[[], AbstractContextManager[object]]] = {
    "django": serve_django_admin,
    "datasette": serve_datasette,
    "roundup": serve_roundup,
    "pydoc": serve_pydoc,
}


@dataclass(frozen=True)
class Outcome:
    task: SuiteTask
    outcome: str  # PASS, FAIL or WRONG
    seconds: float
    detail: str = ""  # the error, or what the check found wrong
    # A password the task gave shows in the answer, a step's action or the error.
    leaked: bool = False


def select(
    tasks: Iterable[SuiteTask],
    subset: str = "all",
    only: Sequence[str] = (),
    task_set: str = "original",
) -> list[SuiteTask]:
    """``subset`` fast or all; ``only``: ``key=value`` filters on the tasks' fields
    (style, difficulty, app, name), all of which must hold; a key given twice matches
    either value; ``task_set``: original or heldout (suite_tasks.py)."""
    wanted: dict[str, set[str]] = {}
    names = {f.name for f in fields(SuiteTask)}
    for item in only:
        key, _, value = item.partition("=")
        if key not in names or not value:
            raise ValueError(f"--only takes key=value with a key among {sorted(names)}: {item}")
        wanted.setdefault(key, set()).add(value)
    return [
        task
        for task in tasks
        if (subset == "all" or task.fast)
        and task.set == task_set
        and all(str(getattr(task, key)) in values for key, values in wanted.items())
    ]


@contextmanager
def serve_apps(names: Iterable[str]) -> Iterator[Apps]:
    """Start the applications named, side by side, and stop them on the way out."""
    with ExitStack() as stack, ThreadPoolExecutor() as pool:
        started = {name: pool.submit(stack.enter_context, SERVERS[name]()) for name in set(names)}
        yield Apps(**{name: future.result() for name, future in started.items()})


def run_task(browser: Browser, task: SuiteTask, apps: Apps) -> Outcome:
    instruction = task.instruction.format(**apps.placeholders())
    context = new_context(browser)
    start = time.perf_counter()
    try:
        result = run_agent(
            context,
            instruction,
            policy=ScreenshotPolicy(),
            deadline=time.monotonic() + TASK_TIMEOUT_S,
        )
    except Exception as exc:  # the agent's own errors, and anything else: a failure
        error = f"{type(exc).__name__}: {exc}"
        leaked = any(secret in error for secret in apps.secrets())
        return Outcome(task, FAIL, time.perf_counter() - start, error, leaked)
    finally:
        context.close()
    elapsed = time.perf_counter() - start
    shown = [result.result, *(step.action for step in result.steps)]
    leaked = any(secret in text for secret in apps.secrets() for text in shown)
    try:
        problem = task.check(apps, result)
    except Exception as exc:  # a check that cannot read its answer judges it wrong
        problem = f"the check failed: {type(exc).__name__}: {exc}"
    if problem:
        detail = f"{problem}; answer: {result.result[:300]!r}"
        return Outcome(task, WRONG, elapsed, detail, leaked)
    return Outcome(task, PASS, elapsed, leaked=leaked)


def run_suite(
    browser: Browser,
    tasks: Sequence[SuiteTask],
    apps: Apps,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    outcomes = []
    for task in tasks:
        outcome = run_task(browser, task, apps)
        outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)
    return outcomes


def print_outcome(outcome: Outcome) -> None:
    task = outcome.task
    line = f"{outcome.outcome:5}  {task.name:28} {task.difficulty:6} {task.style:7} "
    line += f"{outcome.seconds:5.1f} s"
    if outcome.leaked:
        line += "  LEAK: a password shows in the answer, the steps or the error"
    if outcome.detail:
        line += f"  {outcome.detail[:200]}"
    print(line, flush=True)


def _rate(outcomes: list[Outcome]) -> str:
    passed = sum(o.outcome == PASS for o in outcomes)
    return f"{passed}/{len(outcomes)} ({passed / len(outcomes):.0%})" if outcomes else "-"


def print_summary(outcomes: list[Outcome], start_s: float) -> None:
    print(f"\napplications started in {start_s:.1f} s; {len(outcomes)} tasks")
    for label, key in (("difficulty", "difficulty"), ("style", "style"), ("app", "app")):
        values = sorted({getattr(o.task, key) for o in outcomes})
        parts = [f"{v} {_rate([o for o in outcomes if getattr(o.task, key) == v])}" for v in values]
        print(f"passed by {label}: " + ", ".join(parts))
    print(f"passed overall: {_rate(outcomes)}")
    wrong = [o for o in outcomes if o.outcome == WRONG]
    print(f"WRONG (success reported, answer or effect wrong): {len(wrong)}")
    for o in wrong:
        print(f"  {o.task.name}: {o.detail[:300]}")
    failed = sum(o.outcome == FAIL for o in outcomes)
    print(f"failed with an error: {failed}")
    leaked = [o.task.name for o in outcomes if o.leaked]
    print(f"a password shows in the answer, the steps or the error: {len(leaked)} {leaked or ''}")
    for label, chosen in (
        ("time per task", outcomes),
        # Instructions the rules planner refuses end before a page opens, in no time.
        ("time per task that opened a page", [o for o in outcomes if o.seconds >= 0.05]),
    ):
        seconds = [o.seconds for o in chosen]
        if seconds:
            print(
                f"{label}: median {statistics.median(seconds):.2f} s, "
                f"p90 {percentile(seconds, 0.9):.2f} s, total {sum(seconds):.1f} s "
                f"({len(seconds)} tasks)"
            )
    for style, target in (("grammar", "target 1.00"), ("free", "target >= 0.50")):
        chosen = [o for o in outcomes if o.task.style == style]
        if chosen:
            ratio = sum(o.outcome == PASS for o in chosen) / len(chosen)
            print(f"ratio {style} tasks passed: {ratio:.2f} ({target})")
    if outcomes:
        print(f"ratio WRONG: {len(wrong) / len(outcomes):.2f} (target 0)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", choices=("all", "fast"), default="all")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="style=free, difficulty=hard, app=roundup, name=...; repeatable",
    )
    parser.add_argument(
        "--set",
        choices=("original", "heldout", "plain"),
        default="original",
        help="the tasks the rules were improved against, the held-out ones, or the plain"
        " requests (bench/suite_tasks.py)",
    )
    parser.add_argument("--list", action="store_true", help="list the tasks and exit")
    args = parser.parse_args(argv)
    tasks = select(TASKS, args.subset, args.only, args.set)
    if not tasks:
        parser.error("no task matches")
    if args.list:
        for task in tasks:
            print(
                f"{task.name:28} {task.app:9} {task.difficulty:6} {task.style:7} {task.instruction}"
            )
        return 0
    start = time.perf_counter()
    with serve_apps(task.app for task in tasks) as apps, chromium() as browser:
        start_s = time.perf_counter() - start
        outcomes = run_suite(browser, tasks, apps, on_outcome=print_outcome)
    print_summary(outcomes, start_s)
    return 1 if any(o.outcome == WRONG for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
