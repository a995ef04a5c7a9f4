"""The hybrid planner and the replay script in Chromium, the model being the scripted
stub over HTTP: the rules do the clauses they understand, the stub sees only the rest;
the run's replay script, run again with the rules alone, ends where the run ended.
(An LLM run's replay: test_agent_llm.py, ``test_multi_step_form``.)"""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import BrowserContext

from nodes.agent import AgentResult, ScreenshotPolicy, run_agent
from nodes.agent.llm.usage import LLMUsage
from tests.support.llm_stub import (
    Message,
    call,
    element_index,
    observation,
    serve_llm_stub,
)


def _run(context: BrowserContext, task: str, template: dict[str, Any] | None = None, **kw: Any):
    return run_agent(
        context,
        task,
        policy=ScreenshotPolicy(),
        deadline=time.monotonic() + 45,
        template=template,
        **kw,
    )


def _replay(context: BrowserContext, result: AgentResult) -> AgentResult:
    """The run's replay script, run with the rules planner (no model anywhere)."""
    replay = result.info["replay"]
    assert replay["replayable"] is True and replay["why"] is None, replay
    again = _run(context, replay["script"])
    assert again.info["planner"] == "rules"
    assert again.info["replay"]["script"] == replay["script"]  # a fixed point
    return again


def test_hybrid_hands_the_model_only_the_clauses_the_rules_miss(
    context: BrowserContext, base_url: str
) -> None:
    task = (
        f"Open {base_url}/shop.html, accept the cookies, then find the cheapest tea and "
        "sort the list by price. Return the text."
    )

    def sort(request: dict[str, Any]) -> Message:
        seen = observation(request)
        assert "Accept all" not in seen, seen  # the rules took the banner away already
        return call(
            "select_option", index=element_index(request, "combobox", "Sort order"), option="Price"
        )

    script = [sort, call("done", text="Darjeeling is the cheapest, at 9.", success=True)]
    usage = LLMUsage()
    with serve_llm_stub(script) as stub:
        llm = {"base_url": stub.base_url, "model": "stub-model"}
        result = _run(context, task, {"planner": "auto", "llm": llm}, usage=usage)
    assert not stub.errors, stub.errors
    assert len(stub.requests) == 2 and usage.calls == 2  # accounted as any model call
    # The model's task is the leftover clause; the rest is context, not its task.
    goal = stub.requests[0]["messages"][1]["content"]
    assert goal.startswith("Task: find the cheapest tea and sort the list by price\n")
    assert f"Already done, do not repeat: Open {base_url}/shop.html; Accept the cookies." in goal
    assert "Done after you, not your part: Return the text." in goal
    assert [s.action for s in result.steps] == [
        f"open {base_url}/shop.html",
        "accept the cookies",
        result.steps[2].action,  # by index: the model chose it
        "return the text",
    ]
    assert result.steps[2].action.startswith('select "Price" in [')
    assert result.info["planner"] == "hybrid"
    assert result.info["plan"] == [
        {"clause": f"Open {base_url}/shop.html", "planner": "rules", "steps": [1]},
        {"clause": "accept the cookies", "planner": "rules", "steps": [2]},
        {
            "clause": "find the cheapest tea and sort the list by price",
            "planner": "llm",
            "steps": [3],
        },
        {"clause": "Return the text", "planner": "rules", "steps": [4]},
    ]
    answer, text = result.result.split("\n\n", 1)
    assert answer == "Darjeeling is the cheapest, at 9."
    assert "Sorted by price" in text and "We use cookies" not in text
    # Its replay needs no model and ends in the same state.
    assert result.info["replay"]["script"] == (
        f"Open {base_url}/shop.html. Accept the cookies. "
        'Select "Price" from the "Sort order" dropdown. Return the text.'
    )
    assert _replay(context, result).result == text
