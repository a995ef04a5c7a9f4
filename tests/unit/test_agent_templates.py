"""Templates: the shipped files are valid, bad ones fail loudly, and a template
chooses the planner, limits and guard the agent runs with."""

from __future__ import annotations

from typing import Any

import pytest

from nodes.agent import (
    HybridPlanner,
    LLMPlanner,
    RulesPlanner,
    StepLimitReached,
    agent_config,
    make_planner,
)
from nodes.browser import context_options
from shared.errors import ConfigError, ValidationError
from shared.templates import DEFAULT_TEMPLATE, load_template, template_names, validate_template

MODEL_ENV = {"BROWSING_LLM_BASE_URL": "http://llm.test/v1", "BROWSING_LLM_MODEL": "m"}


@pytest.mark.parametrize("stem", template_names())
def test_shipped_templates_are_valid(stem: str) -> None:
    template = load_template(stem)
    assert template["description"]
    assert context_options(template)["viewport"]["width"] >= 200


def test_default_template_uses_a_model_only_when_one_is_configured() -> None:
    default = load_template(DEFAULT_TEMPLATE)
    assert default["planner"] == "auto"
    assert agent_config(default, {}).chosen_planner == "rules"
    assert agent_config(default, MODEL_ENV).chosen_planner == "hybrid"
    config = agent_config(default, MODEL_ENV)
    hybrid = make_planner("Open a.test and fooble", config, deadline=0)
    assert isinstance(hybrid, HybridPlanner)
    first, second = hybrid.make_llm("fooble", ""), hybrid.make_llm("frob", "")
    assert first.client.usage is second.client.usage  # the task's budget, shared
    # An output schema describes the whole answer: one model gives it.
    schema = {"type": "object"}
    planner = make_planner("Open a.test", config, deadline=0, output_schema=schema)
    assert isinstance(planner, LLMPlanner)


def test_llm_template_takes_the_server_from_the_environment() -> None:
    config = agent_config(load_template("llm"), MODEL_ENV)
    assert config.chosen_planner == "llm"
    assert config.llm.base_url == "http://llm.test/v1" and config.llm.temperature == 0
    assert isinstance(make_planner("Open a.test", config, deadline=0), LLMPlanner)


def test_template_limits_and_guard() -> None:
    config = agent_config(
        {
            "planner": "rules",
            "max_steps": 7,
            "max_failures": 2,
            "allowed_domains": ["example.com"],
            "blocked_resource_types": ["image", "font"],
            "system_prompt": "Be brief.",
        },
        {},
    )
    assert (config.limits.max_steps, config.limits.max_failures) == (7, 2)
    guard = config.guard()
    assert guard.active and guard.blocked_types == {"image", "font"}
    assert guard.allows("https://www.example.com/x") and not guard.allows("https://evil.test/")
    assert config.system_prompt == "Be brief."
    assert isinstance(make_planner("open a.test", config, deadline=0), RulesPlanner)
    with pytest.raises(StepLimitReached, match="needs 8 steps"):
        make_planner("open a.test. " * 8, config, deadline=0)


def test_no_template_means_the_offline_rules() -> None:
    config = agent_config(None, MODEL_ENV)
    assert config.chosen_planner == "rules" and not config.guard().active


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a JSON object"),
        ({"planer": "rules"}, "unknown key planer"),
        ({"planner": "gpt"}, "planner must be one of rules, llm, auto"),
        ({"max_steps": 0}, "max_steps must be between 1 and 1000"),
        ({"max_steps": True}, "max_steps must be an integer"),
        ({"llm": {"temperature": "hot"}}, "llm.temperature must be a number"),
        ({"llm": {"base_url": "ftp://x"}}, "llm.base_url is malformed"),
        ({"llm": {"key": "x"}}, "unknown key llm.key"),
        ({"viewport": {"width": 10, "height": 800}}, "viewport.width must be between"),
        ({"blocked_resource_types": ["document"]}, r"blocked_resource_types\[0\] must be one of"),
        ({"allowed_domains": "example.com"}, "allowed_domains must be a list"),
        ({"allowed_domains": ["https://example.com"]}, r"allowed_domains\[0\] is malformed"),
        ({"locale": "English"}, "locale is malformed"),
    ],
)
def test_bad_templates_fail_loudly(data: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_template("t", data)


def test_unknown_stem_is_a_request_error() -> None:
    with pytest.raises(ValidationError, match="unknown template 'nope'; available: default"):
        load_template("nope")
