"""Honest success against a real Chromium: a step that should change the page waits
for its effect, however late it comes, and fails when none comes; a return or an
extraction with nothing to read fails instead of answering with something else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from nodes.agent import AgentResult, ScreenshotPolicy, StepRecord, run_agent
from shared.errors import ActionFailed

Run = Callable[..., AgentResult]
# Failing steps wait this long for an effect; long enough for every effect these
# pages have (the slowest comes after 1.5 s) to show on a busy machine.
SHORT_TIMEOUT_MS = 2500


@pytest.fixture()
def run(context: BrowserContext) -> Run:
    def _run(instruction: str, **kw: Any) -> AgentResult:
        kw.setdefault("deadline", time.monotonic() + 30)
        return run_agent(context, instruction, policy=ScreenshotPolicy(), **kw)

    return _run


@pytest.mark.parametrize("delay", [300, 1500])
def test_a_search_whose_results_come_late(run: Run, base_url: str, delay: int) -> None:
    result = run(
        f"Open {base_url}/async_search.html?delay={delay}, search for 'jap' and return the text"
    )
    assert '2 teas found for "jap"' in result.result
    assert "Sencha (Japan)" in result.result and "Gyokuro (Japan)" in result.result
    assert "Searching" not in result.result  # not the spinner shown in the meantime


def test_a_search_that_never_shows_results_fails(run: Run, base_url: str) -> None:
    steps: list[StepRecord] = []
    with pytest.raises(ActionFailed, match="could not press Enter: nothing happened") as caught:
        run(
            f"Open {base_url}/async_search.html?broken=1, search for 'jap' and return the title",
            on_step=steps.append,
            action_timeout_ms=SHORT_TIMEOUT_MS,
        )
    assert "the page neither navigated nor changed" in str(caught.value)
    assert [s.ok for s in steps] == [True, True, False]  # never "Async Tea Search" as an answer


def test_a_filter_that_shows_results_as_you_type(run: Run, base_url: str) -> None:
    # Its Enter does nothing more; the typing already showed the results.
    result = run(
        f"Open {base_url}/async_search.html?live=1&broken=1, search for 'india' "
        "and return the text",
        action_timeout_ms=SHORT_TIMEOUT_MS,
    )
    assert "Darjeeling (India)" in result.result and "Assam (India)" in result.result


def test_a_client_side_router(run: Run, base_url: str) -> None:
    result = run(f"Open {base_url}/router.html, click 'About us' and return the text")
    assert result.final_url == f"{base_url}/router.html?view=about"
    assert result.result == "About us\nWe have sold loose-leaf tea since 1921."


@pytest.mark.parametrize(
    ("instruction", "error"),
    [
        ("click 'Place order'", 'could not click "Place order": nothing happened within 2500 ms'),
        (  # a form whose submit handler swallows the submission
            "type 'ada@example.test' into 'Email' and click 'Subscribe'",
            'could not click "Subscribe": nothing happened',
        ),
        (  # the browser refuses to submit a form with a required field left empty
            "click 'Sign up'",
            'could not click "Sign up": the form was not submitted, "Nickname" is not valid: ',
        ),
    ],
)
def test_a_click_that_changes_nothing_fails(
    run: Run, base_url: str, instruction: str, error: str
) -> None:
    steps: list[StepRecord] = []
    started = time.monotonic()
    with pytest.raises(ActionFailed, match=error):
        run(
            f"Open {base_url}/dead.html and {instruction}. Return the text.",
            on_step=steps.append,
            action_timeout_ms=SHORT_TIMEOUT_MS,
        )
    assert not steps[-1].ok and steps[-1].action.startswith("click")
    assert time.monotonic() - started < 10  # one action timeout, not the deadline
    if "not valid" in error:  # the browser said no: no need to wait for anything
        assert steps[-1].duration_ms < SHORT_TIMEOUT_MS


def test_clicks_whose_effect_is_not_a_page_change(run: Run, base_url: str) -> None:
    # Ticking a box, focusing a field, choosing the radio already chosen and pressing
    # the link to the page already open are done when they are done.
    result = run(
        f"Open {base_url}/dead.html. Click 'Gift wrap'. Click 'Email'. "
        "Click 'Standard delivery'. Click 'Dead ends'. Extract the form fields.",
        action_timeout_ms=SHORT_TIMEOUT_MS,
    )
    assert '"Gift wrap": true' in result.result
    assert '"Standard delivery": "standard"' in result.result
    assert all(s.ok for s in result.steps)


def test_a_missing_extraction_target_fails(run: Run, base_url: str) -> None:
    with pytest.raises(
        ActionFailed, match=f"could not extract the tables: the page at {base_url}/dead.html has no"
    ):
        run(f"Open {base_url}/dead.html and extract the tables")


def test_a_page_without_a_title_fails_to_return_one(
    run: Run, base_url: str, context: BrowserContext
) -> None:
    page = context.new_page()
    page.goto(f"{base_url}/index.html")
    page.set_content("<p>No title here</p>")
    with pytest.raises(ActionFailed, match="could not return the title: the page at .* no title"):
        run("Return the title", page=page)
