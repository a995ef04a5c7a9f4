"""The hybrid planner's segmentation and sequencing, with a scripted sub-planner and no
browser (tests/integration/test_agent_hybrid.py runs it with the HTTP stub in Chromium)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from nodes.agent import actions as a
from nodes.agent.hybrid import HybridPlanner, segment_instruction
from nodes.agent.types import Observation, StepRecord
from shared.errors import ActionFailed, InstructionNotUnderstood

TEA = (
    "Open http://shop.test/, accept the cookies, then find the cheapest green tea and "
    "add it to the basket. Return the title."
)


def test_understood_clauses_go_to_the_rules_and_the_rest_to_the_model() -> None:
    segments = segment_instruction(TEA)
    assert [(s.planner, s.clauses) for s in segments] == [
        ("rules", ("Open http://shop.test/", "accept the cookies")),
        ("llm", ("find the cheapest green tea and add it to the basket",)),
        ("rules", ("Return the title",)),
    ]
    (open_clause, opened), (accept_clause, accepted) = segments[0].actions
    assert (open_clause, opened) == (0, a.Navigate("http://shop.test/"))
    assert accept_clause == 1 and isinstance(accepted, a.ClickAny)


def test_consecutive_clauses_the_rules_miss_are_one_sub_goal() -> None:
    segments = segment_instruction('Open a.test. Fooble the bar; frob "it". Click "Go"')
    assert [(s.planner, s.goal) for s in segments] == [
        ("rules", "Open a.test"),
        ("llm", 'Fooble the bar, then frob "it"'),
        ("rules", 'Click "Go"'),
    ]
    # Nothing understood: the whole instruction, in the user's words, is the model's.
    only = segment_instruction("Hunt down the cheapest tea. Then buy it!")
    assert [(s.planner, s.goal) for s in only] == [
        ("llm", "Hunt down the cheapest tea. Then buy it!")
    ]
    with pytest.raises(InstructionNotUnderstood, match="empty"):
        segment_instruction("  ")


class ScriptedSubPlanner:
    """Stands in for LLMPlanner: answers from a script, recording what it was given."""

    wants_image = False

    def __init__(self, goal: str, context: str, script: list[list[a.Action]]) -> None:
        self.goal, self.context, self.script = goal, context, script

    def next_actions(self, observation: Observation, history: Sequence[StepRecord]) -> list[Any]:
        return self.script.pop(0)


def _step(n: int, ok: bool = True) -> StepRecord:
    return StepRecord(index=n, action="x", url="http://shop.test/", ok=ok, error=None if ok
                      else "could not click", duration_ms=1)  # fmt: skip


def test_sub_goal_runs_until_done_and_its_answer_joins_the_result() -> None:
    made: list[ScriptedSubPlanner] = []
    script = [
        [a.Click("Green tea", index=7), a.Click("Add to basket", index=9), a.Done("Added Sencha")],
        [a.Done("Added Sencha, 3 EUR")],  # asked again: the batch did not all run
    ]

    def make(goal: str, context: str) -> Any:
        made.append(ScriptedSubPlanner(goal, context, script))
        return made[-1]

    planner = HybridPlanner(segment_instruction(TEA), make)
    history: list[StepRecord] = []
    seen = Observation(url="http://shop.test/", steps_done=0)
    assert planner.reads_page is False  # opening a URL needs no elements
    assert planner.next_actions(seen, history) == [a.Navigate("http://shop.test/")]
    history.append(_step(1))
    assert isinstance(planner.next_actions(seen, history)[0], a.ClickAny)
    history.append(_step(2))
    assert planner.reads_page is True  # the model reads the page
    batch = planner.next_actions(seen, history)
    assert batch == [a.Click("Green tea", index=7), a.Click("Add to basket", index=9)]
    assert made[0].goal == "find the cheapest green tea and add it to the basket"
    assert "Already done, do not repeat: Open http://shop.test/; Accept the cookies." in (
        made[0].context
    )
    assert "Done after you, not your part: Return the title." in made[0].context
    history.append(_step(3))  # the first click left the page: the second never ran
    assert planner.next_actions(seen, history) == [a.ReturnText("title")]
    history.append(_step(4))
    titled = Observation(url="http://shop.test/", steps_done=4, extracted=("Tea Shop",))
    assert planner.next_actions(titled, history) == [a.Done("Added Sencha, 3 EUR\n\nTea Shop")]
    assert len(made) == 1
    assert planner.plan_info() == [
        {"clause": "Open http://shop.test/", "planner": "rules", "steps": [1]},
        {"clause": "accept the cookies", "planner": "rules", "steps": [2]},
        {"clause": made[0].goal, "planner": "llm", "steps": [3]},
        {"clause": "Return the title", "planner": "rules", "steps": [4]},
    ]


def test_a_failed_rules_step_ends_the_run_and_a_failed_sub_goal_gives_up() -> None:
    planner = HybridPlanner(segment_instruction(TEA), lambda g, c: None)  # type: ignore[arg-type]
    seen = Observation(url="about:blank", steps_done=0)
    planner.next_actions(seen, [])
    with pytest.raises(ActionFailed, match="could not click"):
        planner.next_actions(seen, [_step(1, ok=False)])

    gave_up = a.Done("there is no green tea", success=False)
    planner = HybridPlanner(
        segment_instruction("Compare the teas"),
        lambda g, c: ScriptedSubPlanner(g, c, [[gave_up]]),  # type: ignore[arg-type, return-value]
    )
    assert planner.next_actions(seen, []) == [gave_up]  # the runner raises TaskGaveUp


def test_all_rules_means_no_model_and_the_rules_result() -> None:
    def make(goal: str, context: str) -> Any:
        raise AssertionError("no model for an instruction the rules understand")

    planner = HybridPlanner(segment_instruction("Open http://a.test/ and return the title"), make)
    seen = Observation(url="about:blank", steps_done=0)
    assert planner.next_actions(seen, []) == [a.Navigate("http://a.test/")]
    assert planner.next_actions(seen, [_step(1)]) == [a.ReturnText("title")]
    # Done: nothing from the planner, so the runner's own result stands, as for the rules.
    assert planner.next_actions(seen, [_step(1), _step(2)]) == []
    assert not planner.uses_model


def test_info_plan_never_shows_a_password() -> None:
    instruction = (
        'Open a.test. Type "ada" into "User", type "hunter2" into "Password" and click "Log in". '
        "Then renew the token with password s3cr3t"
    )
    planner = HybridPlanner(segment_instruction(instruction), lambda g, c: None)  # type: ignore[arg-type]
    shown = [(entry["clause"], entry["planner"]) for entry in planner.plan_info()]
    assert shown == [
        ("Open a.test", "rules"),
        ('Type "ada" into "User"', "rules"),
        ('Type "<password>" into "Password"', "rules"),
        ('click "Log in"', "rules"),
        ("renew the token with password <password>", "llm"),
    ]
