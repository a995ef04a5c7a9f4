"""Real tasks end to end: gateway -> scheduler -> node (Chromium) -> S3 -> gateway."""

from __future__ import annotations

import json
import struct
import time
from datetime import datetime

import pytest

from tests.conftest import poll

SYNC = "/api/v1/browsing/sync"
ISO = "%Y-%m-%dT%H:%M:%SZ"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    return struct.unpack(">II", data[16:24])


def sync(api, body: dict) -> dict:
    resp = api.post(SYNC, body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def screenshots(api, result: dict) -> list[bytes]:
    out = []
    for shot in json.loads(result["payload"])["screenshots"]:
        resp = api.get(shot["url"])
        assert resp.status_code == 200, resp.text
        assert resp.headers["Content-Type"] == "image/png"
        out.append(resp.content)
    return out


def test_spec_example_summarize_the_page(api, sites):
    start = time.monotonic()
    result = sync(api, {"task": f"Open {sites}/index.html and summarize the page"})
    elapsed_ms = (time.monotonic() - start) * 1000
    assert result["success"] is True, result
    assert result["task_id"].startswith("web:")
    payload = json.loads(result["payload"])
    assert "Agent Test Home" in payload["result"]
    assert "A small local site for testing the browsing agent." in payload["result"]
    assert payload["screenshots"] == []
    assert 0 < result["execution_time_ms"] <= elapsed_ms + 1000
    assert result["info"]["node_uid"] in ("node.de.01", "node.us.01")
    assert result["info"]["country"] == result["info"]["node_uid"].split(".")[1].upper()


def test_spec_async_example_with_full_page_screenshot(api, sites):
    task_id = api.submit(
        {
            "task": f"Open {sites}/tall.html and return a screenshot of the page.",
            "filter": {"country_iso": "DE"},
            "screenshots": {"mode": "final_only", "full_page": True},
        }
    )
    status = api.wait(task_id)
    assert status["status"] == "completed" and status["success"] is True, status
    assert status["info"]["node_uid"] == "node.de.01" and status["info"]["country"] == "DE"
    created = datetime.strptime(status["created_at"], ISO)
    assigned = datetime.strptime(status["assigned_at"], ISO)
    started = datetime.strptime(status["started_at"], ISO)
    assert created <= assigned <= started
    payload = json.loads(status["payload"])
    assert [s["url"] for s in payload["screenshots"]] == [
        f"/api/v1/browsing/screenshots/{task_id}/screenshot-01.png"
    ]
    (png,) = screenshots(api, status)
    width, height = png_size(png)
    assert width == 1280 and height > 800 * 3  # the whole tall page, not the viewport


def test_viewport_screenshot_when_full_page_is_false(api, sites):
    result = sync(
        api,
        {
            "task": f"Open {sites}/tall.html and return a screenshot of the page.",
            "screenshots": {"mode": "final_only", "full_page": False},
        },
    )
    (png,) = screenshots(api, result)
    assert png_size(png) == (1280, 800)


def test_spec_sync_example_language_switch_every_step(api, sites):
    result = sync(
        api,
        {
            "task": f"Open {sites}/lang.html. Wait until the page is loaded. "
            "Then change the site language to English. Return the result.",
            "screenshots": {"mode": "every_step", "full_page": True},
        },
    )
    assert result["success"] is True, result
    payload = json.loads(result["payload"])
    assert "A test page in English." in payload["result"] or "English" in payload["result"]
    assert "Добро пожаловать" not in payload["result"]
    shots = screenshots(api, result)
    assert len(shots) == 4  # open, wait, change language, return
    assert all(png_size(p)[0] == 1280 for p in shots)
    assert len(set(shots)) >= 2  # the page changed between steps


def test_on_navigation_only_for_url_changes(api, sites):
    result = sync(
        api,
        {
            "task": f"Open {sites}/links.html. Wait until the page is loaded. "
            'Click "Page two". Return the title.',
            "screenshots": {"mode": "on_navigation"},
        },
    )
    assert result["success"] is True, result
    assert "Links Page Two" in json.loads(result["payload"])["result"]
    assert (
        len(screenshots(api, result)) == 2
    )  # the open and the click navigated; wait and return did not


def test_type_into_fields_by_label_and_placeholder(api, sites):
    result = sync(
        api,
        {
            "task": f'Open {sites}/form.html. Type "Ada Lovelace" into the "Full name" field. '
            'Type "London" into the "City" field. Click "Send". Return the result.',
        },
    )
    assert result["success"] is True, result
    text = json.loads(result["payload"])["result"]
    assert "Ada Lovelace" in text and "London" in text


def test_unknown_instruction_fails_quoting_the_part(api, sites):
    result = sync(api, {"task": f"Open {sites}/index.html and fly to the moon"})
    assert result["success"] is False
    assert '"fly to the moon"' in result["error"]
    # The contract's /sync answer has a payload whichever way the task ended.
    assert json.loads(result["payload"]) == {"result": None, "screenshots": []}


def test_click_on_missing_element_fails_with_the_text_and_shows_the_page(api, sites):
    # The agent keeps looking for a late-rendered element until the action timeout (the
    # cluster's: 8 s).
    task_id = api.submit(
        {
            "task": f'Open {sites}/index.html. Click "Links". Click "Nonexistent button".',
            "screenshots": {"mode": "every_step"},
        }
    )
    result = api.wait(task_id, 40)
    assert result["success"] is False and '"Nonexistent button"' in result["error"]
    # Its screenshots are kept and listed: each step's, then the page the failure left
    # (links.html, where the click failed), served without naming the attempt.
    payload = json.loads(result["payload"])
    assert payload["result"] is None
    names = [shot["url"].rsplit("/", 1)[1] for shot in payload["screenshots"]]
    assert names == ["screenshot-01.png", "screenshot-02.png", "screenshot-03.png"]
    home, links, failed = screenshots(api, result)
    assert [png_size(p) for p in (home, links, failed)] == [(1280, 800)] * 3
    assert home != links
    # The failed click changed nothing on links.html: the same picture, pixel for pixel.
    assert failed == links


@pytest.mark.parametrize("uid", ["node.de.01", "node.us.01"])
def test_node_uid_routes_to_that_node(api, sites, uid):
    result = sync(
        api, {"task": f"Open {sites}/index.html and return the title", "filter": {"node_uid": uid}}
    )
    assert result["success"] is True and result["info"]["node_uid"] == uid


def test_country_routes_only_to_that_country(api, sites):
    for _ in range(4):
        result = sync(
            api,
            {
                "task": f"Open {sites}/index.html and return the title",
                "filter": {"country_iso": "us"},
            },
        )
        assert result["info"]["node_uid"] == "node.us.01"


@pytest.mark.parametrize(
    "flt, named",
    [
        ({"country_iso": "FR"}, "country_iso=FR"),
        ({"node_uid": "node.xx.99"}, "node_uid=node.xx.99"),
    ],
)
def test_no_matching_node_fails_at_once_naming_the_filter(api, sites, flt, named):
    start = time.monotonic()
    result = sync(api, {"task": f"Open {sites}/index.html", "filter": flt})
    assert time.monotonic() - start < 5
    assert result["success"] is False and named in result["error"]


def test_least_loaded_node_takes_untargeted_tasks(api, sites):
    # Occupy node.de.01's two slots; untargeted tasks must then go to node.us.01.
    busy = [
        api.submit(
            {
                "task": f"Open {sites}/index.html. Wait 4 seconds.",
                "filter": {"node_uid": "node.de.01"},
            }
        )
        for _ in range(2)
    ]
    # Routing counts an attempt from its placement: both must be placed first.
    placed = ("assigned", "running")
    for task_id in busy:
        poll(lambda t=task_id: api.status(t)["status"] in placed, what=f"{task_id} placed")
    result = sync(api, {"task": f"Open {sites}/index.html and return the title"})
    assert result["info"]["node_uid"] == "node.us.01"
    for task_id in busy:
        assert api.wait(task_id)["status"] == "completed"


def test_sync_timeout_is_504_and_the_task_keeps_running(cluster, api, sites):
    resp = api.post(SYNC, {"task": f"Open {sites}/index.html. Wait 12 seconds. Return the title."})
    assert resp.status_code == 504, resp.text
    body = resp.json()
    assert "task_id" in body and "error" in body
    assert api.status(body["task_id"])["status"] == "running"
    assert api.wait(body["task_id"], 30)["status"] == "completed"


def test_screenshot_of_another_task_or_file_is_404(api, sites):
    result = sync(api, {"task": f"Open {sites}/index.html and return a screenshot of the page."})
    base = f"/api/v1/browsing/screenshots/{result['task_id']}"
    assert api.get(f"{base}/screenshot-01.png").status_code == 200
    assert api.get(f"{base}/screenshot-02.png").status_code == 404


def test_without_a_state_key_a_session_s_tasks_still_run_side_by_side(cluster, api, sites):
    """This cluster keeps no browser state (no BROWSING_STATE_KEY): a session_key is node
    affinity only, as the contract has it, so two tasks of one session are not put in
    line (README, "Sessions that remember")."""
    import redis

    from shared.records import TaskStore

    slow = {"task": f"Open {sites}/slow?ms=2500. Return the title.", "session_key": "side"}
    ids = [api.submit(slow) for _ in range(2)]
    for task_id in ids:
        assert api.wait(task_id, 90)["status"] == "completed"
    store = TaskStore(
        redis.Redis.from_url(cluster.redis_url, decode_responses=True), record_ttl_s=3600
    )
    first, second = (store.get(t).attempts[0] for t in ids)
    assert first.node == second.node  # affinity: the session's node
    assert second.started_ms < first.finished_ms, "the session's tasks ran in line"
