"""Turning a model's reply into tool calls: native tool calls, or JSON in the text.

JSON replies are read leniently, because models wrap them in prose or code
fences and vary the shape: ``{"actions": [{"name", "arguments"}]}``, a bare
list of those, one such object, or ``{"click": {"index": 3}}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from nodes.agent.actions import Action
from nodes.agent.llm.tools import TOOLS, BadReply, to_actions
from nodes.agent.types import Observation

__all__ = ["BadReply", "Call", "parse_reply"]

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
_NAME_KEYS = ("name", "tool", "action", "function")
_ARG_KEYS = ("arguments", "args", "parameters", "input")


@dataclass(frozen=True)
class Call:
    id: str
    name: str
    arguments: dict[str, Any]
    actions: tuple[Action, ...]


def _load_arguments(name: str, raw: Any) -> Any:
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BadReply(f"the arguments of {name} are not valid JSON ({exc}): {raw[:200]}") from exc


def _json_in(content: str) -> Any:
    error: ValueError | None = None
    for text in [m.group(1) for m in _FENCE.finditer(content)] + [content]:
        starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
        if not starts:
            continue
        try:
            return json.JSONDecoder().raw_decode(text[min(starts) :])[0]
        except ValueError as exc:
            error = exc
    if error is not None:
        raise BadReply(f"the JSON in the reply is not valid: {error}")
    raise BadReply("the reply has neither a tool call nor a JSON object of actions")


def _as_call(item: Any) -> tuple[str, Any]:
    if not isinstance(item, dict):
        raise BadReply(f"each action must be an object, not {item!r}"[:200])
    name = next((item[k] for k in _NAME_KEYS if isinstance(item.get(k), str)), None)
    if name is None:
        tools = [k for k in item if k in TOOLS]
        if len(tools) == 1:  # {"click": {"index": 3}}
            return tools[0], item[tools[0]]
        raise BadReply('each action needs a "name" and "arguments"')
    args = next((item[k] for k in _ARG_KEYS if k in item), None)
    if args is None:  # {"name": "click", "index": 3}
        args = {k: v for k, v in item.items() if k not in _NAME_KEYS}
    return name, args


def _json_calls(content: str) -> list[tuple[str, Any]]:
    data = _json_in(content)
    if isinstance(data, dict) and isinstance(data.get("actions"), list):
        data = data["actions"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise BadReply("the reply contains no actions")
    return [_as_call(item) for item in items]


def parse_reply(reply: dict[str, Any], observation: Observation) -> list[Call]:
    raw_calls = reply.get("tool_calls") or []
    named: list[tuple[str, str, Any]] = []
    if raw_calls:
        for number, raw in enumerate(raw_calls, start=1):
            function = raw.get("function") if isinstance(raw, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                raise BadReply("a tool call has no function name")
            name = function["name"]
            call_id = str(raw.get("id") or f"call_{number}")
            named.append((call_id, name, _load_arguments(name, function.get("arguments"))))
    else:
        content = str(reply.get("content") or "").strip()
        if not content:
            raise BadReply("the reply was empty; call a tool")
        named = [
            (f"call_{n}", name, args) for n, (name, args) in enumerate(_json_calls(content), 1)
        ]
    calls = []
    for call_id, name, args in named:
        actions = to_actions(name, args, observation)
        calls.append(Call(call_id, name, dict(args or {}), tuple(actions)))
        if name == "done":
            break  # nothing after done would run
    return calls
