"""The tabs of one run: which one is current, which frames its indices point into.

Clicks may open tabs (``target=_blank``, ``window.open``) and pages may close
themselves, so after each action the session looks at the context's pages:
a tab the action opened becomes the current one, as it would for a person.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from nodes.agent.loop.budget import Budget
from nodes.agent.loop.guard import Guard
from nodes.agent.loop.script import run_script
from nodes.agent.observation.distill_js import INDEX_ATTRIBUTE
from shared.errors import ActionFailed

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import BrowserContext, Frame, Locator, Page

    from nodes.downloads import DownloadCollector

# A new tab gets this long to appear and load before the run goes on without it.
NEW_TAB_LOAD_MS = 5000.0
CLOSE_TAB_MS = 3000.0
CLOSE_ALL_S = 2.0

# Chromium reports a new tab a little after the click that opened it, so each
# document counts the tabs it opens; after a click (and in every observation, see
# distill_js) the count is read and reset, and when it is not zero the run waits
# for the tab to show up.
POPUP_COUNTER_JS = """
(() => {
  const mark = () => { window.__agentPopups = (window.__agentPopups || 0) + 1; };
  const open = window.open;
  window.open = function (...args) { mark(); return open.apply(this, args); };
  document.addEventListener('click', (event) => {
    const link = event.target instanceof Element && event.target.closest('a[target]');
    if (link && !['', '_self', '_parent', '_top'].includes(link.target)) mark();
  }, true);
})();
"""
TAKE_POPUPS_JS = (
    "() => { const n = window.__agentPopups || 0; window.__agentPopups = 0; return n; }"
)


class Session:
    def __init__(
        self,
        context: BrowserContext,
        page: Page,
        budget: Budget,
        guard: Guard | None = None,
        *,
        files: Mapping[str, Path] | None = None,
    ) -> None:
        self.context = context
        # The task's uploads by name, as local files for file inputs (nodes/uploads.py).
        self.files: Mapping[str, Path] = files or {}
        self.page = page
        self.budget = budget
        self.guard = guard or Guard()
        self._seen: list[Page] = list(context.pages) or [page]
        self._visited: list[Page] = [page]  # most recent last: where closing a tab returns to
        # Frame of every element index in the latest observation.
        self.element_frames: dict[int, Frame] = {}
        self.downloads: DownloadCollector | None = None  # set by the runner when caught
        # The page as it was before the last typing (effects.note_typing), if not used yet.
        self.typing_mark: tuple[Frame, dict[str, Any]] | None = None

    def tabs(self) -> list[Page]:
        return [p for p in self.context.pages if not p.is_closed()]

    def take_popups(self) -> int:
        """How many tabs the current document opened since it was last asked."""
        try:
            return int(run_script(self.page, TAKE_POPUPS_JS, budget=self.budget) or 0)
        except PlaywrightError:  # navigating or closed: none that we can know of
            return 0

    def has_new_tabs(self) -> bool:
        return any(p not in self._seen for p in self.context.pages)

    def follow_tabs(self, expect_new: bool = False) -> None:
        """Switch to a tab opened since the last call, or away from one that closed.

        ``expect_new``: the page says it opened a tab, which Chromium may not have
        reported yet; wait for it (bounded).
        """
        if expect_new and not self.has_new_tabs():
            if self.downloads is None:
                with suppress(PlaywrightTimeoutError):
                    self.context.wait_for_event(
                        "page", timeout=self.budget.timeout_ms(cap_ms=NEW_TAB_LOAD_MS)
                    )
            else:
                self._tab_or_download()
        fresh = [p for p in self.context.pages if p not in self._seen]
        self._seen.extend(fresh)
        if fresh:
            self._go(fresh[-1])
            if self.downloads is None:
                with suppress(PlaywrightTimeoutError):
                    self.page.wait_for_load_state(
                        "load", timeout=self.budget.timeout_ms(cap_ms=NEW_TAB_LOAD_MS)
                    )
            else:
                self._load_or_download(self.page)
            self.budget.check()
        elif self.page.is_closed():
            self._fall_back()

    def _tab_or_download(self) -> None:
        """Wait for the tab the page says it opened, or for a download: a link to a file
        with target=_blank opens a tab that Chromium closes again as the download
        starts, and there is no tab to wait for then."""
        assert self.downloads is not None
        until = time.monotonic() + self.budget.timeout_ms(cap_ms=NEW_TAB_LOAD_MS) / 1000
        while (left_ms := (until - time.monotonic()) * 1000) > 0:
            if self.downloads.pending or self.has_new_tabs():
                return
            with suppress(PlaywrightTimeoutError):
                self.context.wait_for_event("page", timeout=min(left_ms, 100))

    def _load_or_download(self, page: Page) -> None:
        """Wait for a new tab to load, unless it only downloads a file (a link with
        target=_blank to an attachment): such a tab stays blank and Chromium closes it
        as the download starts; it is left (closed if need be) for the tab before."""
        assert self.downloads is not None
        until = time.monotonic() + self.budget.timeout_ms(cap_ms=NEW_TAB_LOAD_MS) / 1000
        while (left_ms := (until - time.monotonic()) * 1000) > 0:
            if page.is_closed():
                break
            if self.downloads.pending and page.url in ("", "about:blank"):
                with suppress(ActionFailed):
                    self.close_tab(page)
                return
            try:
                page.wait_for_load_state("load", timeout=min(left_ms, 100))
                return
            except PlaywrightTimeoutError:
                continue
            except PlaywrightError:  # closed under us
                break
        if page.is_closed() and page is self.page:
            self._fall_back()

    def _go(self, page: Page) -> None:
        self.page = page
        self._visited.append(page)

    def _fall_back(self) -> None:
        """After the current tab closed: the tab we were on before it, as browsers do."""
        remaining = self.tabs()
        earlier = [p for p in self._visited if p in remaining]
        if earlier:
            self._go(earlier[-1])
        elif remaining:
            self._go(remaining[-1])
        else:  # no tab left: a blank one keeps the run (and its final summary) going
            self._go(self.context.new_page())
            self._seen.append(self.page)
        self.page.bring_to_front()

    def tab(self, number: int) -> Page:
        tabs = self.tabs()
        if not 1 <= number <= len(tabs):
            raise ActionFailed(f"there is no tab {number}; {len(tabs)} open")
        return tabs[number - 1]

    def switch_to(self, page: Page) -> None:
        self._go(page)
        page.bring_to_front()

    def close_tab(self, page: Page) -> None:
        close_without_waiting(page)
        if not page.is_closed():
            with suppress(PlaywrightTimeoutError):
                page.wait_for_event("close", timeout=self.budget.timeout_ms(cap_ms=CLOSE_TAB_MS))
        if not page.is_closed():
            raise ActionFailed("the tab did not close (a page may refuse to be left)")
        if page is self.page or self.page.is_closed():
            self._fall_back()

    def open_tab(self) -> Page:
        page = self.context.new_page()
        self._seen.append(page)
        self._go(page)
        return page

    def element(self, index: int) -> Locator:
        """The element the latest observation listed under ``index``."""
        frame = self.element_frames.get(index)
        if frame is None or frame.is_detached():
            raise ActionFailed(f"there is no element [{index}] on the page; look again")
        return frame.locator(f'[{INDEX_ATTRIBUTE}="{index}"]')

    def close_all(self) -> None:
        for page in self._seen:
            close_without_waiting(page)
        # Closing normally takes milliseconds; a tab stuck in the race above is
        # left to the context's owner after a short while, and never past the deadline.
        until = time.monotonic() + min(CLOSE_ALL_S, max(0.0, self.budget.left_ms() / 1000))
        for page in self._seen:
            left_ms = (until - time.monotonic()) * 1000
            if page.is_closed() or left_ms <= 0:
                continue
            with suppress(PlaywrightError):
                page.wait_for_event("close", timeout=left_ms)


def close_without_waiting(page: Page) -> None:
    """Ask a tab to close without waiting for it: ``page.close()`` can wait forever
    when the close races a navigation (crbug.com/536385539, microsoft/playwright#42366).
    Whatever stays open goes with the context, which its owner closes."""
    with suppress(PlaywrightError):
        page.close(run_before_unload=True)
