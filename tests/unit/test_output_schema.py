"""Structured output without a browser: the schema checks, finding the extracted JSON,
done's data parameter, and the CLI's --output-schema and data line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from browsing.cli.tasks import _print_result, output_schema_option
from browsing.client import task_request
from nodes.agent.llm.tools import tool_definitions
from shared.errors import ValidationError
from shared.output_schema import json_values, mismatch, parse_output_schema

PRICE = {"type": "object", "properties": {"price": {"type": "number"}}, "required": ["price"]}


def test_mismatch_says_where_and_why() -> None:
    assert mismatch(PRICE, {"price": 3}) is None
    assert mismatch(PRICE, {"price": "3"}) == "at price: '3' is not of type 'number'"
    assert mismatch(PRICE, {}) == "'price' is a required property"
    unresolvable = {"$ref": "https://schemas.example/price.json"}  # never fetched
    assert mismatch(unresolvable, 1).startswith("the output schema could not be applied")


def test_a_schema_naming_its_draft_is_checked_by_that_draft() -> None:
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "minimum": 0}
    draft4["exclusiveMinimum"] = True  # a boolean in draft 4, a number since
    assert parse_output_schema(draft4) == draft4
    with pytest.raises(ValidationError, match="not a valid JSON Schema at exclusiveMinimum"):
        parse_output_schema({"exclusiveMinimum": True})  # 2020-12: a number
    assert parse_output_schema(None) is None


def test_the_extracted_json_is_found_latest_first() -> None:
    text = 'downloaded a.csv (3 bytes, text/csv)\n\n[\n  {"a": 1}\n]\n\n{\n  "b": 2\n}'
    assert json_values(text) == [{"b": 2}, [{"a": 1}]]
    assert json_values('{"whole": true}') == [{"whole": True}, {"whole": True}]
    assert json_values("Title: Shop") == []


def test_done_takes_data_of_the_schema_only_when_there_is_one() -> None:
    def done(tools: list[dict]) -> dict:
        return next(t for t in tools if t["function"]["name"] == "done")["function"]

    assert "data" not in done(tool_definitions())["parameters"]["properties"]
    data = done(tool_definitions(PRICE))["parameters"]["properties"]["data"]
    assert data["properties"] == PRICE["properties"] and data["required"] == ["price"]
    assert done(tool_definitions(PRICE))["parameters"]["required"] == ["text", "success"]


def test_the_cli_reads_a_schema_inline_or_from_a_file(tmp_path: Path) -> None:
    assert output_schema_option(json.dumps(PRICE)) == PRICE
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(PRICE))
    assert output_schema_option(f"@{path}") == PRICE
    for bad, error in (("{", "not JSON"), ("[1]", "must be a JSON object"),
                       (f"@{tmp_path}/none.json", "cannot read")):  # fmt: skip
        with pytest.raises(argparse.ArgumentTypeError, match=error):
            output_schema_option(bad)
    assert task_request("x", output_schema=PRICE)["output_schema"] == PRICE


def test_the_cli_prints_the_data_after_the_result(capsys: pytest.CaptureFixture) -> None:
    payload = json.dumps({"result": "It costs 3", "screenshots": [], "data": {"price": 3}})
    body = {"task_id": "web:x", "status": "completed", "success": True, "payload": payload}
    assert _print_result(body) == 0
    assert capsys.readouterr().out == 'It costs 3\ndata: {"price": 3}\n'
