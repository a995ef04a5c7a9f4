"""Uploads in a real Chromium: the rules grammar and the LLM tool put a task's files
into the file inputs of tests/sites/upload.html, whose form posts them to the test
server, which records the bytes it received (``RECEIVED``)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from nodes.agent import AgentResult, ScreenshotPolicy, run_agent
from shared.errors import ActionFailed
from tests.sites.server import RECEIVED
from tests.support.llm_stub import call, element_index, observation, serve_llm_stub, tool_calls

Run = Callable[..., AgentResult]
REPORT = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
CV = b"Ada Lovelace\nAnalyst\n"


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, data in (("report.pdf", REPORT), ("cv.txt", CV)):
        (tmp_path / name).write_bytes(data)
        paths[name] = tmp_path / name
    return paths


@pytest.fixture()
def run(context: BrowserContext, files: dict[str, Path]) -> Run:
    RECEIVED.clear()

    def _run(instruction: str, template: dict[str, Any] | None = None, **kw: Any) -> AgentResult:
        kw.setdefault("files", files)
        return run_agent(
            context,
            instruction,
            policy=ScreenshotPolicy(),
            deadline=time.monotonic() + 45,
            template=template,
            **kw,
        )

    return _run


def received() -> dict[str, tuple[str, bytes]]:
    return {f.field: (f.filename, f.data) for f in RECEIVED}


def test_upload_into_a_labelled_file_input(run: Run, base_url: str) -> None:
    result = run(
        f"Open {base_url}/upload.html, upload report.pdf into 'Attachment', click 'Send'. "
        "Return the text."
    )
    assert received() == {"attachment": ("report.pdf", REPORT)}
    assert hashlib.sha256(REPORT).hexdigest() in result.result
    assert [s.action for s in result.steps][1] == 'upload "report.pdf" into "Attachment"'


def test_upload_by_nearby_text_into_a_hidden_input_and_a_second_file(run: Run, base_url: str):
    run(
        f"Open {base_url}/upload.html. Upload the file cv.txt to the 'Drop your CV here' area "
        "and attach REPORT.PDF to the Photo field. Click 'Send'."
    )
    assert received() == {"cv-input": ("cv.txt", CV), "photo": ("report.pdf", REPORT)}


def test_upload_through_the_file_chooser_a_button_opens(run: Run, base_url: str) -> None:
    # The logo's input has no label and shares its form with three others: only the
    # button named in the clause leads to it.
    run(f"Open {base_url}/upload.html. Upload report.pdf into 'Choose a logo'. Click 'Send'.")
    assert received() == {"logo": ("report.pdf", REPORT)}


def test_a_file_the_task_did_not_upload_fails_the_step(run: Run, base_url: str) -> None:
    with pytest.raises(ActionFailed) as failed:
        run(f"Open {base_url}/upload.html, upload secret.pdf into 'Attachment'")
    assert failed.value.message == (
        'could not upload "secret.pdf": the task has no upload of that name '
        "(its uploads are cv.txt, report.pdf)"
    )
    with pytest.raises(ActionFailed) as failed:
        run(f"Open {base_url}/upload.html, upload report.pdf into 'Attachment'", files={})
    assert 'it lists none: upload the file first and add "uploads"' in failed.value.message
    assert RECEIVED == []


def test_no_file_input_of_that_name_fails_the_step(run: Run, base_url: str) -> None:
    with pytest.raises(ActionFailed) as failed:
        run(
            f"Open {base_url}/upload.html, upload report.pdf into 'Passport scan'",
            action_timeout_ms=1500,
        )
    assert 'could not upload into "Passport scan": no file input' in failed.value.message
    with pytest.raises(ActionFailed) as failed:  # a button that opens no file chooser
        run(
            f"Open {base_url}/upload.html, upload report.pdf into 'Send'",
            action_timeout_ms=1500,
        )
    assert (
        failed.value.message == 'could not upload into "Send": clicking it opened no file chooser'
    )


def test_the_llm_tool_uploads_a_listed_file(run: Run, base_url: str) -> None:
    def upload(request: dict[str, Any]) -> dict[str, Any]:
        assert "Files you can upload (upload_file): report.pdf, cv.txt" in observation(request)
        index = element_index(request, "button", "Attachment")
        return tool_calls(("upload_file", {"index": index, "name": "report.pdf"}))

    script = [
        call("navigate", url=f"{base_url}/upload.html"),
        upload,
        lambda request: call("click", index=element_index(request, "button", "Send")),
        lambda request: call("done", text=observation(request)[-400:], success=True),
    ]
    with serve_llm_stub(script) as stub:
        llm = {"base_url": stub.base_url, "model": "stub-model", "api_key": "sk-test"}
        run("Send report.pdf as the attachment.", template={"planner": "llm", "llm": llm})
        assert stub.errors == []
    assert received() == {"attachment": ("report.pdf", REPORT)}
