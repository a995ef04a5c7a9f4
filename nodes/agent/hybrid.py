"""The hybrid planner: the rules for the clauses they understand, a model for the rest.

The ``auto`` planner with a model configured. The instruction is compiled clause by
clause as the rules planner does it; runs of understood clauses become rules segments,
each run of clauses the rules do not understand becomes one LLM sub-goal. Segments run
in order in one browser session:

- a rules segment hands out its precompiled actions one at a time; a failed step ends
  the run, as with the rules planner;
- an LLM segment runs a fresh ``LLMPlanner`` whose task is only the sub-goal, with what
  was done before it (and what comes after) as context, on the current page, until the
  model calls ``done``. ``done(success=false)`` ends the run (TaskGaveUp); otherwise its
  text is the segment's part of the result. All sub-goals share the task's usage
  counter, and so its token budget; each has its own loop detector.

The result joins, in order, what the rules steps returned and each sub-goal's answer.
With every clause understood no model is called, and the run is the rules planner's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nodes.agent.actions import Action, Done
from nodes.agent.llm.planner import LLMPlanner
from nodes.agent.rules.planner import parse_clause
from nodes.agent.rules.replay import Unphrasable, is_secret, phrase, redact
from nodes.agent.rules.resolve import RESOLVABLE, resolve
from nodes.agent.rules.split import mask_quotes, split_clauses
from nodes.agent.types import Observation, StepRecord
from shared.errors import ActionFailed, InstructionNotUnderstood

# Builds the planner of one sub-goal: (the sub-goal, the context for the model).
LLMFactory = Callable[[str, str], LLMPlanner]


@dataclass(frozen=True, kw_only=True)
class Segment:
    planner: str  # "rules" or "llm"
    clauses: tuple[str, ...]  # the user's words
    # rules: each action with the number of its clause in ``clauses``
    actions: tuple[tuple[int, Action], ...] = ()

    @property
    def goal(self) -> str:
        return ", then ".join(self.clauses)


def segment_instruction(instruction: str) -> list[Segment]:
    """The instruction's clauses grouped into rules segments and LLM sub-goals."""
    masked = mask_quotes(instruction)
    clauses = split_clauses(masked.text)
    if not clauses:
        raise InstructionNotUnderstood("the instruction is empty")
    parsed: list[tuple[str, list[Action] | None]] = []
    for clause in clauses:
        try:
            parsed.append((masked.restore(clause), parse_clause(clause, masked)))
        except InstructionNotUnderstood:
            parsed.append((masked.restore(clause), None))
    if all(actions is None for _, actions in parsed):
        # One goal for the model, in the user's own words.
        return [Segment(planner="llm", clauses=(instruction.strip(),))]
    segments: list[Segment] = []
    for words, actions in parsed:
        kind = "llm" if actions is None else "rules"
        if not segments or segments[-1].planner != kind:
            segments.append(Segment(planner=kind, clauses=()))
        last = segments[-1]
        numbered = tuple((len(last.clauses), action) for action in actions or ())
        segments[-1] = Segment(
            planner=kind, clauses=(*last.clauses, words), actions=last.actions + numbered
        )
    return segments


@dataclass
class _PlanEntry:
    clause: str
    planner: str
    steps: list[int] = field(default_factory=list)

    def as_info(self) -> dict[str, Any]:
        return {"clause": self.clause, "planner": self.planner, "steps": self.steps}


def _shown_clauses(segment: Segment) -> list[str]:
    """A rules segment's clauses as ``info.plan`` shows them: one that types a password
    is written as its steps (the password a placeholder), the others as the user wrote."""
    shown = [redact(clause) for clause in segment.clauses]
    for number, action in segment.actions:
        if is_secret(action):
            steps = [_phrase(act) for n, act in segment.actions if n == number]
            shown[number] = ". ".join(steps)
    return shown


def _phrase(action: Action) -> str:
    try:
        return phrase(action)  # a password is shown as a placeholder
    except Unphrasable:
        return action.describe()


class HybridPlanner:
    """A ``Planner`` running ``segments`` in order (see the module's docstring)."""

    def __init__(self, segments: Sequence[Segment], make_llm: LLMFactory, vision: str = "off"):
        self.segments = tuple(segments)
        self.make_llm = make_llm
        self.vision = vision
        self.current = 0
        self._cursor = 0  # the next action of the current rules segment
        self._llm: LLMPlanner | None = None
        self._llm_start = 0  # steps taken before the current sub-goal began
        self._rules_step = False  # the last action handed out was a rules one
        self._pending: tuple[Done, int, int] | None = None  # done, steps before, actions
        self._seen = 0  # results of ``Observation.extracted`` taken into account
        self._llm_results: list[str] = []  # what the current sub-goal's steps returned
        self.parts: list[str] = []  # the result, in order
        self.done_so_far: list[str] = []  # for the next sub-goal's context
        self.plan: list[list[_PlanEntry]] = []
        for segment in self.segments:
            if segment.planner == "rules":
                self.plan.append([_PlanEntry(c, "rules") for c in _shown_clauses(segment)])
            else:
                self.plan.append([_PlanEntry(redact(segment.goal), "llm")])

    @property
    def rules_actions(self) -> int:
        return sum(len(s.actions) for s in self.segments if s.planner == "rules")

    @property
    def uses_model(self) -> bool:
        return any(s.planner == "llm" for s in self.segments)

    def plan_info(self) -> list[dict[str, Any]]:
        """``info.plan``: each clause (a sub-goal: its clauses), its planner and steps."""
        return [entry.as_info() for entries in self.plan for entry in entries]

    def _upcoming(self) -> Segment | None:
        """The segment the next call will act in."""
        if self.current >= len(self.segments):
            return None
        segment = self.segments[self.current]
        if segment.planner == "rules" and self._cursor >= len(segment.actions):
            following = self.current + 1
            return self.segments[following] if following < len(self.segments) else None
        return segment

    @property
    def reads_page(self) -> bool:
        upcoming = self._upcoming()
        if upcoming is None:
            return False
        if upcoming.planner == "llm":
            return True
        return isinstance(upcoming.actions[self._cursor][1], RESOLVABLE)

    @property
    def wants_image(self) -> bool:
        upcoming = self._upcoming()
        if upcoming is None or upcoming.planner != "llm":
            return False
        return self._llm.wants_image if self._llm is not None else self.vision != "off"

    def next_actions(self, observation: Observation, history: Sequence[StepRecord]) -> list[Action]:
        self._take_results(observation)
        if self._rules_step:
            self._rules_step = False
            if history and not history[-1].ok:
                # A fixed plan has no other way to the goal: the failed step ends the run.
                raise ActionFailed(history[-1].error or f"could not {history[-1].action}")
        while self.current < len(self.segments):
            segment = self.segments[self.current]
            if segment.planner == "rules":
                if self._cursor < len(segment.actions):
                    return [self._rules_action(segment, observation, history)]
                self._next_segment()
                continue
            actions = self._llm_actions(segment, observation, history)
            if actions is not None:
                return actions
        if not self.uses_model or not self.parts:
            return []
        return [Done("\n\n".join(self.parts))]

    def _take_results(self, observation: Observation) -> None:
        new = list(observation.extracted[self._seen :])
        self._seen = len(observation.extracted)
        in_llm = self.current < len(self.segments) and self.segments[self.current].planner == "llm"
        (self._llm_results if in_llm else self.parts).extend(new)

    def _rules_action(
        self, segment: Segment, observation: Observation, history: Sequence[StepRecord]
    ) -> Action:
        clause, action = segment.actions[self._cursor]
        self._cursor += 1
        self._rules_step = True
        self.plan[self.current][clause].steps.append(len(history) + 1)
        self.done_so_far.append(_phrase(action))
        return resolve(action, observation)

    def _llm_actions(
        self, segment: Segment, observation: Observation, history: Sequence[StepRecord]
    ) -> list[Action] | None:
        """The sub-goal's next actions; None once it is done (the next segment is current)."""
        if self._pending is not None:
            done, before, count = self._pending
            self._pending = None
            ran = history[before:]
            if len(ran) == count and all(step.ok for step in ran):
                self._finish_llm(segment, done, history)
                return None
            # The steps before done did not all run: the model looks again.
        if self._llm is None:
            self._llm = self.make_llm(segment.goal, self._context())
            self._llm_start = len(history)
        actions = self._llm.next_actions(observation, history)
        cut = next((i for i, act in enumerate(actions) if isinstance(act, Done)), None)
        if cut is None:
            return actions
        done = actions[cut]
        assert isinstance(done, Done)
        if not done.success:
            return [done]  # the runner ends the run with TaskGaveUp
        if cut == 0:
            self._finish_llm(segment, done, history)
            return None
        self._pending = (done, len(history), cut)
        return actions[:cut]

    def _finish_llm(self, segment: Segment, done: Done, history: Sequence[StepRecord]) -> None:
        self.plan[self.current][0].steps.extend(range(self._llm_start + 1, len(history) + 1))
        self.parts.extend([done.text] if done.text else self._llm_results)
        goal = redact(segment.goal)
        self.done_so_far.append(f"{goal} (answered: {done.text})" if done.text else goal)
        self._llm = None
        self._llm_results = []
        self._next_segment()

    def _next_segment(self) -> None:
        self.current += 1
        self._cursor = 0

    def _context(self) -> str:
        lines = []
        if self.done_so_far:
            lines.append("Already done, do not repeat: " + "; ".join(self.done_so_far) + ".")
        later = [redact(c) for s in self.segments[self.current + 1 :] for c in s.clauses]
        if later:
            lines.append("Done after you, not your part: " + "; ".join(later) + ".")
        if not lines:
            return ""
        return "\n" + "\n".join(lines) + "\nCall done as soon as your task is complete."
