"""The LLM planner in a real Chromium, driven by a scripted OpenAI-compatible stub over HTTP.

The stub's replies read the observation the planner sent (element indices by
role and name), as a model would; each test then checks what was sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from nodes.agent import (
    AgentResult,
    PlannerFailed,
    ScreenshotPolicy,
    StepLimitReached,
    TaskGaveUp,
    run_agent,
)
from nodes.agent.llm.usage import LLMUsage
from shared.errors import ActionFailed
from tests.support.llm_stub import (
    HttpError,
    Reply,
    ScriptedLLM,
    call,
    element_index,
    form_task_script,
    observation,
    serve_llm_stub,
    text,
    tool_calls,
)

TASK = "Send the contact form as Ada from London, favourite colour blue."


Run = Callable[..., tuple[AgentResult, ScriptedLLM]]


@pytest.fixture()
def run(context: BrowserContext) -> Iterator[Run]:
    stubs: list[ScriptedLLM] = []

    def _run(
        script: list[Reply], task: str = TASK, llm: dict[str, Any] | None = None, **template: Any
    ) -> tuple[AgentResult, ScriptedLLM]:
        with serve_llm_stub(script) as stub:
            stubs.append(stub)
            settings = {"base_url": stub.base_url, "model": "stub-model", "api_key": "sk-test"}
            result = run_agent(
                context,
                task,
                policy=ScreenshotPolicy(),
                deadline=time.monotonic() + 45,
                template={"planner": "llm", "llm": {**settings, **(llm or {})}, **template},
            )
        return result, stub

    yield _run
    for stub in stubs:
        assert not stub.errors, stub.errors


def test_multi_step_form(run: Run, base_url: str, context: BrowserContext) -> None:
    result, stub = run(form_task_script(base_url))
    assert "Ada" in result.result and "London" in result.result and "blue" in result.result
    assert "/form_result.html?name=Ada&" in result.final_url
    assert [s.action for s in result.steps][1:] == [
        'type "Ada" into [1] "Full name"',
        'type "London" into [3] "City"',
        'select "Blue" in [4] "Favourite colour"',
        'click [5] "Send"',
    ]
    first, second = stub.requests[0], stub.requests[1]
    assert first["model"] == "stub-model" and first["_authorization"] == "Bearer sk-test"
    assert {t["function"]["name"] for t in first["tools"]} >= {"click", "input_text", "done"}
    assert first["messages"][0]["role"] == "system"
    assert TASK in first["messages"][1]["content"]
    # The observation: URL and indexed elements with role, name and state.
    seen = observation(second)
    assert f"URL: {base_url}/form.html" in seen
    assert '[1] textbox "Full name"' in seen
    assert '[4] combobox "Favourite colour" value="Red" options=["Red", "Green", "Blue"]' in seen
    # Outcomes go back as tool messages answering each call.
    tools = [m for m in stub.requests[2]["messages"] if m["role"] == "tool"]
    assert len(tools) == 4 and all(m["content"].startswith("ok") for m in tools)
    assert '[1] textbox "Full name" value="Ada"' in observation(stub.requests[2])
    # The replay script: the steps taken by index, written with the elements' names; run
    # with the rules planner, no model anywhere, it ends where the model's run ended.
    assert result.info["planner"] == "llm" and "plan" not in result.info
    replay = result.info["replay"]
    assert replay == {
        "script": f'Open {base_url}/form.html. Type "Ada" into "Full name". Type "London" '
        'into "City". Select "Blue" from the "Favourite colour" dropdown. Click "Send".',
        "replayable": True,
        "why": None,
    }
    again = run_agent(
        context, replay["script"], policy=ScreenshotPolicy(), deadline=time.monotonic() + 45
    )
    assert again.info["planner"] == "rules" and again.info["replay"] == replay  # a fixed point
    assert again.final_url == result.final_url
    assert "Ada" in again.result and "London" in again.result


def test_malformed_replies_are_retried_with_the_error(run: Run, base_url: str) -> None:
    script: list[Reply] = [
        text("I will open the form now."),
        tool_calls(("navigate", '{"url": "http://'), raw_arguments=True),
        call("teleport", where="home"),
        call("navigate", url=f"{base_url}/index.html"),
        call("done", text="opened", success=True),
    ]
    result, stub = run(script, "Open the index page")
    assert result.result == "opened"
    feedback = [r["messages"][-1]["content"] for r in stub.requests[1:4]]
    assert "neither a tool call nor a JSON object" in feedback[0]
    assert "arguments of navigate are not valid JSON" in feedback[1]
    assert "there is no tool 'teleport'" in feedback[2]
    assert len(stub.requests) == 5


def test_gives_up_cleanly_after_n_tries(run: Run, context: BrowserContext) -> None:
    with pytest.raises(
        PlannerFailed, match="could not be used after 3 tries: click: missing index"
    ):
        run([call("click")] * 3, "Click something", {"max_retries": 2})
    assert context.pages == []


def test_json_fallback_when_the_server_rejects_tools(run: Run, base_url: str) -> None:
    navigate = {"name": "navigate", "arguments": {"url": f"{base_url}/index.html"}}
    script: list[Reply] = [
        HttpError(400, "tools are not supported by this model"),
        text(f"```json\n{json.dumps({'actions': [navigate]})}\n```"),
        text('Done. {"name": "done", "arguments": {"text": "fine", "success": true}}'),
    ]
    result, stub = run(script, "Open the index page")
    assert result.result == "fine"
    assert "tools" in stub.requests[0] and "tools" not in stub.requests[1]
    assert '{"actions": [{"name": "<tool>"' in stub.requests[1]["messages"][0]["content"]
    assert "Results of your actions:\n- navigate: ok" in observation(stub.requests[2])


def test_transient_server_errors_are_retried(run: Run, base_url: str) -> None:
    script: list[Reply] = [HttpError(503, "overloaded"), call("done", text="ok", success=True)]
    result, _ = run(script, "Say ok")
    assert result.result == "ok"


def test_action_errors_go_back_to_the_model(run: Run, base_url: str) -> None:
    script: list[Reply] = [
        call("navigate", url="http://127.0.0.1:9/"),
        call("navigate", url=f"{base_url}/links.html"),
        call("done", text="recovered", success=True),
    ]
    result, stub = run(script, "Open the links page")
    assert result.result == "recovered"
    assert [s.ok for s in result.steps] == [False, True]
    seen = observation(stub.requests[1])
    assert "The last action failed: could not open http://127.0.0.1:9/" in seen
    tool = [m for m in stub.requests[1]["messages"] if m["role"] == "tool"]
    assert tool[0]["content"].startswith("failed: could not open http://127.0.0.1:9/")


def test_consecutive_failures_end_the_run(run: Run) -> None:
    with pytest.raises(ActionFailed, match=r"\(2 failed steps in a row\)"):
        run([call("navigate", url="http://127.0.0.1:9/")] * 2, "Open it", max_failures=2)


def test_max_steps(run: Run, base_url: str) -> None:
    with pytest.raises(StepLimitReached, match="within 2 steps"):
        run([call("navigate", url=f"{base_url}/index.html")] * 3, "Loop", max_steps=2)


def test_done_without_success_fails_the_task(run: Run) -> None:
    with pytest.raises(TaskGaveUp, match="the page needs a login"):
        run([call("done", text="the page needs a login", success=False)], "Read my mail")


def test_tabs_frames_and_checkboxes(run: Run, base_url: str) -> None:
    def switch_back(r: dict) -> dict:
        seen = observation(r)
        assert "Tabs:\n  1: Tabs Start" in seen and "2 (current): Help Center" in seen
        return call("switch_tab", tab=1)

    def fill_frame(r: dict) -> dict:
        assert f"Frame 1: {base_url}/frame_inner.html" in observation(r)
        index = element_index(r, "textbox", "Your email")
        assert f'[{index}] textbox "Your email" (frame 1)' in observation(r)
        return tool_calls(
            ("input_text", {"index": index, "text": "a@b.test"}),
            ("click", {"index": element_index(r, "button", "Subscribe")}),
        )

    def check(r: dict) -> dict:
        assert "[frame 1] Your email" in observation(r) and "Subscribed a@b.test" in observation(r)
        return call("navigate", url=f"{base_url}/checks.html")

    script: list[Reply] = [
        call("navigate", url=f"{base_url}/tabs.html"),
        lambda r: call("click", index=element_index(r, "link", "Open help in a new tab")),
        switch_back,
        call("navigate", url=f"{base_url}/frames.html"),
        fill_frame,
        check,
        lambda r: call(
            "set_checked", index=element_index(r, "checkbox", "I accept the terms"), checked=True
        ),
        lambda r: call("extract", shape="fields"),
        lambda r: call(
            "done", text=observation(r).split("Extracted so far (latest last):\n")[1], success=True
        ),
    ]
    result, stub = run(script, "Do a bit of everything")
    assert '"I accept the terms": true' in result.result
    assert '"Subscribe to the newsletter": true' in result.result


def test_a_repeated_action_on_an_unchanged_page_is_warned_then_ends_the_run(
    context: BrowserContext, base_url: str
) -> None:
    def show_status(r: dict) -> dict:
        return call("click", index=element_index(r, "button", "Show status"))

    # The first click changes the page (the status says "Clicked!"); the second, on the
    # changed page, changes nothing; the third repeats it there and is warned about in
    # the next observation; the fourth ends the run before it is carried out.
    script: list[Reply] = [call("navigate", url=f"{base_url}/links.html")] + [show_status] * 4
    with serve_llm_stub(script) as stub:
        template = {"planner": "llm", "max_failures": 5,
                    "llm": {"base_url": stub.base_url, "model": "stub-model"}}  # fmt: skip
        with pytest.raises(PlannerFailed) as failed:
            run_agent(
                context,
                "Show the status",
                policy=ScreenshotPolicy(),
                deadline=time.monotonic() + 45,
                template=template,
            )
    assert not stub.errors, stub.errors
    assert len(stub.requests) == 5
    assert str(failed.value).startswith("agent is repeating itself: click [")
    assert str(failed.value).endswith('"Show status"')
    warnings = ["you repeated" in observation(r) for r in stub.requests]
    assert warnings == [False, False, False, False, True]
    seen = observation(stub.requests[4])
    assert seen.startswith("Warning: you repeated click [")
    assert '"Show status" on an unchanged page' in seen
    assert "repeating it again ends the task" in seen
    assert context.pages == []


def test_usage_is_counted_and_a_spent_token_budget_ends_the_run(
    context: BrowserContext, base_url: str
) -> None:
    # Each answer reports 120 tokens: two calls spend 240 of 200, so the third is not made.
    script: list[Reply] = [
        call("navigate", url=f"{base_url}/index.html"),
        call("navigate", url=f"{base_url}/links.html"),
        call("done", text="never reached", success=True),
    ]
    usage = LLMUsage()
    with serve_llm_stub(script) as stub:
        template = {"planner": "llm", "max_tokens_total": 200,
                    "llm": {"base_url": stub.base_url, "model": "stub-model"}}  # fmt: skip
        with pytest.raises(PlannerFailed, match=r"^token budget spent: 240 of 200$"):
            run_agent(
                context,
                "Browse around",
                policy=ScreenshotPolicy(),
                deadline=time.monotonic() + 45,
                template=template,
                usage=usage,
            )
    assert len(stub.requests) == 2
    assert usage.as_info() == {"model": "stub-model", "calls": 2, "prompt_tokens": 200,
                               "completion_tokens": 40, "total_tokens": 240}  # fmt: skip
    assert context.pages == []
