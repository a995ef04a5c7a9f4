"""The OpenAPI document: served by the gateway, complete, and true to the running service.

Two schemathesis runs fuzz the real gateway of the ``cluster`` fixture against the
document it serves; the other tests check real responses of every kind (a finished
task, a cancelled one, a screenshot) against the same document.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.failures import FailureGroup

from gateway.validation import MAX_JSON_DEPTH
from shared import keys
from tests.conftest import ALICE, Api

OPENAPI = "/api/v1/openapi.json"
DOCUMENT = Path(__file__).resolve().parents[2] / "gateway" / "openapi.json"

PATHS = {
    "/api/v1/browsing/async": {"post"},
    "/api/v1/browsing/sync": {"post"},
    "/api/v1/browsing/status": {"get"},
    "/api/v1/browsing/cancel": {"post"},
    "/api/v1/browsing/templates": {"get"},
    "/api/v1/browsing/webhook-secret": {"get", "post"},
    "/api/v1/browsing/tasks": {"get"},
    "/api/v1/browsing/uploads": {"post"},
    "/api/v1/browsing/uploads/{upload_id}": {"get"},
    "/api/v1/browsing/screenshots/{task_id}/{file}": {"get"},
    "/api/v1/browsing/files/{task_id}/{name}": {"get"},
    "/api/v1/browsing/events": {"get"},
    "/api/v1/browsing/me": {"get"},
    "/api/v1/admin/nodes": {"get"},
    "/api/v1/admin/nodes/{uid}/drain": {"post"},
    "/api/v1/admin/nodes/{uid}/undrain": {"post"},
    "/api/v1/admin/nodes/{uid}": {"delete"},
    "/api/v1/admin/queues": {"get"},
    "/api/v1/admin/failures": {"get"},
    "/api/v1/browsing/sessions": {"get"},
    "/api/v1/browsing/sessions/{session_key}": {"delete"},
    "/healthz": {"get"},
    "/readyz": {"get"},
}

# Only the checks that hold for any request: no 5xx, only documented status codes and
# content types, bodies that match the documented schemas. `positive_data_acceptance`
# is left out on purpose: a schema-valid `template` name may still be unknown (400).
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
# A fixed seed keeps CI deterministic; BROWSING_FUZZ_SEED=random (or a number) explores more.
SEED = os.environ.get("BROWSING_FUZZ_SEED", "20260217")


def _schemathesis(
    cluster, tmp_path: Path, *args: str, checks: str = CHECKS, timeout_s: float = 150
) -> None:
    """Run the schemathesis 4 CLI against the cluster's own schema; fail with its output."""
    argv = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        cluster.base_url + OPENAPI,
        "--header",
        f"Authorization: Bearer {ALICE}",
        "--checks",
        checks,
        "--request-timeout",
        "10",
        # One worker: the machine has 2 cores, and hypothesis' lambda-source parsing is not
        # thread-safe on CPython 3.11 (runs with 2 workers sometimes die in ast.parse).
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--no-color",
        *args,
    ]
    if SEED != "random":
        argv += ["--seed", SEED]
    # cwd: a scratch directory, so no schemathesis.toml or .hypothesis/ from the work tree.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")}
    try:
        proc = subprocess.run(
            argv,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout
        pytest.fail(f"schemathesis did not finish in {timeout_s:g} s:\n{out or ''}")
    if proc.returncode != 0:
        pytest.fail(
            f"schemathesis exited with {proc.returncode}: {' '.join(argv[2:])}\n"
            f"{proc.stdout}\n{proc.stderr}"
        )


@pytest.fixture(scope="module")
def schema():
    return schemathesis.openapi.from_path(str(DOCUMENT))


def _conforms(schema, path: str, method: str, resp: requests.Response) -> None:
    """The response's status, content type and body are those the document gives."""
    documented = json.loads(DOCUMENT.read_text())["paths"][path][method.lower()]["responses"]
    assert str(resp.status_code) in documented or "default" in documented, (
        f"{method} {path} answered {resp.status_code}, which gateway/openapi.json does not list"
    )
    try:
        schema[path][method].validate_response(resp)
    except FailureGroup as group:  # one entry per mismatch
        problems = "\n\n".join(str(exc) for exc in group.exceptions)
        pytest.fail(
            f"{method} {path} -> {resp.status_code} {resp.text[:2000]!r}\n"
            f"does not conform to gateway/openapi.json:\n{problems}"
        )


def test_openapi_document_is_served_and_lists_every_endpoint(cluster):
    resp = requests.get(cluster.base_url + OPENAPI, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    doc = resp.json()
    assert doc == json.loads(DOCUMENT.read_text())
    assert doc["openapi"] == "3.0.3"
    for path, methods in PATHS.items():
        assert path in doc["paths"], f"{path} is missing from the OpenAPI document"
        assert methods <= set(doc["paths"][path]), f"{path}: {methods} not all documented"
    bearer = doc["components"]["securitySchemes"]["bearerAuth"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            auth = operation.get("security", doc["security"])
            authenticated = path.startswith(("/api/v1/browsing/", "/api/v1/admin/"))
            assert bool(auth) == authenticated, (method, path)


def test_fuzzing_the_gateway_finds_no_server_error_or_schema_mismatch(cluster, tmp_path):
    # POST /sync is left out: a valid fuzzed body creates a real task and /sync holds the
    # request until it finishes (up to BROWSING_SYNC_TIMEOUT_S, which is not settable per
    # request). The next test fuzzes /sync with invalid bodies only. Valid /async bodies
    # do create real tasks: the nodes fail most of them at once ("could not understand").
    _schemathesis(
        cluster,
        tmp_path,
        "--phases",
        "examples,fuzzing",  # no coverage sweep, no stateful phase
        "--max-examples",
        "25",
        "--exclude-path",
        "/api/v1/browsing/sync",
    )


def test_fuzzing_sync_with_invalid_bodies_only(cluster, tmp_path):
    # Negative mode: every body breaks the schema, so the gateway must answer 400 at once
    # (negative_data_rejection) and never start waiting for a task.
    _schemathesis(
        cluster,
        tmp_path,
        "--phases",
        "fuzzing",
        "--mode",
        "negative",
        "--max-examples",
        "15",
        "--include-path",
        "/api/v1/browsing/sync",
        checks=CHECKS + ",negative_data_rejection",
    )


def test_real_task_responses_conform(cluster, sites, schema):
    api = Api(cluster.base_url, ALICE)
    # A completed task with a screenshot, through /sync.
    resp = api.post(
        "/api/v1/browsing/sync",
        {"task": f"Open {sites}/index.html", "screenshots": {"mode": "final_only"}},
    )
    _conforms(schema, "/api/v1/browsing/sync", "POST", resp)
    body = resp.json()
    assert body["success"] is True, body
    assert isinstance(body["payload"], str) and isinstance(body["info"], dict)
    task_id = body["task_id"]
    status = api.get("/api/v1/browsing/status", params={"task_id": task_id})
    _conforms(schema, "/api/v1/browsing/status", "GET", status)
    assert status.json()["status"] == "completed"
    url = json.loads(body["payload"])["screenshots"][0]["url"]
    shot = api.get(url)
    _conforms(schema, "/api/v1/browsing/screenshots/{task_id}/{file}", "GET", shot)
    assert shot.status_code == 200 and shot.content.startswith(b"\x89PNG")
    # Cancelling a finished task: 409.
    again = api.post(f"/api/v1/browsing/cancel?task_id={task_id}")
    _conforms(schema, "/api/v1/browsing/cancel", "POST", again)
    assert again.status_code == 409

    # A failed task, through /sync: not understood, so it fails at once.
    resp = api.post("/api/v1/browsing/sync", {"task": "Xyzzy the plugh", "fanout": 2})
    _conforms(schema, "/api/v1/browsing/sync", "POST", resp)
    assert resp.json()["success"] is False and resp.json()["error"]

    # A running task, then cancelled.
    created = api.post("/api/v1/browsing/async", {"task": "Wait 30 seconds"})
    _conforms(schema, "/api/v1/browsing/async", "POST", created)
    task_id = created.json()["task_id"]
    _conforms(
        schema,
        "/api/v1/browsing/status",
        "GET",
        api.get("/api/v1/browsing/status", params={"task_id": task_id}),
    )
    deadline = time.monotonic() + 20
    while api.status(task_id)["status"] != "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    running = api.get("/api/v1/browsing/status", params={"task_id": task_id})
    _conforms(schema, "/api/v1/browsing/status", "GET", running)
    cancelled = api.post(f"/api/v1/browsing/cancel?task_id={task_id}")
    _conforms(schema, "/api/v1/browsing/cancel", "POST", cancelled)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "failed" and cancelled.json()["error"] == "cancelled"


def test_a_queued_status_and_a_429_conform(cluster, sites, schema):
    """node.us.01 runs two tasks at once: the last of four for it waits, with its position.
    A user allowed one submit per 100 s gets 429 with Retry-After on the next."""
    from shared.apikeys import KeyStore
    from shared.config import load_settings
    from shared.users import UserPolicies

    api = Api(cluster.base_url, ALICE)
    hold = {
        "task": f"Open {sites}/index.html. Wait 2 seconds.",
        "filter": {"node_uid": "node.us.01"},
    }
    held = [api.submit(hold) for _ in range(4)]
    queued = api.get("/api/v1/browsing/status", params={"task_id": held[-1]})
    _conforms(schema, "/api/v1/browsing/status", "GET", queued)
    assert queued.json()["status"] == "queued" and queued.json()["queue_position"] >= 0

    r = redis.Redis.from_url(cluster.redis_url, decode_responses=True)
    key = KeyStore(r).create("hana")
    UserPolicies(r, load_settings({})).set("hana", {"rate": "0.01", "burst": "1"})
    limited = Api(cluster.base_url, key)
    body = {"task": "Xyzzy the plugh"}  # not understood: it fails at once
    for path in ("/api/v1/browsing/async", "/api/v1/browsing/sync"):
        r.delete(keys.bucket("hana"))  # a full bucket again: one token
        first = limited.post("/api/v1/browsing/async", body)
        assert first.status_code == 200, first.text
        refused = limited.post(path, body)
        _conforms(schema, path, "POST", refused)
        assert refused.status_code == 429, refused.text
        assert 98 <= int(refused.headers["Retry-After"]) <= 100, refused.headers
        assert "limit rate=0.01" in refused.json()["error"]
    for task_id in held:
        assert api.wait(task_id, 60)["status"] == "completed"


def test_idempotent_submits_and_the_task_list_conform(cluster, schema):
    api = Api(cluster.base_url, ALICE)
    body = {"task": "Xyzzy the plugh"}  # not understood: it fails at once
    key = {"Idempotency-Key": "conform-1"}
    first = api.post("/api/v1/browsing/async", body, headers=key)
    _conforms(schema, "/api/v1/browsing/async", "POST", first)
    replay = api.post("/api/v1/browsing/async", body, headers=key)
    _conforms(schema, "/api/v1/browsing/async", "POST", replay)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    for path in ("/api/v1/browsing/async", "/api/v1/browsing/sync"):
        other = api.post(path, {"task": "Xyzzy"}, headers=key)
        _conforms(schema, path, "POST", other)
        assert other.status_code == 422, other.text
        too_long = api.post(path, body, headers={"Idempotency-Key": "k" * 256})
        _conforms(schema, path, "POST", too_long)
        assert too_long.status_code == 400, too_long.text
    waited = api.post("/api/v1/browsing/sync", body, headers=key)
    _conforms(schema, "/api/v1/browsing/sync", "POST", waited)
    assert waited.json()["task_id"] == first.json()["task_id"]
    assert waited.headers["Idempotent-Replayed"] == "true"

    listed = api.get("/api/v1/browsing/tasks", params={"limit": 1})
    _conforms(schema, "/api/v1/browsing/tasks", "GET", listed)
    assert listed.json()["tasks"][0]["task_id"] == first.json()["task_id"]
    older = api.get("/api/v1/browsing/tasks", params={"cursor": listed.json()["next_cursor"]})
    _conforms(schema, "/api/v1/browsing/tasks", "GET", older)
    for params in ({"limit": 0}, {"cursor": "?"}, {"status": "done"}):
        bad = api.get("/api/v1/browsing/tasks", params=params)
        _conforms(schema, "/api/v1/browsing/tasks", "GET", bad)
        assert bad.status_code == 400, bad.text
    anonymous = Api(cluster.base_url, None).get("/api/v1/browsing/tasks")
    _conforms(schema, "/api/v1/browsing/tasks", "GET", anonymous)
    assert anonymous.status_code == 401


def test_error_responses_conform(cluster, schema):
    anonymous = Api(cluster.base_url, None)
    api = Api(cluster.base_url, ALICE)
    _conforms(
        schema,
        "/api/v1/browsing/status",
        "GET",
        anonymous.get("/api/v1/browsing/status", params={"task_id": "web:" + "0" * 32}),
    )
    _conforms(schema, "/api/v1/browsing/status", "GET", api.get("/api/v1/browsing/status"))
    _conforms(
        schema,
        "/api/v1/browsing/async",
        "POST",
        api.post("/api/v1/browsing/async", {"task": "x" * 300_000}),
    )
    _conforms(schema, "/api/v1/browsing/templates", "GET", api.get("/api/v1/browsing/templates"))
    for path in ("/healthz", "/readyz"):
        _conforms(schema, path, "GET", anonymous.get(path))


def test_admin_responses_conform(cluster, schema):
    from shared.apikeys import KeyStore

    r = redis.Redis.from_url(cluster.redis_url, decode_responses=True)
    admin = Api(cluster.base_url, KeyStore(r).create("ivan", admin=True))
    plain = Api(cluster.base_url, ALICE)
    _conforms(schema, "/api/v1/browsing/me", "GET", admin.get("/api/v1/browsing/me"))
    for path in ("/api/v1/admin/nodes", "/api/v1/admin/queues", "/api/v1/admin/failures"):
        _conforms(schema, path, "GET", admin.get(path))
        refused = plain.get(path)
        _conforms(schema, path, "GET", refused)
        assert refused.status_code == 403
    bad = admin.get("/api/v1/admin/failures", params={"limit": "0"})
    _conforms(schema, "/api/v1/admin/failures", "GET", bad)
    for action in ("undrain", "drain"):  # an unknown node: 404
        path = f"/api/v1/admin/nodes/{{uid}}/{action}"
        _conforms(schema, path, "POST", admin.post(f"/api/v1/admin/nodes/nowhere/{action}"))
    path = "/api/v1/admin/nodes/{uid}"
    _conforms(schema, path, "DELETE", admin.delete("/api/v1/admin/nodes/nowhere"))  # 404
    _conforms(schema, path, "DELETE", admin.delete("/api/v1/admin/nodes/node.us.01"))  # 409
    undrained = admin.post("/api/v1/admin/nodes/node.us.01/undrain")
    assert undrained.status_code == 200
    _conforms(schema, "/api/v1/admin/nodes/{uid}/undrain", "POST", undrained)


# Hostile bodies: each generator takes a valid body that schemathesis generated from the
# document and breaks it one way, as an attacker or a broken client would. Every one
# must get a JSON 400 (413 if it grew past the size limit, 415 for a body declared as
# something else than JSON), never a 500 or a page that is not JSON.
BODY_OPERATIONS = ("/api/v1/browsing/async", "/api/v1/browsing/sync")
WRONG_CONTENT_TYPES = (
    "text/plain",
    "text/html",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/octet-stream",
)
INVALID_UTF8 = (
    b"\xff",
    b"\x80",
    b"\xc3\x28",  # a lead byte without its continuation
    b"\xe2\x28\xa1",
    b"\xc0\xaf",  # overlong
    b"\xed\xa0\x80",  # a surrogate encoded in UTF-8
    b"\xf8\x88\x80\x80\x80",  # five bytes
)
STRING_FIELDS = ("task", "session_key")


def _splice(body: dict, member: bytes) -> bytes:
    """The body as JSON text with one more member, given as raw bytes."""
    text = json.dumps(body).encode()
    return b"{" + member + b"}" if text == b"{}" else text[:-1] + b", " + member + b"}"


def _with_string(body: dict, field: str, tail: str) -> dict:
    return {**body, field: str(body.get(field) or "x") + tail}


def _deep(draw, body: dict) -> bytes:
    depth = draw(st.integers(MAX_JSON_DEPTH + 1, 5000))
    if draw(st.booleans()):
        nested = b"[" * depth + b"]" * depth
    else:
        nested = b'{"a": ' * depth + b"1" + b"}" * depth
    return _splice(body, b'"' + draw(st.sampled_from([b"filter", b"x"])) + b'": ' + nested)


def _long_number(draw, body: dict) -> bytes:
    digits = draw(st.integers(1000, 20000))
    number = draw(
        st.sampled_from([b"9" * digits, b"-" + b"1" * digits, b"1" + b"0" * digits + b".5"])
    )
    field = draw(st.sampled_from([b"timeout", b"fanout"]))
    rest = {k: v for k, v in body.items() if k.encode() != field}
    return _splice(rest, b'"' + field + b'": ' + number)


def _duplicate_key(draw, body: dict) -> bytes:
    key = draw(st.sampled_from(sorted(body)))
    return _splice(body, json.dumps(key).encode() + b": " + json.dumps(body[key]).encode())


def _invalid_utf8(draw, body: dict) -> bytes:
    field = draw(st.sampled_from(STRING_FIELDS))
    marker = "\u2603"  # a snowman, swapped for the bad bytes once encoded
    raw = json.dumps(_with_string(body, field, marker), ensure_ascii=False).encode()
    return raw.replace(marker.encode(), draw(st.sampled_from(INVALID_UTF8)), 1)


def _nul(draw, body: dict) -> bytes:
    field = draw(st.sampled_from(STRING_FIELDS))
    raw = json.dumps(_with_string(body, field, "\x00 after"))
    if draw(st.booleans()):  # a raw NUL byte in the text instead of the \\u0000 escape
        raw = raw.replace("\\u0000", "\x00", 1)
    return raw.encode()


def _lone_surrogate(draw, body: dict) -> bytes:
    field = draw(st.sampled_from(STRING_FIELDS))
    surrogate = chr(draw(st.integers(0xD800, 0xDFFF)))
    return json.dumps(_with_string(body, field, surrogate)).encode()  # as a \\udXXX escape


BROKEN_BODIES = {
    "nested deeper than the limit": _deep,
    "a number with thousands of digits": _long_number,
    "a duplicate key": _duplicate_key,
    "invalid UTF-8": _invalid_utf8,
    "a NUL character": _nul,
    "a lone surrogate": _lone_surrogate,
}
HOSTILE = (*BROKEN_BODIES, "a wrong content type", "no content type")


@st.composite
def hostile_requests(draw, operation, kind: str) -> tuple[bytes, str | None, set[int]]:
    """(body, Content-Type or None, the statuses allowed) for one hostile request."""
    body = draw(operation.as_strategy()).body
    if kind == "a wrong content type":  # a valid body, declared as something else
        return json.dumps(body).encode(), draw(st.sampled_from(WRONG_CONTENT_TYPES)), {415}
    if kind == "no content type":  # read as JSON, so a broken body is still a 400
        broken = draw(st.sampled_from(sorted(BROKEN_BODIES)))
        return BROKEN_BODIES[broken](draw, body), None, {400, 413}
    return BROKEN_BODIES[kind](draw, body), "application/json", {400, 413}


@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("path", BODY_OPERATIONS)
def test_fuzzed_hostile_bodies_get_a_json_error(cluster, schema, path, kind):
    operation = schema[path]["POST"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {ALICE}"
    sent = []

    @settings(
        max_examples=6,
        derandomize=SEED != "random",
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(hostile_requests(operation, kind))
    def send(request: tuple[bytes, str | None, set[int]]) -> None:
        raw, content_type, allowed = request
        headers = {"Content-Type": content_type} if content_type else {}
        resp = session.post(cluster.base_url + path, data=raw, headers=headers, timeout=30)
        sent.append(resp.status_code)
        assert resp.status_code in allowed, (kind, raw[:200], resp.status_code, resp.text)
        assert resp.headers["Content-Type"] == "application/json", resp.headers
        assert isinstance(resp.json()["error"], str) and resp.json()["error"], resp.text
        _conforms(schema, path, "POST", resp)

    send()
    assert sent, "no request was sent"
