"""Loop detection: the same action chosen again on a page that has not changed.

"Agents loop until max_steps" is among the commonest complaints about browser agents:
a model clicks a button that does nothing, sees the same page, and clicks it again.
The planner keys every action it is given on the page state it was chosen on (a hash
of what the observation shows, less the step counter). The second time an action
comes on the same state it still runs, and the next observation carries a warning;
the third time the run ends with ``agent is repeating itself: <action>`` instead of
spending the remaining steps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from nodes.agent.actions import Action, Done
from nodes.agent.types import Observation
from shared.errors import PlannerFailed

# The times one action may come on one page state; the next one ends the run.
WARN_AT = 2


class AgentLooping(PlannerFailed):
    """agent is repeating itself"""


def page_state(observation: Observation) -> str:
    """A digest of what the page shows: URL, title, text, elements with their state,
    tabs, scroll position and what was extracted (the step counter is left out)."""
    shown = {
        "url": observation.url,
        "title": observation.title,
        "text": observation.text,
        "elements": [e.describe() for e in observation.elements],
        "tabs": [(t.url, t.current) for t in observation.tabs],
        "scroll": dict(observation.scroll),
        "extracted": list(observation.extracted[-1:]),
    }
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()


class LoopDetector:
    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], int] = {}
        self.warning = ""  # for the next observation; cleared once it is sent

    def check(self, observation: Observation, actions: Sequence[Action]) -> None:
        """Count ``actions`` against the state they were chosen on; set the warning on a
        first repeat, raise AgentLooping on the next."""
        state = page_state(observation)
        repeated = []
        for action in actions:
            if isinstance(action, Done):
                continue
            key = (state, repr(action))
            self.seen[key] = self.seen.get(key, 0) + 1
            if self.seen[key] > WARN_AT:
                raise AgentLooping(f"agent is repeating itself: {action.describe()}")
            if self.seen[key] == WARN_AT:
                repeated.append(action.describe())
        if repeated:
            self.warning = (
                f"Warning: you repeated {'; '.join(repeated)} on an unchanged page, and it "
                "changed nothing. Do something different, or call done (success false if the "
                "task cannot be completed); repeating it again ends the task."
            )

    def take_warning(self) -> str:
        warning, self.warning = self.warning, ""
        return warning
