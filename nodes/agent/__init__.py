"""The browsing agent: turns a plain-language instruction into browser steps.

``run_agent`` picks the planner a template asks for (the offline rules, or an
OpenAI-compatible language model) and runs the observe-plan-act loop;
``run_planner`` runs any object implementing ``Planner``.
"""

from __future__ import annotations

from nodes.agent.actions import (
    Action,
    ChangeLanguage,
    ChooseSetting,
    Click,
    ClickAny,
    CloseTab,
    Done,
    Download,
    Extract,
    GoBack,
    Navigate,
    OpenTab,
    PressKey,
    Reload,
    ReturnText,
    Scroll,
    ScrollTo,
    SelectOption,
    SetChecked,
    Summarize,
    SwitchTab,
    TakeScreenshot,
    TypeText,
    UploadFile,
    Wait,
    WaitForLoad,
    WaitForText,
)
from nodes.agent.agent import run_agent
from nodes.agent.hybrid import HybridPlanner
from nodes.agent.llm.config import LLMSettings, llm_settings
from nodes.agent.llm.planner import LLMPlanner
from nodes.agent.loop.runner import Limits, run_planner
from nodes.agent.planners import AgentConfig, agent_config, make_planner
from nodes.agent.rules.planner import RulesPlanner, plan_instruction
from nodes.agent.rules.replay import render_replay
from nodes.agent.types import (
    AgentResult,
    Element,
    Observation,
    Planner,
    Screenshot,
    ScreenshotPolicy,
    StepRecord,
    Tab,
)
from shared.errors import PlannerFailed, StepLimitReached, TaskGaveUp

__all__ = [
    "Action",
    "AgentConfig",
    "AgentResult",
    "ChangeLanguage",
    "ChooseSetting",
    "Click",
    "ClickAny",
    "CloseTab",
    "Done",
    "Download",
    "Element",
    "Extract",
    "GoBack",
    "HybridPlanner",
    "LLMPlanner",
    "LLMSettings",
    "Limits",
    "Navigate",
    "Observation",
    "OpenTab",
    "Planner",
    "PlannerFailed",
    "PressKey",
    "Reload",
    "ReturnText",
    "RulesPlanner",
    "Screenshot",
    "ScreenshotPolicy",
    "Scroll",
    "ScrollTo",
    "SelectOption",
    "SetChecked",
    "StepLimitReached",
    "StepRecord",
    "Summarize",
    "SwitchTab",
    "Tab",
    "TakeScreenshot",
    "TaskGaveUp",
    "TypeText",
    "UploadFile",
    "Wait",
    "WaitForLoad",
    "WaitForText",
    "agent_config",
    "llm_settings",
    "make_planner",
    "plan_instruction",
    "render_replay",
    "run_agent",
    "run_planner",
]
