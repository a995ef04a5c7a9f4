"""Structured output in a real Chromium: the LLM planner's done data checked against the
task's output schema (driven by the scripted stub over HTTP), and the rules planner
filling it from ``extract ... as JSON``, or saying it cannot."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from nodes.agent import AgentResult, PlannerFailed, ScreenshotPolicy, run_agent
from tests.support.llm_stub import Reply, ScriptedLLM, call, serve_llm_stub

TEAS = {
    "type": "object",
    "properties": {
        "teas": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
                "required": ["name", "price"],
            },
            "minItems": 1,
        }
    },
    "required": ["teas"],
}
GOOD = {"teas": [{"name": "Sencha", "price": 12}, {"name": "Darjeeling", "price": 9}]}
WRONG = {"teas": [{"name": "Sencha", "price": "12 EUR"}]}


def run_llm(
    context: BrowserContext, script: list[Reply], schema: dict[str, Any]
) -> tuple[AgentResult | PlannerFailed, ScriptedLLM]:
    with serve_llm_stub(script) as stub:
        template = {"planner": "llm", "llm": {"base_url": stub.base_url, "model": "m"}}
        try:
            result: AgentResult | PlannerFailed = run_agent(
                context,
                "List the teas with their prices",
                policy=ScreenshotPolicy(),
                deadline=time.monotonic() + 45,
                template=template,
                output_schema=schema,
            )
        except PlannerFailed as exc:
            result = exc
    assert not stub.errors, stub.errors
    return result, stub


def last_message(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


def test_the_models_data_is_checked_sent_back_on_a_mismatch_and_delivered(
    context: BrowserContext, base_url: str
) -> None:
    script: list[Reply] = [
        call("navigate", url=f"{base_url}/shop.html"),
        call("done", text="Two teas", success=True, data=WRONG),
        call("done", text="Two teas", success=True, data=GOOD),
    ]
    result, stub = run_llm(context, script, TEAS)
    assert isinstance(result, AgentResult)
    assert result.data == GOOD and result.result == "Two teas"
    # done's data parameter is the schema; the system prompt shows it too.
    done = next(t for t in stub.requests[0]["tools"] if t["function"]["name"] == "done")
    data = done["function"]["parameters"]["properties"]["data"]
    assert data["properties"] == TEAS["properties"] and data["required"] == ["teas"]
    assert '"minItems": 1' in stub.requests[0]["messages"][0]["content"]
    assert last_message(stub.requests[2]) == (
        "Your reply could not be used: done's data does not match the output schema: "
        "at teas/0/price: '12 EUR' is not of type 'number'. Call the tools again, correctly."
    )
    assert len(stub.requests) == 3


def test_data_that_never_matches_fails_the_task_clearly(
    context: BrowserContext, base_url: str
) -> None:
    script: list[Reply] = [
        call("done", text="Sencha", success=True),
        call("done", text="Sencha", success=True, data={"teas": []}),
        call("done", text="Sencha", success=True, data=WRONG),
    ]
    failed, stub = run_llm(context, script, TEAS)
    assert isinstance(failed, PlannerFailed)
    assert str(failed) == (
        "done's data does not match the output schema: at teas/0/price: '12 EUR' is not "
        "of type 'number' (after 3 tries)"
    )
    assert "done needs data: JSON matching the output schema" in last_message(stub.requests[1])
    assert "at teas: [] should be non-empty" in last_message(stub.requests[2])
    assert context.pages == []


def run_rules(context: BrowserContext, task: str, schema: dict[str, Any]) -> AgentResult:
    return run_agent(
        context,
        task,
        policy=ScreenshotPolicy(),
        deadline=time.monotonic() + 30,
        template={"planner": "rules"},
        output_schema=schema,
    )


ROWS = {
    "type": "array",
    "items": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"Tea": {"type": "string"}, "Price": {"type": "string"}},
            "required": ["Tea", "Price"],
        },
    },
}


def test_the_rules_planner_fills_the_schema_from_extracted_json(
    context: BrowserContext, base_url: str
) -> None:
    result = run_rules(context, f"Open {base_url}/shop.html and extract the table as JSON", ROWS)
    assert result.data == [
        [
            {"Tea": "Sencha", "Origin": "Japan", "Price": "12"},
            {"Tea": "Darjeeling", "Origin": "India", "Price": "9"},
        ]
    ]


@pytest.mark.parametrize(
    ("task", "why"),
    [
        (
            "Open {base}/shop.html and extract the table as JSON",
            "its extracted JSON does not match: at 0/1/Price: '9' is not of type 'number'",
        ),
        (
            "Open {base}/shop.html and return the title",
            'the instruction extracts no JSON (ask for it, e.g. "extract the table as JSON", '
            "or use a template with a language model)",
        ),
    ],
)
def test_the_rules_planner_says_when_it_cannot_fill_the_schema(
    context: BrowserContext, base_url: str, task: str, why: str
) -> None:
    # The table's cells are text: a schema asking for numeric prices is not met.
    rows = {"type": "object", "properties": {"Price": {"type": "number"}}}
    schema = {"type": "array", "items": {"type": "array", "items": rows}}
    with pytest.raises(PlannerFailed) as failed:
        run_rules(context, task.format(base=base_url), schema)
    assert str(failed.value) == f"the rules planner cannot fill the output schema: {why}"
