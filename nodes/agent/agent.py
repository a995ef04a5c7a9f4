"""``run_agent``: one plain-language task, with the planner and limits its template sets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nodes.agent.actions import Extract
from nodes.agent.hybrid import HybridPlanner
from nodes.agent.llm.planner import LLMPlanner
from nodes.agent.llm.usage import LLMUsage
from nodes.agent.loop.runner import run_planner
from nodes.agent.planners import agent_config, make_planner, planner_name
from nodes.agent.rules.replay import render_replay
from nodes.agent.types import AgentResult, Planner, Screenshot, ScreenshotPolicy, StepRecord
from shared.errors import PlannerFailed
from shared.output_schema import json_values, mismatch

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import BrowserContext, Page

    from nodes.downloads import DownloadCollector
    from nodes.egress.proxy import RefusalLog


def _never() -> bool:
    return False


def run_agent(
    context: BrowserContext,
    instruction: str,
    *,
    policy: ScreenshotPolicy,
    deadline: float,
    should_stop: Callable[[], bool] = _never,
    on_step: Callable[[StepRecord], None] | None = None,
    action_timeout_ms: int = 15000,
    page: Page | None = None,
    template: Mapping[str, Any] | None = None,
    refusals: RefusalLog | None = None,
    on_screenshot: Callable[[Screenshot, int], None] | None = None,
    files: Mapping[str, Path] | None = None,
    downloads: DownloadCollector | None = None,
    usage: LLMUsage | None = None,
    output_schema: dict[str, Any] | None = None,
) -> AgentResult:
    """Carry out a plain-language instruction.

    ``template`` (a loaded browsing template) chooses the planner (rules, llm
    or auto: hybrid with a model), the model settings and system prompt, ``max_steps``
    and ``max_failures``, blocked resource types and allowed domains. Without
    one, the offline rules planner runs with default limits. A rules
    instruction is compiled first, so InstructionNotUnderstood is raised
    before any page is opened. The result's ``info`` names the planner and holds the
    replay script (``run_info``). ``refusals``: the node's egress proxy's log, so that a
    page load the policy refused fails its step with the policy's reason. ``files``:
    the task's uploads by name, as local files (nodes/uploads.py), for file inputs.
    page load the policy refused fails its step with the policy's reason.
    ``downloads``: catches the files the pages download (nodes/downloads.py).
    ``usage``: counts the language model's calls and tokens, however the run ends.
    ``output_schema``: the result's ``data`` must match it (see ``structured_data``).
    """
    config = agent_config(template)
    planner = make_planner(
        instruction, config, deadline=deadline, usage=usage, output_schema=output_schema
    )
    if output_schema is not None and not isinstance(planner, LLMPlanner):
        plan = getattr(planner, "actions", None)
        if plan is not None and not any(isinstance(a, Extract) and a.shape != "text" for a in plan):
            # Known before any page opens: the run could not fill the schema.
            raise PlannerFailed(
                "the rules planner cannot fill the output schema: the instruction extracts "
                'no JSON (ask for it, e.g. "extract the table as JSON", or use a template '
                "with a language model)"
            )
    result = run_planner(
        context,
        planner,
        policy=policy,
        deadline=deadline,
        should_stop=should_stop,
        on_step=on_step,
        action_timeout_ms=action_timeout_ms,
        page=page,
        limits=config.limits,
        guard=config.guard(refusals),
        on_screenshot=on_screenshot,
        files=files,
        downloads=downloads,
    )
    result = replace(result, info=run_info(planner, result))
    if output_schema is None:
        return result
    return replace(result, data=structured_data(planner, result, output_schema))


def run_info(planner: Planner, result: AgentResult) -> dict[str, Any]:
    """What a successful run adds to the task's ``info``: the planner that ran, for the
    hybrid one which planner ran each clause (``plan``), and the replay script."""
    info: dict[str, Any] = {"planner": planner_name(planner)}
    if isinstance(planner, HybridPlanner):
        info["plan"] = planner.plan_info()
    info["replay"] = render_replay(result.actions).as_info()
    return info


def structured_data(planner: Planner, result: AgentResult, output_schema: dict[str, Any]) -> Any:
    """The data for a task with an output schema. The LLM planner's done gave it, checked
    already. The rules planner has no model to shape data with: the run's extracted JSON
    (``extract ... as JSON``, the latest that matches) is used when it matches the schema;
    otherwise the task fails, rather than succeed without the data it asked for."""
    if isinstance(planner, LLMPlanner):
        return planner.data
    found = json_values(result.result)
    for value in found:
        if mismatch(output_schema, value) is None:
            return value
    why = (
        f"its extracted JSON does not match: {mismatch(output_schema, found[0])}"
        if found
        else "the run extracted no JSON"
    )
    raise PlannerFailed(f"the rules planner cannot fill the output schema: {why}")
