"""Values the agent hands back, and the planner interface.

The runner only talks to a ``Planner``; the offline rules planner is one
implementation, an LLM-backed one can be another without touching the runner.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

# The request's screenshot policy, which the agent applies; re-exported for the agent.
from shared.request import ScreenshotPolicy as ScreenshotPolicy

if TYPE_CHECKING:
    from nodes.agent.actions import Action

# Only these are worth saying when false; "not disabled" is noise.
_FALSE_STATES = {"checked": "unchecked", "expanded": "collapsed"}


@dataclass(frozen=True, kw_only=True)
class Screenshot:
    png: bytes
    step: int  # 1-based index of the step it belongs to
    url: str

    def __repr__(self) -> str:
        # The PNG bytes would flood logs and test failure output.
        return f"Screenshot(step={self.step}, url={self.url!r}, png=<{len(self.png)} bytes>)"


@dataclass(frozen=True, kw_only=True)
class StepRecord:
    index: int  # 1-based
    action: str  # human readable, e.g. 'open https://x/', 'click "Sign in"'
    url: str  # page URL after the action
    ok: bool
    error: str | None
    duration_ms: int


@dataclass(frozen=True, kw_only=True)
class AgentResult:
    result: str
    steps: tuple[StepRecord, ...]
    screenshots: tuple[Screenshot, ...]
    final_url: str
    # With an output schema: the structured result, which matches it (shared/output_schema.py).
    data: Any = None
    # The actions of the steps that succeeded, in order (what the replay script repeats).
    actions: tuple[Action, ...] = field(default=(), repr=False)
    # What the run adds to the task's ``info``: planner, plan, replay (agent.py).
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Element:
    """An interactive element as a planner sees it; ``index`` is how actions name it."""

    index: int
    role: str  # ARIA role, e.g. "link", "textbox", "checkbox", "combobox"
    name: str  # accessible name: aria-label, label, placeholder or text
    tag: str
    frame: int = 0  # 0: the tab's main frame; n: ``Observation.frames[n - 1]``
    in_view: bool = True
    state: Mapping[str, Any] = field(default_factory=dict)  # checked, value, options, href...

    def describe(self) -> str:
        """One line for a language model: ``[3] textbox "Email" value="a@b.c"``."""
        parts = [f"[{self.index}] {self.role}", json.dumps(self.name, ensure_ascii=False)]
        for key, value in self.state.items():
            if value is True:
                parts.append(key)
            elif value is False:
                parts.append(_FALSE_STATES.get(key, ""))
            elif value not in ("", []):
                parts.append(f"{key}=" + json.dumps(value, ensure_ascii=False))
        if self.frame:
            parts.append(f"(frame {self.frame})")
        if not self.in_view:
            parts.append("(off screen)")
        return " ".join(p for p in parts if p)


@dataclass(frozen=True, kw_only=True)
class Tab:
    index: int  # 1-based, in the order the tabs were opened
    url: str
    title: str
    current: bool


@dataclass(frozen=True, kw_only=True)
class Observation:
    """What a planner may look at before choosing its next actions.

    Built after every step by ``observe``; the rules planner only reads
    ``url`` and the outcome of the last step, an LLM planner reads it all.
    """

    url: str
    steps_done: int
    title: str = ""
    text: str = ""  # the visible text, shortened
    elements: tuple[Element, ...] = ()
    more_elements: bool = False  # the element list was cut at its limit
    frames: tuple[str, ...] = ()  # URLs of the child frames whose elements are listed
    tabs: tuple[Tab, ...] = ()
    scroll: Mapping[str, int] = field(default_factory=dict)  # y, height, viewport (px)
    last_error: str | None = None  # why the last step failed, if it did
    extracted: tuple[str, ...] = ()  # what extract actions returned so far
    max_steps: int = 0
    uploads: tuple[str, ...] = ()  # names of the task's files the upload_file tool takes
    # A data URL of the labelled viewport, for a planner that asks for one (observation/vision.py).
    image: str | None = field(default=None, repr=False)


class Planner(Protocol):
    """Chooses the next actions from what the page shows and what happened so far.

    A planner may have a ``reads_page`` attribute: when it is false before a call,
    the runner skips distilling the page's elements and passes only the URL and
    the last step's outcome (the rules planner does this for steps that do not act
    on an element). One with a true ``wants_image`` gets ``Observation.image`` too.
    """

    def next_actions(self, observation: Observation, history: Sequence[StepRecord]) -> list[Action]:
        """The actions to run next; an empty list means the task is done."""
        ...
