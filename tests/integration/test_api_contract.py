"""The HTTP contract: auth, validation and error shapes.

The gateway's own answers are checked on its Flask app (``create_app()``) through Flask's
test client, against a real Redis and S3: no task needs to run for them. What gunicorn
answers itself (oversized request lines and headers) is checked on the cluster's gateway.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis
from werkzeug.test import TestResponse

from shared import keys
from tests.conftest import ALICE, BOB, bearer

ASYNC = "/api/v1/browsing/async"
STATUS = "/api/v1/browsing/status"
AS_ALICE = bearer(ALICE)
AS_BOB = bearer(BOB)


def assert_error(resp: TestResponse, status: int, fragment: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.get_json()
    assert list(body) == ["error"] or "task_id" in body
    assert fragment in body["error"], body


def submit(client, body: dict, key: str = ALICE) -> str:  # noqa: ANN001 - Flask's client
    resp = client.post(ASYNC, json=body, headers=bearer(key))
    assert resp.status_code == 200, resp.text
    return resp.get_json()["task_id"]


def test_missing_key_is_401(client):
    resp = client.post(ASYNC, json={"task": "x"})
    assert_error(resp, 401, "missing API key")
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="browsing"'  # RFC 9110


def test_wrong_key_is_401(client):
    resp = client.post(ASYNC, json={"task": "x"}, headers=bearer("not-a-key"))
    assert_error(resp, 401, "invalid API key")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer ")


def test_basic_auth_scheme_is_401(client):
    resp = client.get(
        STATUS,
        query_string={"task_id": "web:x"},
        headers={"Authorization": "Basic YWxpY2U6eA=="},
    )
    assert_error(resp, 401, "Bearer")


def test_invalid_json_is_400(client):
    resp = client.post(
        ASYNC, data=b'{"task": ', headers={**AS_ALICE, "Content-Type": "application/json"}
    )
    assert_error(resp, 400, "invalid JSON")


def test_empty_body_is_400(client):
    assert_error(client.post(ASYNC, data=b"", headers=AS_ALICE), 400, "invalid JSON")


@pytest.mark.parametrize("body", [[1, 2], "task", 3, None])
def test_body_that_is_not_an_object_is_400(client, body):
    resp = client.post(ASYNC, json=body if body is not None else "null", headers=AS_ALICE)
    assert_error(resp, 400, "JSON object")


def test_missing_task_is_400(client):
    resp = client.post(ASYNC, json={"screenshots": {"mode": "final_only"}}, headers=AS_ALICE)
    assert_error(resp, 400, "missing task")


def test_validation_errors_are_400_with_the_field_named(client):
    def post(body: dict) -> TestResponse:
        return client.post(ASYNC, json=body, headers=AS_ALICE)

    assert_error(post({"task": "x", "fanout": 11}), 400, "fanout")
    assert_error(post({"task": "x", "timeout": 10_800_001}), 400, "timeout")
    assert_error(post({"task": "x", "template": "nope"}), 400, "unknown template")
    assert_error(
        post({"task": "x", "filter": {"country_iso": "DE", "node_uid": "node.de.01"}}),
        400,
        "mutually exclusive",
    )


def test_oversized_body_is_413(client):
    resp = client.post(ASYNC, json={"task": "x" * 300_000}, headers=AS_ALICE)
    assert_error(resp, 413, "too large")


def test_wrong_method_is_405(client):
    assert_error(client.get(ASYNC, headers=AS_ALICE), 405, "method not allowed")
    resp = client.post(STATUS, json={}, headers=AS_ALICE)
    assert_error(resp, 405, "method not allowed")
    assert "GET" in resp.headers["Allow"]


def test_unknown_path_is_404_json(client):
    assert_error(client.get("/api/v1/browsing/nothing", headers=AS_ALICE), 404, "not found")


def test_status_needs_task_id(client):
    assert_error(client.get(STATUS, headers=AS_ALICE), 400, "missing task_id")


def test_unknown_task_is_404(client):
    for task_id in ("web:" + "0" * 32, "../../etc"):
        resp = client.get(STATUS, query_string={"task_id": task_id}, headers=AS_ALICE)
        assert_error(resp, 404, "not found")


def test_another_users_task_is_403_for_status_screenshots_and_cancel(client):
    task_id = submit(client, {"task": "Fly to the moon"})
    resp = client.get(STATUS, query_string={"task_id": task_id}, headers=AS_BOB)
    assert_error(resp, 403, "different user")
    resp = client.get(f"/api/v1/browsing/screenshots/{task_id}/screenshot-01.png", headers=AS_BOB)
    assert_error(resp, 403, "different user")
    resp = client.post(f"/api/v1/browsing/cancel?task_id={task_id}", headers=AS_BOB)
    assert_error(resp, 403, "different user")
    resp = client.get(STATUS, query_string={"task_id": task_id}, headers=AS_ALICE)
    assert resp.status_code == 200 and resp.get_json()["task_id"] == task_id


@pytest.mark.parametrize(
    "name",
    ["../secret.png", "screenshot-1.png", "screenshot-01.jpg", "x.png", "screenshot-01.png.exe"],
)
def test_bad_screenshot_names_are_404(client, name):
    task_id = submit(client, {"task": "Fly to the moon"})
    resp = client.get(f"/api/v1/browsing/screenshots/{task_id}/{name}", headers=AS_ALICE)
    assert resp.status_code == 404 and "error" in resp.get_json()


def test_task_ids_look_like_web_prefix(client):
    task_id = submit(client, {"task": "Fly to the moon"})
    assert task_id.startswith("web:") and len(task_id) > 10


def test_templates_are_listed(client):
    resp = client.get("/api/v1/browsing/templates", headers=AS_ALICE)
    assert resp.status_code == 200 and "default" in resp.get_json()["templates"]


def test_created_keys_work_and_only_their_hash_is_stored(client, gateway_env, redis_url):
    out = subprocess.run(
        [sys.executable, "-m", "browsing.cli", "keys", "create", "carol"],
        env={**os.environ, **gateway_env},
        capture_output=True,
        text=True,
        check=True,
    )
    key = out.stdout.strip()
    assert key.startswith("bk_")
    stored = redis.Redis.from_url(redis_url, decode_responses=True).hgetall(keys.API_KEYS)
    assert stored and all(key not in v and key.split("_")[2] not in v for v in stored.values())
    task_id = submit(client, {"task": "Fly to the moon"}, key=key)
    resp = client.get(STATUS, query_string={"task_id": task_id}, headers=bearer(key))
    assert resp.status_code == 200 and resp.get_json()["task_id"] == task_id
    wrong = key[:-1] + ("0" if key[-1] != "0" else "1")
    assert (
        client.get(STATUS, query_string={"task_id": task_id}, headers=bearer(wrong)).status_code
        == 401
    )


def test_health_endpoints(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_lone_surrogate_in_json_is_400_not_a_stuck_task(client):
    resp = client.post(
        ASYNC,
        data=b'{"task": "x", "session_key": "\\udfff"}',
        headers={**AS_ALICE, "Content-Type": "application/json"},
    )
    assert_error(resp, 400, "session_key is not valid Unicode")


def _raw_post(client, body: bytes) -> TestResponse:  # noqa: ANN001 - Flask's client
    return client.post(ASYNC, data=body, headers={**AS_ALICE, "Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b'{"task": "x", "filter": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400, "nested more"),
        (b'{"task": "x", "x": ' + b'{"a":' * 900 + b"1" + b"}" * 900 + b"}", 400, "nested more"),
        (b'{"task": "x", "x": ' + b"[" * 40 + b"]" * 40 + b"}", 400, "nested more than 32"),
        (b'{"task": "x", "task": "y"}', 400, "duplicate key 'task'"),
        (b'{"task": "Open \xff\xfe"}', 400, "invalid JSON"),
        (b'{"task": "Open\\u0000 it"}', 400, "task must not contain NUL"),
        (b'{"task": "x", "timeout": ' + b"9" * 5000 + b"}", 400, "invalid JSON"),
        (b'{"task": "x", "timeout": ' + b"9" * 4000 + b"}", 400, "timeout must be an integer"),
        (b'{"task": "x", "timeout": 1e999}', 400, "the number 1e999 is too large"),
        (b'{"task": "x", "output_schema": {"maximum": -1e400}}', 400, "-1e400 is too large"),
        # Python's json would take these; JSON has no such numbers.
        (b'{"task": "x", "timeout": NaN}', 400, "NaN is not JSON"),
        (b'{"task": "x", "extra": -Infinity}', 400, "-Infinity is not JSON"),
        (b'{"task": "x", "timeout": true}', 400, "timeout must be an integer from 1 to "),
        (b'{"task": "x", "fanout": "2"}', 400, 'got "2"'),
        (b'{"task": "x", "session_key": "a\\u0000b"}', 400, "session_key must not contain NUL"),
    ],
)
def test_hostile_json_bodies_get_a_json_400(client, body, status, fragment):
    assert_error(_raw_post(client, body), status, fragment)


def test_whole_numbers_written_as_floats_are_taken(client):
    resp = _raw_post(client, b'{"task": "Open https://example.com", "timeout": 6e4, "fanout": 2.0}')
    assert resp.status_code == 200, resp.text
    task_id = resp.get_json()["task_id"]
    request = client.get(STATUS, query_string={"task_id": task_id}, headers=AS_ALICE).get_json()
    assert (request["request"]["timeout"], request["request"]["fanout"]) == (60_000, 2)
    assert_error(_raw_post(client, b'{"task": "x", "fanout": 2.5}'), 400, "got 2.5")


def test_a_bom_and_a_duplicate_free_body_are_accepted(client):
    resp = _raw_post(client, b'\xef\xbb\xbf{"task": "Open https://example.com", "fanout": 1}')
    assert resp.status_code == 200 and resp.get_json()["task_id"].startswith("web:"), resp.text


@pytest.mark.parametrize(
    ("kind", "status"),
    [("request line", 414), ("one header", 431), ("many headers", 431)],
)
def test_what_gunicorn_refuses_is_answered_in_json(cluster, kind, status):
    """gunicorn answers these before the app sees them: this needs the real gateway."""
    import socket

    path, headers = STATUS, ""
    if kind == "request line":
        path += "?task_id=" + "a" * 10_000
    elif kind == "one header":
        headers = "X-Big: " + "b" * 20_000 + "\r\n"
    else:
        headers = "".join(f"X-H{i}: v\r\n" for i in range(200))
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode()
    with socket.create_connection(("127.0.0.1", cluster.port), timeout=10) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == str(status).encode(), head
    assert b"Content-Type: application/json" in head and b"<html" not in reply.lower()
    assert "error" in __import__("json").loads(body)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_a_body_declared_as_something_else_than_json_is_415(client, content_type):
    resp = client.post(
        ASYNC, data=b'{"task": "x"}', headers={**AS_ALICE, "Content-Type": content_type}
    )
    assert_error(resp, 415, "send 'Content-Type: application/json'")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", None])
def test_json_with_a_charset_or_with_no_content_type_is_read(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    resp = client.post(
        ASYNC, data=b'{"task": "Open https://example.com"}', headers={**AS_ALICE, **headers}
    )
    assert resp.status_code == 200 and resp.get_json()["task_id"].startswith("web:"), resp.text
