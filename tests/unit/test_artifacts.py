"""Artifact names, the ``record`` field and the payload's ``files`` and ``trace``: what a
page suggests becomes a strict safe name, the request keeps ``record`` in its record
form only when asked, and the gateway lists the stored files with their URLs."""

from __future__ import annotations

import json

import pytest

from gateway.validation import parse_task_request
from gateway.views import payload
from nodes.agent import Download
from nodes.agent.rules.planner import plan_instruction
from shared.artifacts import ARTIFACT_NAME, TRACE_NAME, listed, safe_name
from shared.config import Settings
from shared.request import TaskRequest
from tests.unit.test_payload import TASK_ID, record


@pytest.mark.parametrize(
    ("suggested", "name"),
    [
        ("report.csv", "report.csv"),
        ("report 2026.csv", "report_2026.csv"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        (".bashrc", "bashrc"),
        ("-rf", "rf"),
        ("..", "download"),
        ("", "download"),
        ("Grüße €.pdf", "Gr_e.pdf"),
        ("a" * 300 + ".csv", "a" * 96 + ".csv"),
        ("trace.zip", "trace-2.zip"),  # the trace's name is reserved
    ],
)
def test_a_suggested_name_becomes_a_strict_safe_one(suggested, name):
    assert safe_name(suggested) == name
    assert ARTIFACT_NAME.match(name)


def test_repeated_names_get_a_number():
    taken = {"report.csv"}
    assert safe_name("report.csv", taken) == "report-2.csv"
    assert safe_name("report.csv", taken | {"report-2.csv"}) == "report-3.csv"
    assert len(safe_name("b" * 300, {"b" * 100})) == 100


@pytest.mark.parametrize("name", ["..", ".x", "-x", "a/b", "a b", "é", "x" * 101, ""])
def test_the_served_pattern_refuses_unsafe_names(name):
    assert not ARTIFACT_NAME.match(name)


def test_record_trace_is_kept_in_the_record_form_only_when_asked():
    settings = Settings()
    plain = parse_task_request({"task": "Open a.test"}, settings)
    traced = parse_task_request({"task": "Open a.test", "record": {"trace": True}}, settings)
    off = parse_task_request({"task": "Open a.test", "record": {"trace": False}}, settings)
    assert (plain.record_trace, traced.record_trace, off.record_trace) == (False, True, False)
    assert "record" not in plain.to_dict() and "record" not in off.to_dict()
    assert traced.to_dict()["record"] == {"trace": True}
    assert TaskRequest.from_json(traced.to_json()) == traced
    assert TaskRequest.from_json(plain.to_json()) == plain


def test_the_payload_lists_files_and_the_trace_with_urls():
    csv = {"name": "report.csv", "size": 34, "content_type": "text/csv"}
    trace = {"name": TRACE_NAME, "size": 9000, "content_type": "application/zip"}
    stored = json.dumps({"result": "r", "files": [csv], "trace": trace})
    body = json.loads(payload(record(stored)))
    base = f"/api/v1/browsing/files/{TASK_ID}"
    assert body == {
        "result": "r",
        "screenshots": [],
        "files": [{"name": "report.csv", "url": f"{base}/report.csv", "size": 34,
                   "content_type": "text/csv"}],
        "trace": {"name": "trace.zip", "url": f"{base}/trace.zip", "size": 9000,
                  "content_type": "application/zip"},
    }  # fmt: skip
    document = json.loads(stored)
    assert listed(document, "report.csv").content_type == "text/csv"
    assert listed(document, "trace.zip").size == 9000
    assert listed(document, "other.csv") is None


@pytest.mark.parametrize(
    ("instruction", "action"),
    [
        ("download 'Export CSV'", Download(text="Export CSV")),
        ("Download the Export CSV link", Download(text="Export CSV")),
        ("download the file report.csv", Download(text="report.csv")),
        ("download https://a.test/r.csv", Download(url="https://a.test/r.csv")),
        ("download a.test/files/r.csv", Download(url="https://a.test/files/r.csv")),
    ],
)
def test_the_rules_grammar_understands_download(instruction, action):
    assert plan_instruction(instruction) == [action]


def test_download_splits_as_a_clause_of_its_own():
    actions = plan_instruction("open a.test and download 'Export CSV' and return the title")
    assert [type(a).__name__ for a in actions] == ["Navigate", "Download", "ReturnText"]


def test_the_llm_download_tool_clicks_an_element_or_opens_a_url():
    from nodes.agent.llm.tools import BadReply, to_actions
    from nodes.agent.types import Element, Observation

    seen = Observation(
        url="https://a.test/",
        steps_done=0,
        elements=(Element(index=3, role="link", name="Export CSV", tag="a"),),
    )
    assert to_actions("download", {"index": 3}, seen) == [Download("Export CSV", index=3)]
    assert to_actions("download", {"url": "https://a.test/r.csv"}, seen) == [
        Download(url="https://a.test/r.csv")
    ]
    with pytest.raises(BadReply, match="give the index of a link or button, or a url"):
        to_actions("download", {}, seen)


def test_the_client_asks_for_a_trace_and_checks_the_names_it_is_given():
    from browsing.client import ClientError, file_names, task_request

    assert task_request("t", record_trace=True)["record"] == {"trace": True}
    assert "record" not in task_request("t")
    good = {"payload": json.dumps({"files": [{"name": "report.csv", "url": "/x"}]})}
    assert file_names(good) == ["report.csv"]
    bad = {"payload": json.dumps({"files": [{"name": "../etc/passwd"}]})}
    with pytest.raises(ClientError, match="refusing file name"):
        file_names(bad)
