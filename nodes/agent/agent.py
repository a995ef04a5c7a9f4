"""``run_agent``: one plain-language task, with the planner and limits its template sets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from nodes.agent.llm_usage import LLMUsage
from nodes.agent.planners import agent_config, make_planner
from nodes.agent.runner import run_planner
from nodes.agent.types import AgentResult, Screenshot, ScreenshotPolicy, StepRecord

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
) -> AgentResult:
    """Carry out a plain-language instruction.

    ``template`` (a loaded browsing template) chooses the planner (rules, llm
    or auto), the model settings and system prompt, ``max_steps`` and
    ``max_failures``, blocked resource types and allowed domains. Without
    one, the offline rules planner runs with default limits. A rules
    instruction is compiled first, so InstructionNotUnderstood is raised
    before any page is opened. ``refusals``: the node's egress proxy's log, so that a
    page load the policy refused fails its step with the policy's reason. ``files``:
    the task's uploads by name, as local files (nodes/uploads.py), for file inputs.
    page load the policy refused fails its step with the policy's reason.
    ``downloads``: catches the files the pages download (nodes/downloads.py).
    ``usage``: counts the language model's calls and tokens, however the run ends.
    """
    config = agent_config(template)
    planner = make_planner(instruction, config, deadline=deadline, usage=usage)
    return run_planner(
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
