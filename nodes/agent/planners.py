"""Choosing and configuring the planner for a task from its template.

``planner`` is "rules" (offline), "llm", or "auto": when a model is configured (in
the template or the environment) the hybrid planner (hybrid.py: the rules for the
clauses they understand, the model for the rest), else the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nodes.agent.hybrid import HybridPlanner, segment_instruction
from nodes.agent.llm.config import LLMSettings, llm_settings
from nodes.agent.llm.planner import LLMPlanner
from nodes.agent.llm.usage import LLMUsage
from nodes.agent.loop.guard import Guard
from nodes.agent.loop.runner import Limits
from nodes.agent.rules.planner import RulesPlanner
from nodes.agent.types import Planner
from shared.errors import StepLimitReached

if TYPE_CHECKING:
    from nodes.egress.proxy import RefusalLog

PLANNERS = ("rules", "llm", "auto")


@dataclass(frozen=True, kw_only=True)
class AgentConfig:
    """What a template says about the agent (the browser context is set up elsewhere)."""

    planner: str = "rules"
    limits: Limits = field(default_factory=Limits)
    system_prompt: str | None = None
    llm: LLMSettings = field(default_factory=LLMSettings)
    allowed_domains: tuple[str, ...] = ()
    blocked_resource_types: tuple[str, ...] = ()
    max_tokens_total: int | None = None  # the LLM planner's token budget per task
    vision: str = "off"  # the LLM planner's screenshots: off, on or auto (observation/vision.py)

    @property
    def chosen_planner(self) -> str:
        if self.planner == "auto":
            return "hybrid" if self.llm.configured else "rules"
        return self.planner

    def guard(self, refusals: RefusalLog | None = None) -> Guard:
        return Guard(self.allowed_domains, self.blocked_resource_types, refusals)


def agent_config(
    template: Mapping[str, Any] | None, env: Mapping[str, str] | None = None
) -> AgentConfig:
    """The agent's configuration for a template; no template means the offline rules."""
    if template is None:
        return AgentConfig()
    defaults = Limits()
    return AgentConfig(
        planner=str(template.get("planner", "auto")),
        limits=Limits(
            max_steps=int(template.get("max_steps", defaults.max_steps)),
            max_failures=int(template.get("max_failures", defaults.max_failures)),
        ),
        system_prompt=template.get("system_prompt") or None,
        llm=llm_settings(template.get("llm"), env),
        allowed_domains=tuple(template.get("allowed_domains") or ()),
        blocked_resource_types=tuple(template.get("blocked_resource_types") or ()),
        max_tokens_total=template.get("max_tokens_total"),
        vision=str(template.get("vision", "off")),
    )


def make_planner(
    instruction: str,
    config: AgentConfig,
    *,
    deadline: float,
    usage: LLMUsage | None = None,
    output_schema: dict[str, Any] | None = None,
) -> Planner:
    """Raises before any page opens when the instruction cannot be planned. ``usage``
    counts the model calls and tokens the LLM planner spends. A task with an output
    schema gets the LLM planner where the hybrid one would run: the schema describes
    the whole task's answer, which one model's ``done`` gives."""
    chosen = config.chosen_planner
    if chosen == "hybrid" and output_schema is None:
        # One count for all sub-goals: the token budget is the task's, not each one's.
        usage = usage if usage is not None else LLMUsage()
        planner = HybridPlanner(
            segment_instruction(instruction),
            lambda goal, context: _llm_planner(goal, config, deadline, usage, None, context),
            vision=config.vision,
        )
        _check_steps(planner.rules_actions, config)
        return planner
    if chosen in ("llm", "hybrid"):
        return _llm_planner(instruction, config, deadline, usage, output_schema)
    rules = RulesPlanner(instruction)
    _check_steps(len(rules.actions), config)
    return rules


def _llm_planner(
    instruction: str,
    config: AgentConfig,
    deadline: float,
    usage: LLMUsage | None,
    output_schema: dict[str, Any] | None,
    context: str = "",
) -> LLMPlanner:
    return LLMPlanner(
        instruction,
        config.llm,
        deadline=deadline,
        system_prompt=config.system_prompt,
        usage=usage,
        max_tokens_total=config.max_tokens_total,
        output_schema=output_schema,
        vision=config.vision,
        context=context,
    )


def _check_steps(planned: int, config: AgentConfig) -> None:
    if planned > config.limits.max_steps:
        raise StepLimitReached(
            f"the instruction needs {planned} steps; the template allows {config.limits.max_steps}"
        )


def planner_name(planner: Planner) -> str:
    """``info.planner``: rules, llm or hybrid."""
    if isinstance(planner, HybridPlanner):
        return "hybrid"
    return "llm" if isinstance(planner, LLMPlanner) else "rules"
