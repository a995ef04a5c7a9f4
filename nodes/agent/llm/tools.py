"""The actions offered to a language model as tools, and reading its calls back.

The same definitions serve both ways of asking: as OpenAI ``tools`` and, for
servers or models without tool calling, described in the prompt for a JSON
reply. ``to_actions`` checks a call against its definition and raises
BadReply with a message meant for the model, so it can correct itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nodes.agent import actions as a
from nodes.agent.types import Observation


class BadReply(ValueError):
    """The model's reply cannot be turned into actions; the message tells it why."""


def _p(kind: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, **extra}


INDEX = _p("integer", "The element's number in the observation's list, e.g. 3 for [3].")
TOOLS: dict[str, tuple[str, dict[str, dict], tuple[str, ...]]] = {
    # name: (description, properties, required)
    "navigate": (
        "Open a URL in the current tab.",
        {"url": _p("string", "An http(s) URL.")},
        ("url",),
    ),
    "go_back": ("Go back to the previous page in this tab.", {}, ()),
    "click": ("Click an element.", {"index": INDEX}, ("index",)),
    "input_text": (
        "Replace the text of an input field; optionally press Enter after it.",
        {"index": INDEX, "text": _p("string", "The text."), "press_enter": _p("boolean", "")},
        ("index", "text"),
    ),
    "send_keys": (
        "Press keys in the focused element, e.g. Enter, Escape, Tab, ArrowDown, Control+a.",
        {"keys": _p("string", "A key or a combination joined with +.")},
        ("keys",),
    ),
    "select_option": (
        "Choose an option of a drop-down (combobox) by its label.",
        {"index": INDEX, "option": _p("string", "The option's label as listed.")},
        ("index", "option"),
    ),
    "set_checked": (
        "Check or uncheck a checkbox, radio button or switch.",
        {"index": INDEX, "checked": _p("boolean", "true to check, false to uncheck.")},
        ("index", "checked"),
    ),
    "upload_file": (
        "Put one of the task's files into a file input (listed as a button, often "
        '"Choose File"); the observation lists the files you can upload.',
        {"index": INDEX, "name": _p("string", "The file's name, as listed.")},
        ("index", "name"),
    ),
    "scroll": (
        "Scroll the page.",
        {"direction": _p("string", "", enum=["down", "up", "top", "bottom"])},
        ("direction",),
    ),
    "wait": (
        "Wait for some seconds, or until a text appears on the page.",
        {"seconds": _p("number", "At most 30."), "text": _p("string", "Text to wait for.")},
        (),
    ),
    "extract": (
        "Read data from the page: its full text, or JSON of one shape.",
        {"shape": _p("string", "", enum=list(a.EXTRACT_SHAPES))},
        ("shape",),
    ),
    "open_tab": ("Open a URL in a new tab.", {"url": _p("string", "An http(s) URL.")}, ("url",)),
    "switch_tab": ("Switch to another tab.", {"tab": _p("integer", "The tab's number.")}, ("tab",)),
    "close_tab": (
        "Close a tab (the current one if no number is given).",
        {"tab": _p("integer", "The tab's number.")},
        (),
    ),
    "download": (
        "Download a file: click the link or button [index] that downloads it, or open the "
        "file's url. The file is kept for the user; the step reports its name and size.",
        {"index": INDEX, "url": _p("string", "The file's http(s) URL, instead of an index.")},
        (),
    ),
    "done": (
        "Finish: give the answer the task asked for, or say why it could not be done.",
        {
            "text": _p("string", "The result for the user, with the data the task asked for."),
            "success": _p("boolean", "false if the task could not be completed."),
        },
        ("text", "success"),
    ),
}


def done_data(output_schema: Mapping[str, Any]) -> dict[str, Any]:
    """done's ``data`` parameter for a task with an output schema: the schema itself."""
    description = "The structured result: JSON matching the task's output schema."
    return {"description": description, **output_schema}


def tool_definitions(output_schema: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The tools; with ``output_schema``, done also takes ``data`` constrained to it (the
    planner checks it, since servers do not all enforce parameter schemas)."""
    tools = [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": description,
                "parameters": {
                    "type": "object",
                    "properties": properties,
                    "required": list(required),
                },
            },
        }
        for name, (description, properties, required) in TOOLS.items()
    ]
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
    _, properties, required = TOOLS[tool]
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
    if tool == "navigate":
        return [a.Navigate(args["url"])]
    if tool == "go_back":
        return [a.GoBack()]
    if tool == "click":
        return [a.Click(name, index=args["index"])]
    if tool == "input_text":
        typed: list[a.Action] = [a.TypeText(name, args["text"], index=args["index"])]
        return typed + ([a.PressKey("Enter")] if args.get("press_enter") else [])
    if tool == "send_keys":
        return [a.PressKey(args["keys"])]
    if tool == "select_option":
        return [a.SelectOption(name, args["option"], index=args["index"])]
    if tool == "set_checked":
        return [a.SetChecked(name, args["checked"], index=args["index"])]
    if tool == "upload_file":
        return [a.UploadFile(name, args["name"], index=args["index"])]
    if tool == "scroll":
        return [a.Scroll(args["direction"])]
    if tool == "wait":
        if args.get("text"):
            return [a.WaitForText(args["text"])]
        return [a.Wait(min(30.0, max(0.0, float(args.get("seconds", 1)))))]
    if tool == "extract":
        return [a.Extract(args["shape"])]
    if tool == "open_tab":
        return [a.OpenTab(args["url"])]
    if tool == "switch_tab":
        return [a.SwitchTab(str(args["tab"]))]
    if tool == "close_tab":
        return [a.CloseTab(str(args["tab"]) if "tab" in args else "current")]
    if tool == "download":
        if "index" in args:
            return [a.Download(name, index=args["index"])]
        if not args.get("url"):
            raise BadReply("download: give the index of a link or button, or a url")
        return [a.Download(url=args["url"])]
    return [a.Done(args["text"], success=args["success"])]
