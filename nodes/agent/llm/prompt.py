"""What the language model reads: the system prompt and each observation as text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nodes.agent.llm.tools import TOOLS
from nodes.agent.types import Observation

DEFAULT_SYSTEM_PROMPT = """\
You are a browser agent. You complete the user's task in a real web browser by \
calling tools, one small step at a time.
After every step you receive an observation: the URL, the title, the open tabs, \
the interactive elements as numbered lines such as [3] textbox "Email", and the \
page's visible text. Refer to elements by their number. Numbers change after \
every step; only use numbers from the latest observation.
Rules:
- Prefer one action per reply when it changes the page (navigate, click, submit).
- If an action fails, read the error and try something else; do not repeat it blindly.
- When the task asks for information, read it from the page (or call extract) and \
put the exact text the task asked for into done's text.
- Call done with success=true when the task is complete, or success=false with the \
reason when it cannot be completed.
"""

JSON_INSTRUCTIONS = """\
Reply with one JSON object and nothing else, of this form:
{"actions": [{"name": "<tool>", "arguments": {...}}]}
The tools are:
"""

OBSERVATION_TEXT_CHARS = 2000
EXTRACT_CHARS = 3000


def schema_instructions(output_schema: Mapping[str, Any]) -> str:
    """What the model is told when the task asks for structured output."""
    return (
        "This task asks for structured output: when you call done with success=true, give "
        "data, a JSON value matching this JSON Schema (and a short text too):\n"
        + json.dumps(output_schema, ensure_ascii=False)
    )


def json_tool_list() -> str:
    lines = []
    for name, tool in TOOLS.items():
        params = ", ".join(
            f"{p}: {param.kind}{'' if param.required else ' (optional)'}"
            for p, param in tool.params.items()
        )
        lines.append(f"- {name}({params}): {tool.description}")
    return JSON_INSTRUCTIONS + "\n".join(lines)


def render_observation(observation: Observation) -> str:
    lines = [
        f"Step {observation.steps_done + 1}"
        + (f" of at most {observation.max_steps}" if observation.max_steps else "")
    ]
    if observation.last_error:
        lines.append(f"The last action failed: {observation.last_error}")
    lines += [f"URL: {observation.url}", f"Title: {observation.title}"]
    if observation.tabs:
        lines.append("Tabs:")
        lines += [
            f"  {t.index}{' (current)' if t.current else ''}: {t.title} - {t.url}"
            for t in observation.tabs
        ]
    for number, url in enumerate(observation.frames, start=1):
        lines.append(f"Frame {number}: {url}")
    scroll = observation.scroll
    if scroll.get("height", 0) > scroll.get("viewport", 0) > 0:
        lines.append(
            f"Scrolled to {scroll.get('y', 0)} px of {scroll['height']} px "
            f"(the window shows {scroll['viewport']} px)"
        )
    if observation.uploads:
        lines.append("Files you can upload (upload_file): " + ", ".join(observation.uploads))
    lines.append("Interactive elements:")
    lines += [e.describe() for e in observation.elements] or ["(none)"]
    if observation.more_elements:
        lines.append("(more elements not listed)")
    lines.append("Visible text:")
    lines.append(observation.text[:OBSERVATION_TEXT_CHARS] or "(none)")
    if observation.extracted:
        lines.append("Extracted so far (latest last):")
        lines.append(observation.extracted[-1][:EXTRACT_CHARS])
    return "\n".join(lines)
