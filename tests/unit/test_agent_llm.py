"""The LLM planner without a browser: settings, reading replies, prompts, and the planner
talking HTTP to the scripted stub."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from browsing.cluster import free_port
from nodes.agent import (
    Click,
    Done,
    Element,
    Extract,
    LLMPlanner,
    LLMSettings,
    Navigate,
    Observation,
    PlannerFailed,
    PressKey,
    SelectOption,
    SetChecked,
    SwitchTab,
    Tab,
    TypeText,
    Wait,
    WaitForText,
    llm_settings,
)
from nodes.agent.llm.loops import LoopDetector
from nodes.agent.llm.prompt import render_observation
from nodes.agent.llm.reply import BadReply, parse_reply
from nodes.agent.llm.tools import tool_definitions
from nodes.agent.llm.usage import LLMUsage, TokenBudgetSpent
from shared.errors import ConfigError, DeadlineExceeded
from tests.support.llm_stub import HttpError, call, serve_llm_stub, text, tool_calls

SEEN = Observation(
    url="http://shop.test/",
    steps_done=2,
    title="Shop",
    text="Welcome to the shop",
    elements=(
        Element(index=1, role="textbox", name="Email", tag="input", state={"value": ""}),
        Element(index=2, role="checkbox", name="Subscribe", tag="input", state={"checked": False}),
        Element(
            index=3,
            role="combobox",
            name="Size",
            tag="select",
            state={"value": "S", "options": ["S", "M"]},
        ),
        Element(index=4, role="button", name="Buy", tag="button", frame=1, in_view=False),
    ),
    frames=("http://shop.test/frame",),
    tabs=(
        Tab(index=1, url="http://shop.test/", title="Shop", current=True),
        Tab(index=2, url="http://help.test/", title="Help", current=False),
    ),
    last_error="could not click [9]: element [9] is no longer on the page; look again",
    max_steps=20,
)


# Settings: template first, then the environment.


def test_settings_come_from_the_template_then_the_environment() -> None:
    env = {
        "BROWSING_LLM_BASE_URL": "http://env:8000/v1",
        "BROWSING_LLM_MODEL": "env-model",
        "BROWSING_LLM_API_KEY": "sk-env",
        "BROWSING_LLM_TEMPERATURE": "0.5",
        "BROWSING_LLM_MAX_TOKENS": "77",
    }
    settings = llm_settings({"model": "template-model", "temperature": 0}, env)
    assert settings.base_url == "http://env:8000/v1"
    assert settings.model == "template-model"  # the template wins
    assert settings.temperature == 0 and settings.max_tokens == 77
    assert settings.api_key == "sk-env" and settings.configured
    assert "sk-env" not in repr(settings)
    assert settings.sampling() == {"temperature": 0, "max_tokens": 77}


def test_api_key_from_a_named_variable_and_nothing_configured() -> None:
    settings = llm_settings({"api_key_env": "OPENAI_API_KEY"}, {"OPENAI_API_KEY": "sk-named"})
    assert settings.api_key == "sk-named"
    assert not settings.configured  # no base URL or model
    assert not llm_settings(None, {}).configured


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BROWSING_LLM_TEMPERATURE": "warm"}, "BROWSING_LLM_TEMPERATURE='warm' is not a valid"),
        ({"BROWSING_LLM_TOOL_MODE": "xml"}, "TOOL_MODE must be one of auto, tools, json"),
    ],
)
def test_bad_settings_are_config_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        llm_settings({}, env)


# Reading replies.


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (call("click", index=4), [Click("Buy", index=4)]),
        (call("click", index="[4]"), [Click("Buy", index=4)]),
        (
            call("input_text", index="1", text="a@b.test", press_enter="true"),
            [TypeText("Email", "a@b.test", index=1), PressKey("Enter")],
        ),
        (call("select_option", index=3, option="M"), [SelectOption("Size", "M", index=3)]),
        (call("set_checked", index=2, checked=True), [SetChecked("Subscribe", True, index=2)]),
        (call("wait", seconds=90), [Wait(30.0)]),
        (call("wait", text="Done"), [WaitForText("Done")]),
        (call("switch_tab", tab=2), [SwitchTab("2")]),
        (call("extract", shape="links"), [Extract("links")]),
        (
            tool_calls(
                ("navigate", {"url": "http://a.test"}),
                ("done", {"text": "x", "success": True}),
                ("go_back", {}),
            ),
            [Navigate("http://a.test"), Done("x", True)],  # nothing after done
        ),
        (
            text('{"actions": [{"name": "click", "arguments": {"index": 4}}]}'),
            [Click("Buy", index=4)],
        ),
        (text('Sure!\n```json\n[{"tool": "go_back", "args": {}}]\n```'), None),
        (text('{"name": "extract", "shape": "text"}'), [Extract("text")]),
        (text('I will click. {"click": {"index": 4}}'), [Click("Buy", index=4)]),
    ],
)
def test_replies_become_actions(reply: dict, expected: list | None) -> None:
    actions = [a for c in parse_reply(reply, SEEN) for a in c.actions]
    if expected is None:
        assert len(actions) == 1 and actions[0].describe() == "go back"
    else:
        assert actions == expected


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (text(""), "the reply was empty"),
        (text("I clicked the button."), "neither a tool call nor a JSON object"),
        (
            text('{"actions": [{"name": "click", "arguments": {"index": 4}'),
            "JSON in the reply is not valid",
        ),
        (call("fly", to="moon"), "there is no tool 'fly'"),
        (call("click"), "click: missing index"),
        (call("click", index=99), r"there is no element \[99\]"),
        (call("click", index=True), "index must be an integer"),
        (call("scroll", direction="sideways"), "direction must be one of down, up, top, bottom"),
        (
            tool_calls(("click", "{index: 4}"), raw_arguments=True),
            "arguments of click are not valid JSON",
        ),
        ({"role": "assistant", "tool_calls": [{"id": "x"}]}, "has no function name"),
    ],
)
def test_unusable_replies_say_why(reply: dict, error: str) -> None:
    with pytest.raises(BadReply, match=error):
        parse_reply(reply, SEEN)


def test_tool_definitions_are_well_formed() -> None:
    tools = tool_definitions()
    names = [t["function"]["name"] for t in tools]
    assert set(names) >= {
        "navigate", "go_back", "click", "input_text", "send_keys", "select_option",
        "set_checked", "scroll", "wait", "extract", "open_tab", "switch_tab", "close_tab", "done",
    }  # fmt: skip
    for tool in tools:
        parameters = tool["function"]["parameters"]
        assert parameters["type"] == "object"
        assert set(parameters["required"]) <= set(parameters["properties"])
    json.dumps(tools)


def test_the_observation_as_the_model_reads_it() -> None:
    seen = render_observation(SEEN)
    assert seen.startswith("Step 3 of at most 20\nThe last action failed: could not click [9]")
    assert "URL: http://shop.test/\nTitle: Shop" in seen
    assert "  1 (current): Shop - http://shop.test/\n  2: Help - http://help.test/" in seen
    assert "Frame 1: http://shop.test/frame" in seen
    assert '[1] textbox "Email"\n' in seen
    assert '[2] checkbox "Subscribe" unchecked' in seen
    assert '[3] combobox "Size" value="S" options=["S", "M"]' in seen
    assert '[4] button "Buy" (frame 1) (off screen)' in seen
    assert seen.endswith("Visible text:\nWelcome to the shop")


# The planner over HTTP.


def planner(base_url: str, **settings: object) -> LLMPlanner:
    values = {"base_url": base_url, "model": "m", **settings}
    return LLMPlanner("Buy it", LLMSettings(**values), deadline=time.monotonic() + 30)  # type: ignore[arg-type]


def test_the_templates_system_prompt_and_sampling_are_sent() -> None:
    with serve_llm_stub([call("done", text="ok", success=True)]) as stub:
        llm = LLMPlanner(
            "Buy it",
            LLMSettings(base_url=stub.base_url, model="m", temperature=0.2, top_p=0.9),
            deadline=time.monotonic() + 30,
            system_prompt="You are a careful shopper.",
        )
        assert llm.next_actions(SEEN, ()) == [Done("ok", True)]
    request = stub.requests[0]
    assert request["messages"][0] == {"role": "system", "content": "You are a careful shopper."}
    assert request["temperature"] == 0.2 and request["top_p"] == 0.9
    assert request["max_tokens"] == 1024


def test_json_mode_describes_the_tools_in_the_prompt() -> None:
    reply = text('{"actions": [{"name": "go_back", "arguments": {}}]}')
    with serve_llm_stub([reply]) as stub:
        actions = planner(stub.base_url, tool_mode="json").next_actions(SEEN, ())
    assert [a.describe() for a in actions] == ["go back"]
    assert "tools" not in stub.requests[0]
    assert (
        "- click(index: integer): Click an element." in stub.requests[0]["messages"][0]["content"]
    )


def test_tools_mode_does_not_fall_back() -> None:
    with serve_llm_stub([HttpError(400, "tool calls are not supported")]) as stub:
        with pytest.raises(PlannerFailed, match="answered 400: tool calls are not supported"):
            planner(stub.base_url, tool_mode="tools").next_actions(SEEN, ())


def test_unreachable_server_fails_cleanly() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(PlannerFailed, match=f"could not reach the model server at {url}"):
        planner(url).next_actions(SEEN, ())


def test_a_spent_deadline_is_a_timeout() -> None:
    llm = LLMPlanner("x", LLMSettings(base_url="http://127.0.0.1:9/v1", model="m"), deadline=0)
    with pytest.raises(DeadlineExceeded):
        llm.next_actions(SEEN, ())


def test_no_model_configured() -> None:
    with pytest.raises(PlannerFailed, match="set BROWSING_LLM_BASE_URL and BROWSING_LLM_MODEL"):
        LLMPlanner("x", LLMSettings(), deadline=time.monotonic() + 5)


def test_usage_counts_calls_and_tokens_even_without_a_usage_object() -> None:
    usage = LLMUsage()
    with serve_llm_stub([call("go_back"), call("go_back")]) as stub:
        llm = LLMPlanner(
            "x",
            LLMSettings(base_url=stub.base_url, model="m"),
            deadline=time.monotonic() + 30,
            usage=usage,
        )
        llm.next_actions(SEEN, ())
        stub.usage = None  # a server that reports no usage
        llm.next_actions(SEEN, ())
    assert usage.as_info() == {"model": "m", "calls": 2, "prompt_tokens": 100,
                               "completion_tokens": 20, "total_tokens": 120}  # fmt: skip
    assert LLMUsage().as_info() is None


def test_a_spent_budget_makes_no_call() -> None:
    with serve_llm_stub([call("go_back")] * 3) as stub:
        llm = LLMPlanner(
            "x",
            LLMSettings(base_url=stub.base_url, model="m"),
            deadline=time.monotonic() + 30,
            max_tokens_total=120,
        )
        llm.next_actions(SEEN, ())
        with pytest.raises(TokenBudgetSpent, match="token budget spent: 120 of 120"):
            llm.next_actions(SEEN, ())
    assert len(stub.requests) == 1


def test_loop_detection_keys_on_the_page_not_the_step_counter() -> None:
    loops = LoopDetector()
    click = [Click("Buy", index=4)]
    later = dataclasses.replace(SEEN, steps_done=7, last_error=None)  # the same page
    loops.check(SEEN, click)
    assert loops.take_warning() == ""
    loops.check(later, click)
    assert loops.take_warning().startswith('Warning: you repeated click [4] "Buy" on an')
    assert loops.take_warning() == ""  # said once
    loops.check(dataclasses.replace(SEEN, text="Added to the basket"), click)  # a change
    loops.check(SEEN, [Done("x", True)])  # done is never a loop
    with pytest.raises(PlannerFailed, match=r'^agent is repeating itself: click \[4\] "Buy"$'):
        loops.check(later, click)
