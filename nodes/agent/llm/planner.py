"""The LLM planner: an OpenAI-compatible chat model chooses the next actions.

Each call sends the task, the recent turns (the model's tool calls and what
came of them) and the latest observation. Tool calling is used when the server
offers it; otherwise, or when a model answers in prose, a JSON reply described
in the prompt is accepted. A reply that cannot be used is sent back with the
reason, up to ``max_retries`` times, then the run fails with PlannerFailed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nodes.agent.actions import Action
from nodes.agent.llm.client import ChatClient, ImagesRejected, ToolsRejected
from nodes.agent.llm.config import LLMSettings
from nodes.agent.llm.loops import LoopDetector
from nodes.agent.llm.prompt import (
    DEFAULT_SYSTEM_PROMPT,
    json_tool_list,
    render_observation,
    schema_instructions,
)
from nodes.agent.llm.reply import BadReply, Call, parse_reply
from nodes.agent.llm.tools import tool_definitions
from nodes.agent.llm.usage import LLMUsage
from nodes.agent.types import Observation, StepRecord
from shared.errors import PlannerFailed
from shared.output_schema import mismatch

# Older turns are dropped so that long runs stay within a model's context.
MAX_TURNS = 12
# A done whose data does not match the output schema is sent back this many times.
DATA_RETRIES = 2


@dataclass
class _Turn:
    reply: dict[str, Any]  # the assistant message, as it goes back to the model
    calls: list[Call]
    steps_before: int
    outcomes: list[str] = field(default_factory=list)

    def messages(self) -> list[dict[str, Any]]:
        if self.reply.get("tool_calls"):
            return [self.reply] + [
                {"role": "tool", "tool_call_id": c.id, "content": o}
                for c, o in zip(self.calls, self.outcomes, strict=True)
            ]
        results = "\n".join(
            f"- {c.name}: {o}" for c, o in zip(self.calls, self.outcomes, strict=True)
        )
        return [self.reply, {"role": "user", "content": f"Results of your actions:\n{results}"}]


def _outcomes(turn: _Turn, history: Sequence[StepRecord]) -> list[str]:
    steps = iter(history[turn.steps_before :])
    out = []
    for call in turn.calls:
        said = []
        for _ in call.actions:
            step = next(steps, None)
            if step is None:
                said.append("not run: the page changed before it, look again")
            elif step.ok:
                said.append(f"ok (now at {step.url})")
            else:
                said.append(f"failed: {step.error}")
        out.append("; ".join(said) or "ok")
    return out


def _parts(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return content if isinstance(content, list) else [{"type": "text", "text": content}]


def _merge_users(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Several chat templates (llama.cpp, Mistral) reject two user messages in a row.
    merged: list[dict[str, Any]] = []
    for message in messages:
        if merged and message["role"] == "user" and merged[-1]["role"] == "user":
            before, after = merged[-1]["content"], message["content"]
            if isinstance(before, str) and isinstance(after, str):
                content: Any = before + "\n\n" + after
            else:  # an observation with a screenshot: a list of parts
                content = _parts(before) + _parts(after)
            merged[-1] = {"role": "user", "content": content}
        else:
            merged.append(message)
    return merged


class LLMPlanner:
    def __init__(
        self,
        instruction: str,
        settings: LLMSettings,
        *,
        deadline: float,
        system_prompt: str | None = None,
        usage: LLMUsage | None = None,
        max_tokens_total: int | None = None,
        output_schema: dict[str, Any] | None = None,
        vision: str = "off",
        context: str = "",
    ) -> None:
        if not settings.configured:
            raise PlannerFailed(
                "no language model is configured: set BROWSING_LLM_BASE_URL and "
                "BROWSING_LLM_MODEL, or llm.base_url and llm.model in the template"
            )
        self.instruction = instruction
        self.context = context  # what the task's other planner did and does (hybrid.py)
        self.settings = settings
        self.client = ChatClient(settings, deadline, usage, max_tokens_total)
        self.system_prompt = system_prompt or DEFAULT_SYSTEM_PROMPT
        self.use_tools = settings.tool_mode != "json"
        self.turns: list[_Turn] = []
        self.loops = LoopDetector()
        self.output_schema = output_schema
        self.data: Any = None  # done's data, once it matched the output schema
        self.data_mismatches = 0
        self.vision = vision  # off, on, or auto: on until the server rejects images

    @property
    def wants_image(self) -> bool:
        """Whether the runner should attach a screenshot to the next observation."""
        return self.vision != "off"

    def _messages(self, observation: Observation, warning: str = "") -> list[dict[str, Any]]:
        system = self.system_prompt
        if not self.use_tools:
            system += "\n" + json_tool_list()
        if self.output_schema is not None:
            system += "\n" + schema_instructions(self.output_schema)
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": system},
            {"role": "user", "content": f"Task: {self.instruction}{self.context}"},
        ]
        for turn in self.turns[-MAX_TURNS:]:
            messages += turn.messages()
        seen = render_observation(observation)
        content: str | list[dict[str, Any]] = f"{warning}\n{seen}" if warning else seen
        if observation.image and self.wants_image:
            content = [
                {"type": "text", "text": content},
                {"type": "text", "text": "Screenshot of the viewport, elements labelled:"},
                {"type": "image_url", "image_url": {"url": observation.image}},
            ]
        messages.append({"role": "user", "content": content})
        return _merge_users(messages)

    def next_actions(self, observation: Observation, history: Sequence[StepRecord]) -> list[Action]:
        if self.turns and not self.turns[-1].outcomes:
            self.turns[-1].outcomes = _outcomes(self.turns[-1], history)
        feedback: list[dict[str, Any]] = []
        error = ""
        tries = 0
        warning = self.loops.take_warning()
        while tries <= self.settings.max_retries:
            messages = self._messages(observation, warning) + feedback
            try:
                reply = self.client.complete(
                    messages, tool_definitions(self.output_schema) if self.use_tools else None
                )
            except ImagesRejected as exc:
                if self.vision != "auto":
                    raise PlannerFailed(
                        f"{exc.message} (the template's vision is on: the model must take "
                        "images; vision: auto falls back to text)"
                    ) from exc
                self.vision = "off"  # this server or model cannot take images: text only
                continue
            except ToolsRejected:
                if self.settings.tool_mode != "auto" or not self.use_tools:
                    raise
                self.use_tools = False  # this server cannot take tools: describe them instead
                continue
            tries += 1
            try:
                calls = parse_reply(reply, observation)
            except BadReply as exc:
                error = str(exc)
                feedback += _feedback(reply, error, self.use_tools)
                continue
            data_error = self._check_data(calls)
            if data_error:
                tries -= 1  # bounded by DATA_RETRIES instead
                feedback += _feedback(reply, data_error, self.use_tools)
                continue
            actions = [action for call in calls for action in call.actions]
            self.loops.check(observation, actions)
            self.turns.append(_Turn(_echo(reply, calls), calls, steps_before=len(history)))
            return actions
        raise PlannerFailed(
            f"the language model's replies could not be used after {tries} tries: {error}"
        )

    def _check_data(self, calls: list[Call]) -> str:
        """Why a successful done's data cannot be accepted ("" when it can, or when there
        is no done or no schema); PlannerFailed once it was sent back DATA_RETRIES times."""
        done = next((c for c in calls if c.name == "done"), None)
        if (
            self.output_schema is None
            or done is None
            or done.arguments.get("success")
            in (
                False,
                "false",
            )
        ):
            return ""
        if "data" not in done.arguments:
            error = "done needs data: JSON matching the output schema"
        else:
            error = mismatch(self.output_schema, done.arguments["data"]) or ""
            error = error and f"done's data does not match the output schema: {error}"
        if not error:
            self.data = done.arguments["data"]
            return ""
        self.data_mismatches += 1
        if self.data_mismatches > DATA_RETRIES:
            raise PlannerFailed(f"{error} (after {self.data_mismatches} tries)")
        return error


def _echo(reply: dict[str, Any], calls: list[Call]) -> dict[str, Any]:
    """The assistant message to keep in the conversation, in a well-formed shape."""
    if reply.get("tool_calls"):
        return {
            "role": "assistant",
            "content": reply.get("content") or None,
            "tool_calls": [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for c in calls
            ],
        }
    return {"role": "assistant", "content": str(reply.get("content") or "")}


def _feedback(reply: dict[str, Any], error: str, use_tools: bool) -> list[dict[str, Any]]:
    how = "Call the tools again, correctly." if use_tools else "Reply again with the JSON object."
    messages: list[dict[str, Any]] = []
    calls = [c for c in reply.get("tool_calls") or [] if isinstance(c, dict) and c.get("id")]
    if calls:
        messages.append(
            {"role": "assistant", "content": reply.get("content") or None, "tool_calls": calls}
        )
        messages += [
            {"role": "tool", "tool_call_id": c["id"], "content": f"error: {error}"} for c in calls
        ]
    else:
        messages.append({"role": "assistant", "content": str(reply.get("content") or "")})
    messages.append({"role": "user", "content": f"Your reply could not be used: {error}. {how}"})
    return messages
