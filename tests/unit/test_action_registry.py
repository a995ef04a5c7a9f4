"""The action registry: each action declared once, and the LLM tools, the executor's
dispatch, the rules planner's flags and the docs' action table derived from it."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from nodes.agent import actions
from nodes.agent.act.catalog import REGISTRY
from nodes.agent.actions import Action
from nodes.agent.llm.prompt import json_tool_list
from nodes.agent.llm.tools import TOOLS, to_actions, tool_definitions
from nodes.agent.registry import ActionSpec, Param, Registry, Tool
from nodes.agent.rules.planner import plan_instruction
from nodes.agent.rules.replay import PASSWORD_PLACEHOLDER, phrase
from nodes.agent.rules.resolve import RESOLVABLE
from nodes.agent.types import Element, Observation

DOCS = Path(__file__).resolve().parents[2] / "docs" / "agent.md"
TABLE_HEADER = "| action | LLM tool | rules phrasing (examples) |"

ACTION_CLASSES = [
    cls
    for _, cls in inspect.getmembers(actions, inspect.isclass)
    if issubclass(cls, Action) and cls is not Action and cls.__module__ == actions.__name__
]
TOOL_SPECS = [spec for spec in REGISTRY.specs if spec.tool is not None]


def test_every_action_class_is_registered_once():
    assert ACTION_CLASSES  # the walk found the dataclasses
    declared = [spec.action for spec in REGISTRY.specs]
    assert sorted(c.__name__ for c in declared) == sorted(c.__name__ for c in ACTION_CLASSES)
    assert len(declared) == len(set(declared))
    for spec in REGISTRY.specs:
        assert callable(spec.handler), spec.action.__name__


def test_every_llm_tool_appears_in_the_schemas_exactly_once():
    names = [tool["function"]["name"] for tool in tool_definitions()]
    for spec in TOOL_SPECS:
        assert spec.tool is not None
        assert names.count(spec.tool.name) == 1, spec.tool.name
    assert names == [spec.tool.name for spec in TOOL_SPECS if spec.tool is not None]
    assert list(TOOLS) == names
    # The order the model reads them in, as it was before the registry.
    assert names == [
        "navigate", "go_back", "click", "input_text", "send_keys", "select_option",
        "set_checked", "upload_file", "scroll", "wait", "extract", "open_tab", "switch_tab",
        "close_tab", "download", "done",
    ]  # fmt: skip
    listed = json_tool_list()
    for name in names:
        assert listed.count(f"- {name}(") == 1, name


def test_a_tool_call_becomes_the_action_that_declares_the_tool():
    seen = Observation(
        url="https://a.test/",
        steps_done=0,
        elements=(Element(index=1, role="button", name="Go", tag="button"),),
    )
    samples = {"string": "x", "integer": 1, "number": 1.0, "boolean": True}
    for spec in TOOL_SPECS:
        assert spec.tool is not None
        arguments = {
            name: (param.enum[0] if param.enum else samples[param.kind])
            for name, param in spec.tool.params.items()
            if param.required
        }
        if spec.tool.name == "download":
            arguments = {"index": 1}
        made = to_actions(spec.tool.name, arguments, seen)
        assert isinstance(made[0], spec.action), (spec.tool.name, made)


def test_the_executor_dispatches_by_the_declaration():
    navigate = REGISTRY.spec(actions.Navigate)
    assert navigate is not None
    assert REGISTRY.handler(actions.Navigate("https://a.test")) is navigate.handler

    class Fly(Action):
        pass

    assert REGISTRY.handler(Fly()) is None


def test_flags_are_read_from_the_declarations():
    assert set(RESOLVABLE) == {actions.Click, actions.TypeText, actions.SelectOption,
                               actions.SetChecked}  # fmt: skip
    assert set(REGISTRY.flagged("opens_tabs")) == {
        actions.Click, actions.ClickNth, actions.ClickAny, actions.ChooseSetting, actions.PressKey
    }  # fmt: skip
    assert set(REGISTRY.flagged("downloads")) == {
        actions.Click, actions.ClickNth, actions.ClickAny, actions.PressKey, actions.Download
    }  # fmt: skip
    with pytest.raises(ValueError, match="no flag"):
        REGISTRY.flagged("fast")


def test_the_docs_action_table_is_the_registrys():
    text = DOCS.read_text(encoding="utf-8")
    start = text.index(TABLE_HEADER)
    table = text[start : text.index("\n\n", start)]
    expected = REGISTRY.markdown_table()
    assert table == expected, f"docs/agent.md's action table should read:\n{expected}"


@pytest.mark.parametrize(
    ("spec", "phrasing"),
    [(spec, said) for spec in REGISTRY.specs for said in spec.phrasings],
    ids=lambda x: x if isinstance(x, str) else x.action.__name__,
)
def test_every_phrasing_the_docs_show_compiles_to_its_action(spec, phrasing):
    planned = plan_instruction(phrasing)
    assert any(isinstance(action, spec.action) for action in planned), planned


def test_a_registry_refuses_an_action_or_tool_declared_twice():
    def build(args, element):
        return []

    def handler(s, action):
        return None

    tool = Tool(name="go_back", description="Back.", build=build)
    back = ActionSpec(action=actions.GoBack, handler=handler, docs_row="back", tool=tool)
    with pytest.raises(ValueError, match="GoBack is declared twice"):
        Registry(back, back)
    reload = ActionSpec(action=actions.Reload, handler=handler, docs_row="reload", tool=tool)
    with pytest.raises(ValueError, match="the tool go_back is declared twice"):
        Registry(back, reload)


def test_a_tool_signature_marks_the_optional_parameters():
    tool = Tool(
        name="wait",
        description="Wait.",
        params={"seconds": Param(kind="number"), "text": Param(kind="string", required=True)},
        build=lambda args, element: [],
    )
    assert tool.signature() == "wait(seconds?, text)"
    assert tool.definition()["function"]["parameters"]["required"] == ["text"]


@pytest.mark.parametrize(
    ("spec", "phrasing"),
    [(spec, said) for spec in REGISTRY.specs for said in spec.phrasings],
    ids=lambda x: x if isinstance(x, str) else x.action.__name__,
)
def test_every_phrasing_the_docs_show_replays_to_the_same_actions(spec, phrasing):
    """The replay script writes every registered action back in the grammar it came from."""
    planned = plan_instruction(phrasing)
    again = [action for step in planned for action in plan_instruction(phrase(step))]
    if spec.action is actions.LogIn:
        # The replay never writes a password: it writes a placeholder in its place.
        assert [a.user for a in again] == [a.user for a in planned]  # type: ignore[attr-defined]
        assert {a.password for a in again} == {PASSWORD_PLACEHOLDER}  # type: ignore[attr-defined]
    else:
        assert again == planned


def test_every_registered_action_but_done_shows_a_rules_phrasing():
    """So the two tests above cover the whole grammar, both ways."""
    phrased = {spec.action for spec in REGISTRY.specs for said in spec.phrasings}
    assert phrased == set(REGISTRY.actions()) - {actions.Done}
