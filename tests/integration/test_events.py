"""Live step events (GET /api/v1/browsing/events, Server-Sent Events) and
`browsing run --follow`, against the real cluster: a node's Chromium runs the steps,
the gateway under gunicorn's gevent worker streams them."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pytest
import redis
import requests

from browsing.client import BrowsingClient, ClientError
from gateway import create_app
from shared import keys
from shared.config import load_settings
from shared.events import EventLog, StepEvent
from shared.records import TaskStore
from shared.request import TaskRequest
from tests.conftest import ALICE, BOB, bearer
from tests.integration.test_client_cli import browsing

EVENTS = "/api/v1/browsing/events"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Received:
    id: str | None
    event: str
    data: dict
    at: float  # time.monotonic() when it arrived


def read_events(resp: requests.Response, on_event=None) -> tuple[list[Received], list[str]]:
    """The events of a stream until it closes, and its comment lines."""
    events, comments = [], []
    event_id, name, data = None, "message", []
    for raw in resp.iter_lines(chunk_size=1, decode_unicode=True):
        if raw == "":
            if data:
                got = Received(event_id, name, json.loads("\n".join(data)), time.monotonic())
                events.append(got)
                if on_event is not None and on_event(got) is False:
                    break
            name, data = "message", []
        elif raw.startswith(":"):
            comments.append(raw)
        else:
            field, _, value = raw.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "id":
                event_id = value
            elif field == "event":
                name = value
            elif field == "data":
                data.append(value)
    resp.close()
    return events, comments


def open_stream(api, task_id: str, last_id: str | None = None) -> requests.Response:
    headers = {"Last-Event-ID": last_id} if last_id is not None else {}
    resp = api.session.get(
        api.url(EVENTS), params={"task_id": task_id}, headers=headers, stream=True, timeout=30
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    return resp


def multi_step(sites: str, wait_s: int = 2) -> dict:
    return {
        "task": f"Open {sites}/index.html. Wait {wait_s} seconds. "
        f"Open {sites}/links.html. Return the title.",
        "screenshots": {"mode": "every_step", "full_page": False},
        "filter": {"country_iso": "DE"},
    }


def stream_id_key(event_id: str) -> tuple[int, int]:
    ms, _, n = event_id.partition("-")
    return int(ms), int(n)


@pytest.fixture(scope="module")
def followed(cluster, sites):
    """One multi-step task followed live from its submit: the events, what was checked
    as each arrived, and the task's final status."""
    from tests.conftest import Api

    api = Api(cluster.base_url, ALICE)
    task_id = api.submit(multi_step(sites))
    resp = open_stream(api, task_id)
    checked: dict = {}

    def on_event(got: Received) -> None:
        if got.event == "step" and got.data["screenshot"] and "png" not in checked:
            # Downloaded at once, while the task is still running.
            shot = api.get(got.data["screenshot"])
            checked["png"] = (shot.status_code, shot.content[:8])
            checked["status_then"] = api.status(task_id)["status"]

    events, comments = read_events(resp, on_event)
    return task_id, events, comments, checked, api.status(task_id), time.monotonic()


def test_steps_arrive_live_in_order_with_the_final_status_last(followed, sites):
    task_id, events, _, checked, final, closed_at = followed
    statuses = [e.data["status"] for e in events if e.event == "status"]
    assert statuses == ["queued", "assigned", "running", "completed"], statuses
    assert [e.id for e in events[:3]] == ["0-1", "0-2", "0-3"]
    steps = [e for e in events if e.event == "step"]
    assert [s.data["index"] for s in steps] == list(range(1, len(steps) + 1))
    assert len(steps) >= 3, [s.data["action"] for s in steps]
    assert steps[0].data["action"] == f"open {sites}/index.html"
    assert steps[0].data["url"] == f"{sites}/index.html"
    assert steps[1].data["action"] == "wait 2 s"
    assert any(s.data["url"] == f"{sites}/links.html" for s in steps[2:])
    for s in steps:
        assert s.data["attempt"] == 1 and s.data["outcome"] == "ok" and s.data["error"] is None
        assert s.data["node_uid"] == "node.de.01"
        assert s.data["task_id"] == task_id
    ids = [stream_id_key(s.id) for s in steps]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # every_step: each step names its own screenshot, of its own attempt
    assert [s.data["screenshot"] for s in steps] == [
        f"/api/v1/browsing/screenshots/{task_id}/screenshot-{i:02d}.png?attempt=1"
        for i in range(1, len(steps) + 1)
    ]
    # Live: the first step's event came before the 2 s wait that follows it, not at the end.
    assert closed_at - steps[0].at > 1.9
    assert events[-1].event == "status" and events[-1].id == "end"
    assert events[-1].data["status"] == "completed" and events[-1].data["success"] is True
    last = {k: v for k, v in events[-1].data.items() if k != "at"}
    # The status body, as GET /status answers it but for the request (that is GET only).
    assert last == {k: v for k, v in final.items() if k != "request"}
    assert events[-1].data["at"] == final["finished_at"]


def test_a_steps_screenshot_downloads_as_soon_as_its_event_arrives(followed):
    _, _, _, checked, _, _ = followed
    assert checked["status_then"] == "running"
    assert checked["png"] == (200, PNG_SIGNATURE)


def test_a_finished_task_replays_its_whole_history_and_closes(followed, api):
    task_id, events, _, _, _, _ = followed
    started = time.monotonic()
    replay, _ = read_events(open_stream(api, task_id))
    assert time.monotonic() - started < 5  # it closed by itself
    assert [(e.id, e.event, e.data) for e in replay] == [(e.id, e.event, e.data) for e in events]
    # The winner's step screenshots stay downloadable, with or without ?attempt.
    first = next(e for e in replay if e.event == "step")
    assert api.get(first.data["screenshot"]).content[:8] == PNG_SIGNATURE
    assert api.get(first.data["screenshot"].partition("?")[0]).status_code == 200


def test_last_event_id_resumes_with_exactly_the_rest(followed, api):
    task_id, events, _, _, _, _ = followed
    for cut in (0, 2, 3, 4, len(events) - 2):
        rest, _ = read_events(open_stream(api, task_id, last_id=events[cut].id))
        assert [e.id for e in rest] == [e.id for e in events[cut + 1 :]], f"after {events[cut].id}"
        assert [e.data for e in rest] == [e.data for e in events[cut + 1 :]]
    # After the last event: 204, on which a browser's EventSource stops reconnecting.
    after_end = api.session.get(
        api.url(EVENTS), params={"task_id": task_id}, headers={"Last-Event-ID": "end"}
    )
    assert after_end.status_code == 204 and after_end.content == b""


def test_a_dropped_stream_resumed_live_has_no_gap_and_no_duplicate(api, sites):
    task_id = api.submit(multi_step(sites, wait_s=2))
    first, _ = read_events(open_stream(api, task_id), lambda e: e.event != "step")
    assert first[-1].event == "step" and first[-1].data["index"] == 1
    assert api.status(task_id)["status"] == "running"  # dropped while the task runs
    rest, comments = read_events(open_stream(api, task_id, last_id=first[-1].id))
    whole, _ = read_events(open_stream(api, task_id))
    assert [(e.id, e.data) for e in first + rest] == [(e.id, e.data) for e in whole]
    assert rest[-1].id == "end" and rest[-1].data["status"] == "completed"


def test_owner_checks_and_bad_requests(cluster, api, bob, anonymous, sites):
    task_id = api.submit({"task": f"Open {sites}/index.html"})
    assert anonymous.get(EVENTS, params={"task_id": task_id}).status_code == 401
    resp = bob.get(EVENTS, params={"task_id": task_id})
    assert resp.status_code == 403 and "different user" in resp.json()["error"]
    unknown = api.get(EVENTS, params={"task_id": "web:" + "0" * 32})
    assert unknown.status_code == 404 and unknown.json()["error"]
    for params in ({}, {"task_id": ""}):
        missing = api.get(EVENTS, params=params)
        assert missing.status_code == 400 and "task_id" in missing.json()["error"]
    assert api.get(EVENTS, params={"task_id": "nope"}).status_code == 404
    for bad in ("0-9", "x", "1-2-3", "9" * 30 + "-0"):
        resp = api.get(EVENTS, params={"task_id": task_id}, headers={"Last-Event-ID": bad})
        assert resp.status_code == 400 and "Last-Event-ID" in resp.json()["error"], bad
    api.wait(task_id)
    # A screenshot of an attempt: the owner's only, a real attempt, a number.
    shot = f"/api/v1/browsing/screenshots/{task_id}/screenshot-01.png"
    assert bob.get(shot, params={"attempt": "1"}).status_code == 403
    assert anonymous.get(shot, params={"attempt": "1"}).status_code == 401
    assert api.get(shot, params={"attempt": "2"}).status_code == 404
    assert api.get(shot, params={"attempt": "1"}).status_code == 404  # it took none
    for bad in ("0", "-1", "x", "1.5", "99999"):
        resp = api.get(shot, params={"attempt": bad})
        assert resp.status_code == 400 and "attempt" in resp.json()["error"], bad


def test_cli_run_follow_prints_the_steps_live(cluster, sites):
    task = f"Open {sites}/index.html. Wait 1 second. Open {sites}/links.html. Return the title."
    proc = browsing("run", "--follow", task, url=cluster.base_url, key=ALICE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Links"), proc.stdout
    lines = proc.stderr.splitlines()
    assert f"step 1: open {sites}/index.html -> {sites}/index.html" in lines, proc.stderr
    assert any(line.startswith("step 2: wait 1 s -> ") for line in lines), proc.stderr
    assert any(f"-> {sites}/links.html" in line for line in lines if "step 3" in line)
    order = [line.split("]")[1].strip() for line in lines if line.startswith("[")]
    assert [o.split(" on ")[0] for o in order][-1] == "completed", order


def test_client_events_follow_a_task_and_raise_http_errors(cluster, sites):
    client = BrowsingClient(cluster.base_url, ALICE)
    task_id = client.submit(f"Open {sites}/index.html. Return the title.")
    events = list(client.events(task_id))
    assert events[-1].final and events[-1].data["status"] == "completed"
    assert [e.data["index"] for e in events if e.event == "step"][0] == 1
    with pytest.raises(ClientError) as info:
        list(BrowsingClient(cluster.base_url, BOB).events(task_id))
    assert info.value.status == 403


# -- the gateway and the store alone (real Redis, Flask's test client) -------------------


def test_an_idle_stream_sends_keepalive_comments(redis_url, gateway_env):
    settings = load_settings({**gateway_env, "BROWSING_EVENTS_KEEPALIVE_S": "0.2"})
    app = create_app(settings)
    store = app.extensions["browsing"].store
    task_id = "web:" + "ab" * 16
    store.create(task_id, owner="alice", request=TaskRequest(task="Open x", timeout_ms=60_000))
    resp = app.test_client().get(
        EVENTS, query_string={"task_id": task_id}, headers=bearer(ALICE), buffered=False
    )
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    chunks = iter(resp.response)
    started = time.monotonic()
    seen = ""
    while ": keepalive" not in seen and time.monotonic() - started < 5:
        seen += next(chunks).decode()
    assert "event: status" in seen and '"status":"queued"' in seen
    assert ": keepalive" in seen
    resp.close()


def test_a_step_is_recorded_only_while_its_attempt_runs(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = TaskStore(client, record_ttl_s=60)
    log = EventLog(client, record_ttl_s=60)
    task_id = "web:" + "cd" * 16
    store.create(task_id, owner="alice", request=TaskRequest(task="Open x", timeout_ms=60_000))
    step = StepEvent(
        attempt=1, index=1, action="open x", url="x", ok=True, error=None,
        duration_ms=5, screenshot=None, node="node.de.01", at_ms=store.now_ms(),
    )  # fmt: skip
    assert log.add_step(task_id, step) is None  # not placed yet
    from shared.records import Placement

    store.assign(task_id, [Placement(node="node.de.01", queue="q", country="DE", celery_id="c1")])
    assert log.add_step(task_id, step) is None  # placed, not claimed
    assert store.claim(task_id, 1, "node.de.01") == "ok"
    pubsub = log.completions()
    pubsub.get_message(timeout=1)
    first = log.add_step(task_id, step)
    assert first is not None
    assert client.xlen(keys.events(task_id)) == 1
    assert 0 < client.pttl(keys.events(task_id)) <= 60_000 + 60_000
    wakes = [pubsub.get_message(timeout=1) for _ in range(3)]
    assert any(m and m["type"] == "message" and m["data"] == task_id for m in wakes)
    assert log.add_step(task_id, StepEvent(**{**step.__dict__, "node": "node.us.01"})) is None
    store.fail(task_id, "cancelled")
    assert log.add_step(task_id, step) is None  # the task ended: nothing after its status
    snapshot = log.read(task_id, "0-0")
    assert snapshot is not None and snapshot.terminal
    assert [entry for entry, _ in snapshot.steps] == [first]
    pubsub.close()
