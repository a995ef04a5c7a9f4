import dataclasses

import pytest

from gateway.validation import parse_task_request
from shared.config import Settings
from shared.errors import ValidationError
from shared.records import NewTask
from shared.registry import NodeInfo
from shared.request import (
    SCREENSHOT_MODES,
    NodeFilter,
    ScreenshotPolicy,
    TaskRequest,
)

# What the gateway stored in a task record before TaskRequest existed, key for key
# (gateway/validation.py returned a dict, NewTask.of dumped it with these separators).
SPEC_EXAMPLE_RECORD = (
    '{"task":"Open https://example.com and summarize the page",'
    '"screenshots":{"mode":"final_only","full_page":true},'
    '"filter":{"country_iso":"DE"},"session_key":null,"timeout_ms":300000,'
    '"fanout":1,"template":"default"}'
)
MINIMAL_RECORD = (
    '{"task":"x","screenshots":null,"filter":{},"session_key":null,'
    '"timeout_ms":60000,"fanout":1,"template":"default"}'
)


def test_the_record_form_is_the_one_earlier_versions_wrote():
    req = parse_task_request(
        {
            "task": "Open https://example.com and summarize the page",
            "filter": {"country_iso": "de"},
            "screenshots": {"mode": "final_only"},
        },
        Settings(),
    )
    assert req.to_json() == SPEC_EXAMPLE_RECORD
    assert TaskRequest(task="x", timeout_ms=60_000).to_json() == MINIMAL_RECORD


@pytest.mark.parametrize("stored", [SPEC_EXAMPLE_RECORD, MINIMAL_RECORD])
def test_a_stored_request_reads_back_as_written(stored):
    assert TaskRequest.from_json(stored).to_json() == stored


def test_a_record_written_by_the_previous_version_reads_into_typed_fields():
    stored = (
        '{"task":"t","screenshots":{"mode":"every_step","full_page":false},'
        '"filter":{"node_uid":"node.de.02"},"session_key":"s","timeout_ms":5000,'
        '"fanout":3,"template":"lean"}'
    )
    assert TaskRequest.from_json(stored) == TaskRequest(
        task="t",
        screenshots=ScreenshotPolicy(mode="every_step", full_page=False),
        filter=NodeFilter(node_uid="node.de.02"),
        session_key="s",
        timeout_ms=5000,
        fanout=3,
        template="lean",
    )


def test_absent_or_null_optional_fields_take_the_defaults():
    expected = TaskRequest(task="t", timeout_ms=1000)
    assert TaskRequest.from_json('{"task":"t","timeout_ms":1000}') == expected
    nulls = '{"task":"t","timeout_ms":1000,"screenshots":null,"filter":null,"fanout":null,'
    nulls += '"template":null,"session_key":null}'
    assert TaskRequest.from_json(nulls) == expected
    assert expected.fanout == 1 and expected.template == "default"
    assert expected.screenshots.mode is None and expected.filter == NodeFilter()


def test_a_request_is_frozen():
    req = TaskRequest(task="t", timeout_ms=1000)
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.fanout = 5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.filter.country_iso = "DE"  # type: ignore[misc]


def test_a_new_record_takes_its_timeout_from_the_request():
    task = NewTask.of("web:1", owner="alice", request=TaskRequest(task="t", timeout_ms=1234))
    assert task.timeout_ms == 1234 and TaskRequest.from_json(task.request_json).timeout_ms == 1234


def test_screenshot_modes_are_the_documented_three_and_others_are_refused():
    assert SCREENSHOT_MODES == ("final_only", "every_step", "on_navigation")
    for mode in SCREENSHOT_MODES:
        assert ScreenshotPolicy(mode=mode).to_dict() == {"mode": mode, "full_page": True}
    with pytest.raises(ValidationError, match="unknown screenshot mode"):
        ScreenshotPolicy(mode="sometimes")


def _node(uid: str, country: str) -> NodeInfo:
    return NodeInfo(
        uid=uid,
        country=country,
        queue=uid,
        capacity=1,
        inflight=0,
        drained=False,
        ready=True,
        browsers=1,
        heartbeat_ms=0,
        started_ms=0,
        version="t",
        hostname="h",
    )


def test_the_filter_matches_its_country_or_its_node_or_any():
    de, us = _node("node.de.01", "de"), _node("node.us.01", "US")
    assert [NodeFilter(country_iso="DE").matches(n) for n in (de, us)] == [True, False]
    assert [NodeFilter(node_uid="node.us.01").matches(n) for n in (de, us)] == [False, True]
    assert [NodeFilter().matches(n) for n in (de, us)] == [True, True]
    assert NodeFilter(country_iso="DE").describe() == "country_iso=DE"
    assert NodeFilter(node_uid="n").describe() == "node_uid=n"
    assert NodeFilter().describe() == "no filter"


def test_a_stored_filter_reads_as_validation_leaves_it():
    # Records are written by validation (upper case, no empty fields); one written by
    # hand or by an older version still reads the same way.
    assert NodeFilter.from_dict({"country_iso": "de"}) == NodeFilter(country_iso="DE")
    assert NodeFilter.from_dict({"country_iso": "", "node_uid": ""}) == NodeFilter()


def test_an_output_schema_is_stored_only_when_given_and_reads_back():
    schema = {"type": "object", "properties": {"price": {"type": "number"}}}
    req = parse_task_request({"task": "x", "output_schema": schema}, Settings())
    assert req.output_schema == schema
    assert TaskRequest.from_json(req.to_json()).output_schema == schema
    assert '"output_schema":{"type":"object"' in req.to_json()
    assert "output_schema" not in parse_task_request({"task": "x"}, Settings()).to_json()
