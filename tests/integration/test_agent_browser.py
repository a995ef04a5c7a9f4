"""The agent against a real Chromium and the local test pages.

One browser serves the whole module (starting Chromium is the slow part);
each test gets a fresh context, closed afterwards.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from nodes.agent import AgentResult, ScreenshotPolicy, StepRecord, run_agent
from nodes.browser import launch_chromium
from shared.errors import ActionFailed, AttemptCancelled, DeadlineExceeded, InstructionNotUnderstood
from tests.sites.browsing import chromium_children

VIEWPORT_HEIGHT = 800


# Chromium processes below this one when the module began: a cluster another module
# started in this process (the session's, under xdist) runs Chromium of its own.
_OTHERS: set[int] = set()


def _our_chromium_pids() -> set[int]:
    return set(chromium_children()) - _OTHERS


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    _OTHERS.clear()
    _OTHERS.update(chromium_children())
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()
        # browser.close() waits for Chromium to exit; give stragglers a moment anyway.
        for _ in range(50):
            if not _our_chromium_pids():
                break
            time.sleep(0.1)
        assert not _our_chromium_pids(), "Chromium processes left behind"


@pytest.fixture()
def run(context: BrowserContext) -> Callable[..., AgentResult]:
    def _run(instruction: str, mode: str | None = None, **kw: object) -> AgentResult:
        full_page = bool(kw.pop("full_page", True))
        kw.setdefault("deadline", time.monotonic() + 30)
        return run_agent(
            context, instruction, policy=ScreenshotPolicy(mode=mode, full_page=full_page), **kw
        )

    return _run


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_browser_runs_as_our_child_process(browser: Browser) -> None:
    # Makes the leak check in the fixture's teardown meaningful.
    assert _our_chromium_pids()


def test_summarize(run: Callable[..., AgentResult], base_url: str) -> None:
    result = run(f"Open {base_url}/index.html and summarize the page")
    assert "Agent Test Home" in result.result
    assert "A small local site for testing the browsing agent." in result.result
    assert "The quick brown fox" in result.result
    assert "Footer text" not in result.result  # <main> wins over the whole body
    assert [s.action for s in result.steps] == [f"open {base_url}/index.html", "summarize the page"]
    assert all(s.ok and s.error is None for s in result.steps)
    assert result.final_url == f"{base_url}/index.html"
    assert result.screenshots == ()


def test_screenshot_in_words_without_policy(run: Callable[..., AgentResult], base_url: str) -> None:
    result = run(f"Open {base_url}/index.html and return a screenshot of the page.")
    assert len(result.screenshots) == 1
    shot = result.screenshots[0]
    assert shot.step == len(result.steps) == 2
    assert png_size(shot.png)[0] == 1280
    assert result.result == f"Screenshot of Agent Test Home ({base_url}/index.html)"


def test_change_language(run: Callable[..., AgentResult], base_url: str) -> None:
    result = run(
        f"Open {base_url}/lang.html. Wait until the page is loaded. "
        "Then change the site language to English. Return the result."
    )
    assert result.final_url == f"{base_url}/lang_en.html"
    assert "This is the English version" in result.result
    assert "Добро" not in result.result


def test_form_submission(run: Callable[..., AgentResult], base_url: str) -> None:
    result = run(
        f'Open {base_url}/form.html, type "Ada Lovelace" into the "Full name" field, '
        'fill the "City" field with "London and Paris", '
        'select "Blue" from the "Favourite colour" dropdown and click "Send". Return the text.'
    )
    assert "/form_result.html?" in result.final_url
    assert "Ada Lovelace" in result.result
    assert "London and Paris" in result.result  # placeholder-only field
    assert "blue" in result.result


def test_every_step_screenshots(run: Callable[..., AgentResult], base_url: str) -> None:
    result = run(f'Open {base_url}/links.html, click "Page two" and return the title', "every_step")
    assert result.result == "Links Page Two"
    assert [s.step for s in result.screenshots] == [1, 2, 3]
    assert all(png_size(s.png) == (1280, VIEWPORT_HEIGHT) for s in result.screenshots)


def test_on_navigation_screenshots(run: Callable[..., AgentResult], base_url: str) -> None:
    steps: list[StepRecord] = []
    result = run(
        f"Open {base_url}/links.html, click Show status, click on Details, "
        "click the Go home link, go back and click Page two",
        "on_navigation",
        on_step=steps.append,
    )
    assert list(result.steps) == steps
    assert [s.step for s in result.screenshots] == [1, 4, 5, 6]
    assert [s.url.rsplit("/", 1)[1] for s in result.screenshots] == [
        "links.html",
        "index.html",
        "links.html",
        "links_2.html",
    ]
    assert "Page two" in result.result  # no result clause: the final page's summary


@pytest.mark.parametrize(("full_page", "tall"), [(True, True), (False, False)])
def test_final_only(
    run: Callable[..., AgentResult], base_url: str, full_page: bool, tall: bool
) -> None:
    result = run(f"Open {base_url}/tall.html", "final_only", full_page=full_page)
    assert len(result.screenshots) == 1
    width, height = png_size(result.screenshots[0].png)
    assert width == 1280
    assert (height >= 4000) if tall else (height == VIEWPORT_HEIGHT)


def test_unknown_clause_fails_before_opening_a_page(
    run: Callable[..., AgentResult], context: BrowserContext, base_url: str
) -> None:
    with pytest.raises(InstructionNotUnderstood, match='could not understand "juggle the logo"'):
        run(f"Open {base_url}/index.html and juggle the logo")
    assert context.pages == []


@pytest.mark.parametrize("text", ["Sign up", "Secret"])  # "Secret" exists but is hidden
def test_missing_element(run: Callable[..., AgentResult], base_url: str, text: str) -> None:
    steps: list[StepRecord] = []
    with pytest.raises(ActionFailed, match=f'could not click "{text}"'):
        run(
            f'Open {base_url}/links.html and click "{text}"',
            on_step=steps.append,
            # Short, so the search gives up soon; not so short that opening the page
            # fails on a busy machine.
            action_timeout_ms=2000,
        )
    assert [s.ok for s in steps] == [True, False]
    assert steps[1].error and f'"{text}"' in steps[1].error


@pytest.mark.parametrize(
    ("mode", "full_page", "sizes"),
    [
        # final_only's one picture is the page as the failure left it, full page or not.
        ("final_only", True, [(1280, 4000)]),
        ("final_only", False, [(1280, VIEWPORT_HEIGHT)]),
        # every_step: the step that opened the page, then the failed step's page.
        ("every_step", True, [(1280, VIEWPORT_HEIGHT), (1280, VIEWPORT_HEIGHT)]),
        (None, True, []),  # no mode, no pictures
    ],
)
def test_a_failed_run_shows_the_page_it_failed_on(
    run: Callable[..., AgentResult],
    base_url: str,
    mode: str | None,
    full_page: bool,
    sizes: list[tuple[int, int]],
) -> None:
    shots: list[tuple[int, int, int, str]] = []  # (number, step, height, url)

    def on_screenshot(shot, number: int) -> None:  # noqa: ANN001 - a Screenshot
        shots.append((number, shot.step, png_size(shot.png), shot.url))

    with pytest.raises(ActionFailed, match='could not click "Sign up"'):
        run(
            f'Open {base_url}/tall.html and click "Sign up"',
            mode,
            full_page=full_page,
            on_screenshot=on_screenshot,
            action_timeout_ms=2000,
        )
    assert [size for _, _, size, _ in shots] == sizes
    assert [number for number, *_ in shots] == list(range(1, len(sizes) + 1))
    if shots:  # the last is of the failed step (2), on the page it failed on
        assert shots[-1][1] == 2 and shots[-1][3] == f"{base_url}/tall.html"


def test_a_cancelled_run_takes_no_failure_picture(
    run: Callable[..., AgentResult], base_url: str
) -> None:
    steps: list[StepRecord] = []
    shots: list[int] = []
    with pytest.raises(AttemptCancelled):
        run(
            f'Open {base_url}/index.html. Click "Links".',
            "final_only",
            on_step=steps.append,
            should_stop=lambda: bool(steps),  # cancelled once the page is open
            on_screenshot=lambda shot, number: shots.append(number),
        )
    assert len(steps) == 1 and shots == []


def test_unreachable_url(run: Callable[..., AgentResult]) -> None:
    with pytest.raises(ActionFailed, match="could not open http://127.0.0.1:9/"):
        run("Open http://127.0.0.1:9/")


def test_deadline_in_the_past(run: Callable[..., AgentResult], base_url: str) -> None:
    with pytest.raises(DeadlineExceeded, match="timed out after"):
        run(f"Open {base_url}/index.html", deadline=time.monotonic() - 1)


def test_wait_longer_than_the_deadline(run: Callable[..., AgentResult], base_url: str) -> None:
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        run(f"Open {base_url}/index.html and wait 30 seconds", deadline=time.monotonic() + 3)
    assert time.monotonic() - started < 3


def test_should_stop(run: Callable[..., AgentResult], base_url: str) -> None:
    with pytest.raises(AttemptCancelled):
        run(f"Open {base_url}/index.html", should_stop=lambda: True)

    steps: list[StepRecord] = []
    with pytest.raises(AttemptCancelled):
        run(
            f"Open {base_url}/index.html and summarize the page",
            should_stop=lambda: len(steps) >= 1,
            on_step=steps.append,
        )
    assert [s.index for s in steps] == [1]
