"""Running the agent's own scripts in a page: one round trip each.

``locator.evaluate(..., timeout=)`` looks bounded but is not: its timeout only
covers finding the element, the script itself runs without one, and finding
and releasing the element cost two more round trips. The agent runs a script
at every step (to observe the page), so it evaluates in the frame directly.
A page whose scripts never yield blocks the renderer for every call alike;
cancellation (which closes the context) and the scheduler's reaper end those.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from nodes.agent.loop.budget import Budget

if TYPE_CHECKING:
    from playwright.sync_api import Frame, Page


def run_script(target: Page | Frame, script: str, arg: Any = None, *, budget: Budget) -> Any:
    """``script`` (a JS function of one argument) evaluated in ``target``'s main world.

    A navigation that lands while the script runs destroys its context; the script
    runs once more in the new document, after that has loaded."""
    budget.check()
    try:
        return target.evaluate(script, arg)
    except PlaywrightError as exc:
        if "context was destroyed" not in (exc.message or ""):
            raise
    frame = target.main_frame if hasattr(target, "main_frame") else target
    try:
        frame.wait_for_load_state("load", timeout=budget.timeout_ms())
    except PlaywrightTimeoutError:
        budget.check()  # a page that never finishes loading can still be read
    return target.evaluate(script, arg)
