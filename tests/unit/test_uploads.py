"""Uploads without a browser or a server: safe names, upload id lists, the record form of
a task's uploads, the rules grammar and the LLM tool."""

from __future__ import annotations

import pytest

from nodes.agent import Element, Navigate, Observation, UploadFile, plan_instruction
from nodes.agent.llm.prompt import render_observation
from nodes.agent.llm.tools import BadReply, to_actions
from shared.errors import InstructionNotUnderstood, ValidationError
from shared.request import TaskRequest
from shared.uploads import UploadRef, content_type_of, parse_upload_ids, safe_file_name

ID = "up_" + "ab" * 16


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("  report.pdf ", "report.pdf"),
        ("my report (1).pdf", "my_report_1_.pdf"),
        ("..hidden", "hidden"),
        ("Q3-results_final.v2.CSV", "Q3-results_final.v2.CSV"),
        ("a" * 300 + ".tar.gz", "a" * 125 + ".gz"),
        ("\u00fcber.txt", "_ber.txt"),
    ],
)
def test_names_are_kept_in_a_safe_form(raw, safe):
    assert safe_file_name(raw) == safe


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (None, "no file name"),
        ("", "no file name"),
        ("../../etc/passwd", "path parts"),
        ("a/b", "path parts"),
        ("C:\\Users\\x.txt", "path parts"),
        ("..", "path parts"),
        ("...", "no usable characters"),
        ("\u00e9\u00e9", "no usable characters"),
    ],
)
def test_names_that_are_not_plain_names_are_refused(raw, fragment):
    with pytest.raises(ValidationError, match=fragment.replace("(", r"\(")):
        safe_file_name(raw)


def test_content_types_are_a_plain_media_type_or_octet_stream():
    assert content_type_of("application/pdf; name=x") == "application/pdf"
    assert content_type_of("Text/CSV") == "text/csv"
    assert content_type_of("not a type") == "application/octet-stream"
    assert content_type_of(None) == "application/octet-stream"


def test_upload_id_lists():
    assert parse_upload_ids(None) == ()
    assert parse_upload_ids([ID]) == (ID,)
    for bad, fragment in (
        ({}, "must be a list"),
        ([ID, ID], "twice"),
        (["up_XYZ"], "is not an upload id"),
        ([None], "^uploads: null is not an upload id"),
        (["up_XYZ"], '^uploads: "up_XYZ" is not'),
        ([f"up_{i:032x}" for i in range(11)], "at most 10"),
    ):
        with pytest.raises(ValidationError, match=fragment):
            parse_upload_ids(bad)


def test_a_task_without_uploads_is_stored_as_before_and_one_with_them_reads_back():
    plain = TaskRequest(task="x", timeout_ms=60_000)
    assert "uploads" not in plain.to_dict()
    with_files = TaskRequest(
        task="x", timeout_ms=60_000, uploads=(UploadRef(id=ID, name="report.pdf"),)
    )
    assert with_files.to_dict()["uploads"] == [{"id": ID, "name": "report.pdf"}]
    assert TaskRequest.from_json(with_files.to_json()) == with_files


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("Upload report.pdf into 'Attachment'", ("Attachment", "report.pdf")),
        ("upload the file report.pdf to the Attachment field", ("Attachment", "report.pdf")),
        ('Upload "my file.pdf" into the "Your CV" file input', ("Your CV", "my file.pdf")),
        ("attach photo.png to 'Photo'", ("Photo", "photo.png")),
        ("Upload the file cv.txt to the 'Drop your CV here' area", ("Drop your CV here", "cv.txt")),
    ],
)
def test_upload_clauses(instruction, expected):
    assert plan_instruction(instruction) == [UploadFile(*expected)]


def test_an_upload_clause_splits_from_its_neighbours():
    assert plan_instruction(
        "Open https://a.test/form, upload report.pdf into 'Attachment', click 'Send'"
    )[:2] == [Navigate("https://a.test/form"), UploadFile("Attachment", "report.pdf")]
    with pytest.raises(InstructionNotUnderstood, match='could not understand "upload report.pdf"'):
        plan_instruction("upload report.pdf")


def test_the_llm_tool_and_what_the_model_reads():
    seen = Observation(
        url="https://a.test/form",
        steps_done=1,
        elements=(Element(index=3, role="button", name="Attachment", tag="input"),),
        uploads=("report.pdf",),
    )
    assert to_actions("upload_file", {"index": 3, "name": "report.pdf"}, seen) == [
        UploadFile("Attachment", "report.pdf", index=3)
    ]
    with pytest.raises(BadReply, match="upload_file: missing name"):
        to_actions("upload_file", {"index": 3}, seen)
    assert "Files you can upload (upload_file): report.pdf" in render_observation(seen)
