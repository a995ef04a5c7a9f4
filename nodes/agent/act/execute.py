"""Carrying out one action in the current tab; Playwright errors stop here.

The handler is the one the action's declaration names (``catalog``). Every
handler bounds its Playwright calls with the budget; ``guarded`` turns whatever
Playwright raises into ActionFailed (or DeadlineExceeded when the time is gone)
quoting the step, so callers only ever see shared.errors types.
"""

from __future__ import annotations

from nodes.agent import actions as a
from nodes.agent.act.catalog import REGISTRY
from nodes.agent.act.handlers import guarded
from nodes.agent.loop.session import Session
from shared.errors import ActionFailed


def execute(s: Session, action: a.Action) -> str | None:
    """Run one action; returns the text it produced for the result, if any."""
    handler = REGISTRY.handler(action)
    if handler is None:
        raise ActionFailed(f"could not {action.describe()}: this agent cannot do that")
    s.budget.check()
    return guarded(s.budget, action.describe(), lambda: handler(s, action))
