"""The action registry: what an action is, declared once, and what is derived from it.

An ``ActionSpec`` declares one action class of ``actions``: the handler that
carries it out in the browser, the LLM tool that asks for it (a ``Tool``: name,
description, parameters and how a call becomes actions), its flags, and how the
docs' action table shows it. The declarations themselves are the list in
``act/catalog.py``; derived from them are:

- the executor's dispatch (``act/execute.py``: ``Registry.handler``);
- the LLM tools, their OpenAI definitions and the JSON-mode tool list
  (``llm/tools.py``, ``llm/prompt.py``: ``Registry.tools``);
- the rules planner's actions it may point at an observed element
  (``rules/resolve.py``) and the runner's actions that may open a tab or start a
  download (``loop/runner.py``): ``Registry.flagged``;
- the table under "## Actions" in docs/agent.md (``Registry.markdown_table``;
  ``python -m nodes.agent.registry`` prints it, a unit test compares it and
  compiles every rules phrasing it shows).

Like browser-use's ``registry.action``, but the parameter model is a small
mapping of ``Param`` (our actions are dataclasses already, and the LLM's
arguments are checked by ``llm/tools.py``), and the registry is built once from
an explicit list rather than filled by decorators at import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nodes.agent.actions import Action

if TYPE_CHECKING:
    from nodes.agent.loop.session import Session

# Carries out one action in the current tab; returns the text it produced, if any.
Handler = Callable[["Session", Any], "str | None"]
# Turns a tool call's checked arguments into actions; ``element`` is the name of the
# element the call's ``index`` points at ("" without an index).
Build = Callable[[Mapping[str, Any], str], "list[Action]"]


class BadReply(ValueError):
    """The model's reply cannot be turned into actions; the message tells it why."""


@dataclass(frozen=True, kw_only=True)
class Param:
    """One parameter of an LLM tool, as JSON Schema."""

    kind: str  # "string" | "integer" | "number" | "boolean"
    description: str = ""
    required: bool = False
    enum: tuple[str, ...] | None = None

    def schema(self) -> dict[str, Any]:
        found: dict[str, Any] = {"type": self.kind, "description": self.description}
        if self.enum is not None:
            found["enum"] = list(self.enum)
        return found


@dataclass(frozen=True, kw_only=True)
class Tool:
    """How a language model asks for an action: an OpenAI-style function tool."""

    name: str
    description: str
    params: Mapping[str, Param] = field(default_factory=dict)
    build: Build

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(name for name, param in self.params.items() if param.required)

    def properties(self) -> dict[str, dict[str, Any]]:
        return {name: param.schema() for name, param in self.params.items()}

    def definition(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": {
                    "type": "object",
                    "properties": self.properties(),
                    "required": list(self.required),
                },
            },
        }

    def signature(self) -> str:
        """``input_text(index, text, press_enter?)``: optional parameters end in ``?``."""
        params = ", ".join(f"{n}{'' if p.required else '?'}" for n, p in self.params.items())
        return f"{self.name}({params})"


FLAGS = ("resolvable", "opens_tabs", "downloads")


@dataclass(frozen=True, kw_only=True)
class ActionSpec:
    """One action, declared once."""

    action: type[Action]
    handler: Handler
    # The docs table's row; actions that share one are listed together.
    docs_row: str
    tool: Tool | None = None
    # The docs table's LLM column for an action without a tool of its own.
    llm_note: str = ""
    # Examples of the rules grammar for it; the unit test compiles each one.
    phrasings: tuple[str, ...] = ()
    rules_note: str = ""
    # The rules planner may match its words to an element the observation lists
    # (rules/resolve.py), and act on that element's index.
    resolvable: bool = False
    # It may open a tab (a click on a target=_blank link): the runner looks for one.
    opens_tabs: bool = False
    # It may start a download: a run that ends with it waits a moment for the event.
    downloads: bool = False


class Registry:
    """The declared actions, in the order written (which is the order of the tools)."""

    def __init__(self, *specs: ActionSpec) -> None:
        self.specs = specs
        self._by_action: dict[type[Action], ActionSpec] = {}
        self._tools: dict[str, Tool] = {}
        for spec in specs:
            if spec.action in self._by_action:
                raise ValueError(f"{spec.action.__name__} is declared twice")
            self._by_action[spec.action] = spec
            if spec.tool is not None:
                if spec.tool.name in self._tools:
                    raise ValueError(f"the tool {spec.tool.name} is declared twice")
                self._tools[spec.tool.name] = spec.tool

    def spec(self, action: type[Action]) -> ActionSpec | None:
        return self._by_action.get(action)

    def handler(self, action: Action) -> Handler | None:
        spec = self._by_action.get(type(action))
        return None if spec is None else spec.handler

    def actions(self) -> tuple[type[Action], ...]:
        return tuple(self._by_action)

    def tools(self) -> dict[str, Tool]:
        return dict(self._tools)

    def flagged(self, flag: str) -> tuple[type[Action], ...]:
        """The action classes with ``flag`` set, for ``isinstance``."""
        if flag not in FLAGS:
            raise ValueError(f"no flag {flag!r}; the flags are {', '.join(FLAGS)}")
        return tuple(spec.action for spec in self.specs if getattr(spec, flag))

    def markdown_table(self) -> str:
        """The docs' action table: a row per ``docs_row``, in the order first declared."""
        rows: dict[str, list[ActionSpec]] = {}
        for spec in self.specs:
            rows.setdefault(spec.docs_row, []).append(spec)
        lines = ["| action | LLM tool | rules phrasing (examples) |", "|---|---|---|"]
        for row, specs in rows.items():
            tools = [f"`{s.tool.signature()}`" for s in specs if s.tool is not None]
            llm = ", ".join(tools) or next((s.llm_note for s in specs if s.llm_note), "")
            said = [f"`{p}`" for s in specs for p in s.phrasings]
            notes = [s.rules_note for s in specs if s.rules_note]
            rules = " ".join(part for part in (", ".join(said), *notes) if part)
            lines.append(f"| {row} | {llm} | {rules} |")
        return "\n".join(lines)
