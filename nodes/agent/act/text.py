"""Waiting for a text on the page, and scrolling to one.

Same contract as ``interact``: raise ActionFailed quoting the user's words when
nothing fits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from nodes.agent.act import locate
from nodes.agent.act.interact import not_found
from nodes.agent.loop.budget import Budget
from shared.errors import ActionFailed

if TYPE_CHECKING:
    from playwright.sync_api import Page


def scroll_to(page: Page, text: str, budget: Budget) -> None:
    target = locate.poll(
        page, budget, lambda late: locate.first_visible(iter([page.get_by_text(text)]))
    )
    if target is None:
        raise not_found(budget, f'could not scroll to "{text}": no such text on the page')
    target.scroll_into_view_if_needed(timeout=budget.timeout_ms())


ERROR_GRACE_MS = 1000
# Where applications say what went wrong with a form (Django's errornote, Roundup's
# "Error: ..." paragraph, ARIA alerts).
_ERRORS = (
    "[role=alert], .errornote, .errorlist, .error-message, .alert-danger, .alert-error, "
    ".error, .errors, p:text-matches('^\\s*Error:', 'i'), div:text-matches('^\\s*Error:', 'i')"
)


def page_error(page: Page) -> str:
    """The first error message the page shows, or ""."""
    try:
        found = page.locator(_ERRORS).filter(visible=True)
        return " ".join(found.first.inner_text(timeout=500).split())[:200] if found.count() else ""
    except PlaywrightError:
        return ""


def wait_for_text(page: Page, text: str, gone: bool, budget: Budget) -> None:
    shown = page.get_by_text(text).filter(visible=True)
    if gone:
        shown.first.wait_for(state="detached", timeout=budget.timeout_ms())
        return
    # A page that shows an error instead (a form sent back) is judged after a second,
    # not at the end of the action timeout.
    rest_ms = max(1.0, budget.action_timeout_ms - ERROR_GRACE_MS)
    for last, cap_ms in ((False, ERROR_GRACE_MS), (True, rest_ms)):
        try:
            shown.first.wait_for(state="attached", timeout=budget.timeout_ms(cap_ms=cap_ms))
            return
        except PlaywrightTimeoutError as exc:
            said = "" if budget.expired() else page_error(page)
            if said:
                # "file a new issue titled X": the form came back with the app's reason.
                raise ActionFailed(f'"{text}" did not appear; the page says: {said}') from exc
            if last:
                raise
