"""Opening, choosing and closing tabs by the words people use for them.

A tab is named by its 1-based number, a position ("first", "last",
"previous", "next", "new") or words from its title or URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nodes.agent.loop.session import Session
from shared.errors import ActionFailed

if TYPE_CHECKING:
    from playwright.sync_api import Page

_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}


def find_tab(s: Session, which: str) -> Page:
    tabs = s.tabs()
    key = which.strip().lower()
    if key in ("current", "this"):
        return s.page
    if key.isdigit():
        return s.tab(int(key))
    if key in _ORDINALS:
        return s.tab(_ORDINALS[key])
    position = tabs.index(s.page) if s.page in tabs else len(tabs) - 1
    if key in ("last", "new", "newest", "latest"):
        return tabs[-1]
    if key in ("previous", "prev", "other", "original"):
        # "other" with two tabs is simply the one we are not on.
        return tabs[position - 1] if position > 0 else tabs[-1]
    if key == "next":
        return tabs[(position + 1) % len(tabs)]
    for page in tabs:
        if key in page.url.lower() or key in page.title().lower():
            return page
    raise ActionFailed(f'there is no tab called "{which}"')


def open_tab(s: Session, url: str) -> None:
    s.guard.check_navigation(url)
    page = s.open_tab()
    page.goto(url, wait_until="load", timeout=s.budget.timeout_ms())


def switch_tab(s: Session, which: str) -> None:
    s.switch_to(find_tab(s, which))


def close_tab(s: Session, which: str) -> None:
    s.close_tab(find_tab(s, which))
