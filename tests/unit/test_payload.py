"""The payload the gateway answers with: nodes store the result and the screenshot file
names, the gateway lists the files as URLs, byte for byte as nodes used to."""

import json
from dataclasses import replace

from gateway.views import payload, status_body, sync_body
from shared.records import Attempt, AttemptState, TaskRecord, TaskStatus
from shared.request import TaskRequest

TASK_ID = "web:" + "0" * 32


def record(stored: str, files: tuple[str, ...] = ()) -> TaskRecord:
    winner = Attempt(
        number=1,
        node="node.de.01",
        queue="node.de.01",
        country="DE",
        state=AttemptState.WON,
        celery_id="c",
        assigned_ms=1,
        started_ms=2,
        finished_ms=3,
        stopped_ms=None,
        error=None,
        files=files,
        replaces=0,
        egress="direct",
    )
    return TaskRecord(
        task_id=TASK_ID,
        owner="alice",
        status=TaskStatus.COMPLETED,
        request=TaskRequest(task="t", timeout_ms=60_000),
        created_ms=1,
        deadline_ms=60_001,
        assigned_ms=1,
        started_ms=2,
        finished_ms=3,
        success=True,
        payload=stored,
        error=None,
        winner=1,
        attempts=(winner,),
    )


def test_the_winners_files_are_listed_as_urls_after_the_result():
    stored = json.dumps({"result": "Grüße"}, ensure_ascii=False)
    shots = ("screenshot-01.png", "screenshot-02.png")
    expected = (
        '{"result": "Grüße", "screenshots": ['
        f'{{"url": "/api/v1/browsing/screenshots/{TASK_ID}/screenshot-01.png"}}, '
        f'{{"url": "/api/v1/browsing/screenshots/{TASK_ID}/screenshot-02.png"}}]}}'
    )
    assert payload(record(stored, shots)) == expected
    assert status_body(record(stored, shots))["payload"] == expected
    assert sync_body(record(stored, shots))["payload"] == expected


def test_no_files_is_an_empty_list_and_a_lost_upload_keeps_its_note_last():
    assert payload(record('{"result": "r"}')) == '{"result": "r", "screenshots": []}'
    stored = '{"result": "r", "screenshots_error": "screenshots lost: S3 down"}'
    assert payload(record(stored)) == (
        '{"result": "r", "screenshots": [], "screenshots_error": "screenshots lost: S3 down"}'
    )


def test_a_payload_written_with_urls_by_an_earlier_node_is_answered_unchanged():
    stored = json.dumps(
        {"result": "r", "screenshots": [{"url": "/api/v1/browsing/screenshots/x/a.png"}]}
    )
    assert payload(record(stored, ("screenshot-01.png",))) == stored


def failed_attempt(number: int, finished_ms: int, files: tuple[str, ...]) -> Attempt:
    return replace(
        record("{}").attempts[0],
        number=number,
        state=AttemptState.FAILED,
        finished_ms=finished_ms,
        error="failed",
        files=files,
    )


def failed(*attempts: Attempt) -> TaskRecord:
    return replace(
        record("{}"),
        status=TaskStatus.FAILED,
        success=False,
        payload=None,
        error="all failed",
        winner=None,
        attempts=attempts,
    )


def urls(*names: str) -> list[dict[str, str]]:
    return [{"url": f"/api/v1/browsing/screenshots/{TASK_ID}/{n}"} for n in names]


def test_a_failed_task_shows_the_pictures_of_its_last_failure_that_left_some():
    one = failed_attempt(1, 10, ("screenshot-01.png", "screenshot-02.png"))
    two = failed_attempt(2, 20, ("screenshot-01.png",))
    assert failed(one, two).shown_attempt == two  # the last to fail
    body = sync_body(failed(one, two))
    assert json.loads(body["payload"]) == {"result": None, "screenshots": urls("screenshot-01.png")}
    assert body["error"] == "all failed" and body["success"] is False
    # An attempt lost with its node fails with no pictures: the other's are shown.
    lost = failed_attempt(2, 30, ())
    assert failed(one, lost).shown_attempt == one
    assert json.loads(status_body(failed(one, lost))["payload"])["screenshots"] == urls(
        "screenshot-01.png", "screenshot-02.png"
    )
    # None anywhere: the payload still says so, in the contract's shape.
    assert json.loads(payload(failed(lost))) == {"result": None, "screenshots": []}


def test_an_unfinished_task_shows_no_attempt_and_no_payload():
    running = replace(
        failed(failed_attempt(1, 10, ("screenshot-01.png",))), status=TaskStatus.RUNNING
    )
    assert running.shown_attempt is None
    assert "payload" not in status_body(running)
