"""The fast subset of the agent suite (bench/agent_suite.py): a few tasks on third-party
applications run locally (Datasette, Roundup, pydoc), through the real agent and Chromium.

Every grammar-phrased task must pass and no task may report success with a wrong answer.
Free-phrased tasks may still fail (issue 19 adds free phrasing): they are run and judged,
so one that answers wrongly fails this test, but one that says it could not does not.
"""

from __future__ import annotations

from playwright.sync_api import Browser

from bench.agent_suite import PASS, WRONG, run_suite, select, serve_apps
from bench.suite_tasks import TASKS


def test_fast_subset_grammar_passes_and_nothing_is_wrongly_successful(browser: Browser) -> None:
    tasks = select(TASKS, "fast")
    assert {t.style for t in tasks} == {"grammar", "free"} and len(tasks) >= 5
    with serve_apps(t.app for t in tasks) as apps:
        outcomes = run_suite(browser, tasks, apps)
    wrong = [(o.task.name, o.detail) for o in outcomes if o.outcome == WRONG]
    assert not wrong
    grammar_failed = [
        (o.task.name, o.detail) for o in outcomes if o.task.style == "grammar" and o.outcome != PASS
    ]
    assert not grammar_failed
    assert not [o.task.name for o in outcomes if o.leaked]
