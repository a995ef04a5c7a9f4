"""How an agent run can end without a result, beyond the errors in shared.errors.

    AgentError (shared.errors)
    ├── PlannerFailed       the planner could not choose an action (model unreachable,
    │                       or its replies unusable after every retry)
    ├── StepLimitReached    the task was not finished within the template's max_steps
    └── TaskGaveUp          the planner said it could not do the task

They are AgentErrors, so a node reports their message as the task's error.
"""

from __future__ import annotations

from shared.errors import AgentError


class PlannerFailed(AgentError):
    """The planner could not choose the next action."""


class StepLimitReached(AgentError):
    """The task was not finished within its step limit."""


class TaskGaveUp(AgentError):
    """The agent could not complete the task."""
