"""The actions offered to a language model as tools, and reading its calls back.

The tools are those the registry declares (``act/catalog.py``). The same
definitions serve both ways of asking: as OpenAI ``tools`` and, for servers or
models without tool calling, described in the prompt for a JSON reply.
``to_actions`` checks a call against its definition and raises BadReply with a
message meant for the model, so it can correct itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nodes.agent import actions as a
from nodes.agent.act.catalog import REGISTRY
from nodes.agent.registry import BadReply, Tool
from nodes.agent.types import Observation

__all__ = ["TOOLS", "BadReply", "check_arguments", "done_data", "to_actions", "tool_definitions"]


# The tools, in the order declared (``act/catalog.py``).
TOOLS: dict[str, Tool] = REGISTRY.tools()


def done_data(output_schema: Mapping[str, Any]) -> dict[str, Any]:
    """done's ``data`` parameter for a task with an output schema: the schema itself."""
    description = "The structured result: JSON matching the task's output schema."
    return {"description": description, **output_schema}


def tool_definitions(output_schema: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The tools; with ``output_schema``, done also takes ``data`` constrained to it (the
    planner checks it, since servers do not all enforce parameter schemas)."""
    tools = [tool.definition() for tool in TOOLS.values()]
    if output_schema is not None:
        done = next(t for t in tools if t["function"]["name"] == "done")["function"]["parameters"]
        done["properties"] = {**done["properties"], "data": done_data(output_schema)}
    return tools


_KINDS = {"integer": "an integer", "boolean": "true or false", "number": "a number",
          "string": "a string"}  # fmt: skip


def _coerce(tool: str, name: str, value: Any, kind: str) -> Any:
    # Small models send "3" for 3 and "true" for true; that much is forgiven.
    if (
        kind == "integer"
        and isinstance(value, str)
        and value.strip().lstrip("[").rstrip("]").isdigit()
    ):
        return int(value.strip().strip("[]"))
    if kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind == "number" and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    checks: dict[str, Callable[[Any], bool]] = {
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "string": lambda v: isinstance(v, str),
    }
    if not checks[kind](value):
        raise BadReply(f"{tool}: {name} must be {_KINDS[kind]}, not {value!r}")
    return value


def check_arguments(tool: str, arguments: Any) -> dict[str, Any]:
    if tool not in TOOLS:
        raise BadReply(f"there is no tool {tool!r}; use one of: {', '.join(TOOLS)}")
    if not isinstance(arguments, Mapping):
        raise BadReply(f"{tool}: the arguments must be a JSON object")
    properties, required = TOOLS[tool].properties(), TOOLS[tool].required
    missing = [name for name in required if arguments.get(name) is None]
    if missing:
        raise BadReply(f"{tool}: missing {', '.join(missing)}")
    checked = {}
    for name, value in arguments.items():
        if name in properties and value is not None and "type" in properties[name]:
            spec = properties[name]
            checked[name] = _coerce(tool, name, value, spec["type"])
            if "enum" in spec and checked[name] not in spec["enum"]:
                raise BadReply(f"{tool}: {name} must be one of {', '.join(spec['enum'])}")
    return checked


def _element_name(observation: Observation, index: int) -> str:
    for element in observation.elements:
        if element.index == index:
            return element.name
    raise BadReply(f"there is no element [{index}] in the current observation")


def to_actions(tool: str, arguments: Any, observation: Observation) -> list[a.Action]:
    """The actions for one tool call, checked against the tool's definition."""
    args = check_arguments(tool, arguments)
    name = _element_name(observation, args["index"]) if "index" in args else ""
    return TOOLS[tool].build(args, name)
