"""Waiting for a text on the page, and scrolling to one.

Same contract as ``interact``: raise ActionFailed quoting the user's words when
nothing fits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nodes.agent.act import locate
from nodes.agent.act.interact import not_found
from nodes.agent.loop.budget import Budget

if TYPE_CHECKING:
    from playwright.sync_api import Page


def scroll_to(page: Page, text: str, budget: Budget) -> None:
    target = locate.poll(
        page, budget, lambda late: locate.first_visible(iter([page.get_by_text(text)]))
    )
    if target is None:
        raise not_found(budget, f'could not scroll to "{text}": no such text on the page')
    target.scroll_into_view_if_needed(timeout=budget.timeout_ms())


def wait_for_text(page: Page, text: str, gone: bool, budget: Budget) -> None:
    shown = page.get_by_text(text).filter(visible=True)
    shown.first.wait_for(state="detached" if gone else "attached", timeout=budget.timeout_ms())
