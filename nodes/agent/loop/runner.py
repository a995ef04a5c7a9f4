"""The agent loop: observe, ask the planner, act, record; until done or a limit.

The caller owns the browser context; the agent works in one tab of it (more
if the page opens some) and closes its tabs when it is done, whatever happened.
An action that fails is recorded and its error goes back to the planner with
the next observation; the deadline and cancellation end the run at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from playwright.sync_api import Error as PlaywrightError

from nodes.agent.act.catalog import REGISTRY
from nodes.agent.act.execute import execute
from nodes.agent.act.handlers import guarded
from nodes.agent.actions import (
    Action,
    Done,
    TakeScreenshot,
)
from nodes.agent.loop.budget import Budget
from nodes.agent.loop.guard import Guard
from nodes.agent.loop.redact import Redactor
from nodes.agent.loop.session import POPUP_COUNTER_JS, Session
from nodes.agent.observation.observe import observe
from nodes.agent.observation.summary import format_summary, read_page
from nodes.agent.observation.vision import viewport_image
from nodes.agent.types import (
    AgentResult,
    Observation,
    Planner,
    Screenshot,
    ScreenshotPolicy,
    StepRecord,
)
from nodes.downloads import pause
from shared.errors import (
    ActionFailed,
    AgentError,
    AttemptCancelled,
    DeadlineExceeded,
    StepLimitReached,
    TaskGaveUp,
)

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import BrowserContext, Page

    from nodes.downloads import DownloadCollector


# How long a refused page load may take to show Chromium's error page.
ERROR_PAGE_WAIT_MS = 1000

# Actions that may open a tab: the page is asked whether they did (one call).
_MAY_OPEN_TABS = REGISTRY.flagged("opens_tabs")
# A download's event may come a few ms after the click that started it; a run that
# ends with one of these waits this long for it (only where downloads are caught).
_MAY_DOWNLOAD = REGISTRY.flagged("downloads")
LAST_DOWNLOAD_GRACE_MS = 150
# The longest a failed run's picture of its page may take (``_Run.shoot_failure``).
FAILURE_SHOT_MS = 3000


def _never() -> bool:
    return False


@dataclass(frozen=True, kw_only=True)
class Limits:
    max_steps: int = 50
    max_failures: int = 3  # consecutive failed steps before the run gives up


class _Run:
    def __init__(
        self,
        session: Session,
        policy: ScreenshotPolicy,
        limits: Limits,
        should_stop: Callable[[], bool],
        on_step: Callable[[StepRecord], None] | None,
        on_screenshot: Callable[[Screenshot, int], None] | None = None,
    ) -> None:
        self.session = session
        self.budget = session.budget
        self.policy = policy
        self.limits = limits
        self.should_stop = should_stop
        self.on_step = on_step
        self.on_screenshot = on_screenshot
        self.steps: list[StepRecord] = []
        self.shots: list[Screenshot] = []
        self.results: list[str] = []
        self.screenshot_asked = False
        self.failures = 0  # consecutive
        self.last_action: Action | None = None
        self.taken: list[Action] = []  # the actions of the steps that succeeded
        self.redactor = Redactor()  # passwords out of records, errors and results

    def run(self, planner: Planner) -> AgentResult:
        done: Done | None = None
        while done is None:
            self._check()
            last = self.steps[-1] if self.steps else None
            last_error = last.error if last is not None else None
            if getattr(planner, "reads_page", True):
                observation = observe(
                    self.session,
                    steps_done=len(self.steps),
                    last_error=last_error,
                    extracted=self.results,
                    max_steps=self.limits.max_steps,
                )
                if getattr(planner, "wants_image", False):
                    observation = replace(observation, image=viewport_image(self.session))
            else:
                observation = Observation(
                    url=self.session.page.url,
                    steps_done=len(self.steps),
                    last_error=last_error,
                    extracted=tuple(self.results),
                    max_steps=self.limits.max_steps,
                )
            actions = planner.next_actions(observation, tuple(self.steps))
            if not actions:
                break
            done = self._run_batch(actions)
        self._last_downloads()
        return self._finish(done)

    def _run_batch(self, actions: list[Action]) -> Done | None:
        for action in actions:
            if isinstance(action, Done):
                return action
            if len(self.steps) >= self.limits.max_steps:
                raise StepLimitReached(
                    f"the task was not finished within {self.limits.max_steps} steps"
                )
            where = (self.session.page, self.session.page.url)
            error = self._step(action)
            if error is not None:
                self.failures += 1
                if self.failures >= self.limits.max_failures:
                    raise ActionFailed(
                        f"{error} ({self.failures} failed steps in a row)"
                        if self.failures > 1
                        else error
                    )
                return None  # the rest of the batch was planned for a page that did not happen
            self.failures = 0
            if (self.session.page, self.session.page.url) != where:
                return None  # element indices the planner used belong to the page it left
        return None

    def _check(self) -> None:
        if self.should_stop():
            raise AttemptCancelled("the attempt was cancelled")
        self.budget.check()
        if self.session.downloads is not None:  # between steps too (a planner's call)
            self.session.downloads.enforce_cap()

    def _step(self, action: Action) -> str | None:
        """Run one action as a step; returns its error, if it failed."""
        self._check()
        if self.session.page.is_closed():
            # A tab that closed itself since (one opened for a download): back to the last.
            self.session.follow_tabs()
        index = len(self.steps) + 1
        url_before = self.session.page.url
        started = time.monotonic()
        error = None
        self.session.guard.start_step()
        self.redactor.learn(action)
        try:
            produced = execute(self.session, action)
        except ActionFailed as exc:
            produced, error = None, exc.message
        # Deadline and cancellation errors propagate: the step is recorded on the way.
        except BaseException as exc:
            record = self._record(index, action, started, error=str(exc) or type(exc).__name__)
            self._emit(record)
            raise
        session = self.session
        guarded(
            self.budget,
            "follow the tabs",
            lambda: session.follow_tabs(
                expect_new=isinstance(action, _MAY_OPEN_TABS) and session.take_popups() > 0
            ),
        )
        error = self._refused_by_egress(error) or error or self._left_allowed_domains()
        error = self.redactor.mask_optional(error)
        record = self._record(index, action, started, error=error)
        # The step is announced once its screenshot, if the mode takes one, is taken.
        try:
            if error is not None:
                return error
            if produced is not None:
                self.results.append(self.redactor.mask(produced))
            self.results.extend(self._downloads())
            self.last_action = action
            self.taken.append(action)
            if isinstance(action, TakeScreenshot):
                self.screenshot_asked = True
            mode = self.policy.mode
            if mode == "every_step" or (
                mode == "on_navigation" and self.session.page.url != url_before
            ):
                self._shoot(index, full_page=False)
            return None
        finally:
            self._emit(record)

    def _downloads(self) -> list[str]:
        """A line for each download the step started: kept, or stopped and why."""
        collector = self.session.downloads
        if collector is None:
            return []
        return collector.settle(self.session.page, self.budget.left_ms)

    def _last_downloads(self) -> None:
        collector = self.session.downloads
        if collector is None or not isinstance(self.last_action, _MAY_DOWNLOAD):
            return
        waited_ms = 0
        while not collector.pending and waited_ms < LAST_DOWNLOAD_GRACE_MS:
            self._check()
            pause(self.session.page, 25)
            waited_ms += 25
        self.results.extend(self._downloads())

    def _refused_by_egress(self, error: str | None) -> str | None:
        message = self.session.guard.take_egress_refusal(error)
        if message is not None:
            # The tab is left on Chromium's error page, which holds nothing of the
            # destination. Let that page commit first: closing a tab while it does costs
            # seconds (see Session.close_all).
            with suppress(PlaywrightError):
                self.session.page.wait_for_url(
                    "chrome-error://**", timeout=min(ERROR_PAGE_WAIT_MS, self.budget.timeout_ms())
                )
        return message

    def _left_allowed_domains(self) -> str | None:
        guard = self.session.guard
        refused = guard.take_refused()
        url = self.session.page.url
        if not refused and guard.allows(url):
            return None
        # A redirect is not routed, so a page outside the list can only be left behind.
        if not guard.allows(url):
            refused.append(url)
            guarded(
                self.budget,
                "leave a page outside the allowed domains",
                lambda: self.session.page.goto("about:blank", timeout=self.budget.timeout_ms()),
            )
        return f"navigation to {refused[0]} was blocked: not among the allowed domains"

    def _record(self, index: int, action: Action, started: float, error: str | None) -> StepRecord:
        record = StepRecord(
            index=index,
            action=self.redactor.mask(action.describe()),
            url=self.redactor.mask(self.session.page.url),
            ok=error is None,
            error=self.redactor.mask_optional(error),
            duration_ms=round((time.monotonic() - started) * 1000),
        )
        self.steps.append(record)
        return record

    def _emit(self, record: StepRecord) -> None:
        if self.on_step is not None:
            self.on_step(record)

    def _shoot(self, step: int, *, full_page: bool, cap_ms: float | None = None) -> None:
        page = self.session.page
        png = guarded(
            self.budget,
            "take a screenshot",
            lambda: page.screenshot(
                type="png", full_page=full_page, timeout=self.budget.timeout_ms(cap_ms)
            ),
        )
        shot = Screenshot(png=png, step=step, url=page.url)
        self.shots.append(shot)
        if self.on_screenshot is not None:
            self.on_screenshot(shot, len(self.shots))

    def shoot_failure(self) -> None:
        """The run failed: the page as it was then, where the mode takes pictures and
        its last one is not of the last step already (final_only's one picture, or a
        failed step's, which every_step and on_navigation skip). It goes the way of the
        other screenshots (``on_screenshot``), and the failed task shows them. Best
        effort: a page that is gone or out of time leaves the failure as it was."""
        mode = self.policy.mode
        if (
            mode is None
            or not self.steps
            or (self.shots and self.shots[-1].step == len(self.steps))
        ):
            return  # no mode; nothing opened yet (a blank tab); or taken already
        full_page = self.policy.full_page if mode == "final_only" else False
        with suppress(Exception):
            if not self.session.page.is_closed():
                # A page that just failed may be hung: the report must not wait long.
                self._shoot(len(self.steps), full_page=full_page, cap_ms=FAILURE_SHOT_MS)

    def _finish(self, done: Done | None) -> AgentResult:
        if done is not None and not done.success:
            raise TaskGaveUp(done.text or None)
        mode, full_page = self.policy.mode, self.policy.full_page
        if mode is None and self.screenshot_asked:
            # Asking for a screenshot in words must produce one even with no policy.
            mode, full_page = "final_only", True
        if mode == "final_only":
            self._shoot(len(self.steps), full_page=full_page)
        page = self.session.page
        if done is not None and done.text:
            result = done.text
        elif self.results:
            result = "\n\n".join(self.results)
        else:
            digest = guarded(self.budget, "read the page", lambda: read_page(page, self.budget))
            if self.screenshot_asked:
                result = f"Screenshot of {digest.title or digest.url} ({digest.url})"
            else:
                result = format_summary(digest)
        return AgentResult(
            result=self.redactor.mask(result),
            steps=tuple(self.steps),
            screenshots=tuple(self.shots),
            final_url=self.redactor.mask(page.url),
            actions=tuple(self.taken),
        )


def run_planner(
    context: BrowserContext,
    planner: Planner,
    *,
    policy: ScreenshotPolicy,
    deadline: float,
    should_stop: Callable[[], bool] = _never,
    on_step: Callable[[StepRecord], None] | None = None,
    action_timeout_ms: int = 15000,
    page: Page | None = None,
    limits: Limits | None = None,
    guard: Guard | None = None,
    on_screenshot: Callable[[Screenshot, int], None] | None = None,
    files: Mapping[str, Path] | None = None,
    downloads: DownloadCollector | None = None,
) -> AgentResult:
    """Run any planner in ``page`` (a ready tab of ``context``) or a new one.
    ``on_step`` is called after each step, once the screenshot the mode takes at that
    step (if any) is handed to ``on_screenshot`` with its 1-based number. ``downloads``
    catches the files the pages download; each step's result reports them."""
    budget = Budget(deadline, action_timeout_ms)
    if should_stop():
        raise AttemptCancelled("the attempt was cancelled")
    budget.check()
    guard = guard or Guard()
    guard.install(context)
    try:
        guarded(budget, "prepare the browser", lambda: context.add_init_script(POPUP_COUNTER_JS))
        if page is None:
            page = guarded(budget, "open a browser tab", context.new_page)
        session = Session(context, page, budget, guard, files=files)
        if downloads is not None:
            downloads.attach(context)
            session.downloads = downloads
        try:
            run = _Run(session, policy, limits or Limits(), should_stop, on_step, on_screenshot)
            try:
                return run.run(planner)
            except AgentError as exc:
                # Not when cancelled (nobody is waiting) or out of time (none is left).
                if not isinstance(exc, AttemptCancelled | DeadlineExceeded):
                    run.shoot_failure()
                raise
        finally:
            if downloads is not None:
                downloads.detach()
            session.close_all()
    finally:
        guard.uninstall()
