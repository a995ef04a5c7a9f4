"""Idempotent submits: the Idempotency-Key header of POST /async and /sync.

The gateway's own answers are checked on its Flask app against a real Redis (nothing runs
the tasks there); the races and the /sync wait for the first task on the cluster's
gunicorn gateway, over real HTTP.
"""

from __future__ import annotations

import threading

import redis
import requests

from shared import keys
from shared.apikeys import KeyStore
from shared.config import load_settings
from shared.records import TaskStore
from shared.users import UserPolicies
from tests.conftest import ALICE, BOB, bearer

ASYNC = "/api/v1/browsing/async"
SYNC = "/api/v1/browsing/sync"
REPLAYED = "Idempotent-Replayed"


def post(client, path: str, body: object, key: str | None, user: str = ALICE):  # noqa: ANN001, ANN201
    headers = bearer(user)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(path, json=body, headers=headers)


def owner_tasks(redis_url: str, owner: str) -> list[str]:
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    return r.zrange(keys.owner_tasks(owner), 0, -1)


def test_the_same_key_and_request_answer_the_first_task(client, redis_url):
    body = {"task": "Open https://example.com", "screenshots": {"mode": "final_only"}}
    first = post(client, ASYNC, body, "order-1001")
    assert first.status_code == 200, first.text
    task_id = first.get_json()["task_id"]
    assert REPLAYED not in first.headers
    before = len(owner_tasks(redis_url, "alice"))
    # The same request written otherwise: other key order and spacing, a default spelt out.
    raw = (
        b'{ "screenshots" : {"full_page": true, "mode": "final_only"},\n'
        b'  "task": "Open https://example.com", "fanout": 1 }'
    )
    headers = {**bearer(ALICE), "Idempotency-Key": "order-1001"}
    again = client.post(ASYNC, data=raw, headers=headers, content_type="application/json")
    assert again.status_code == 200, again.text
    assert again.get_json() == {"task_id": task_id}
    assert again.headers[REPLAYED] == "true"
    assert len(owner_tasks(redis_url, "alice")) == before  # no second task
    # The key is the owner's, its hash only, kept 24 h.
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    [name] = r.keys(keys.PREFIX + "idem:alice:*")
    assert "order-1001" not in name
    assert 86_000 < r.ttl(name) <= 86_400


def test_the_same_key_with_another_request_is_422(client, redis_url):
    task_id = post(client, ASYNC, {"task": "Open https://example.com"}, "k-422").get_json()
    before = len(owner_tasks(redis_url, "alice"))
    for path in (ASYNC, SYNC):
        resp = post(client, path, {"task": "Open https://example.org"}, "k-422")
        assert resp.status_code == 422, resp.text
        error = resp.get_json()["error"]
        assert "already used for a different request" in error and task_id["task_id"] in error
    assert len(owner_tasks(redis_url, "alice")) == before


def test_an_empty_or_too_long_key_is_400(client, redis_url):
    body = {"task": "Open https://example.com"}
    before = len(owner_tasks(redis_url, "alice"))
    for key, fragment in (
        ("", "it is empty"),
        ("   ", "it is empty"),
        ('""', "it is empty"),
        ("k" * 256, "256 characters, more than the 255 allowed"),
        ("caf\u00e9", "printable ASCII"),
    ):
        for path in (ASYNC, SYNC):
            resp = post(client, path, body, key)
            assert resp.status_code == 400, (key, resp.text)
            assert fragment in resp.get_json()["error"], resp.get_json()
    assert len(owner_tasks(redis_url, "alice")) == before
    longest = post(client, ASYNC, body, "k" * 255)
    assert longest.status_code == 200, longest.text
    # The draft's form, a Structured Field string, is the same key as the bare token.
    quoted = post(client, ASYNC, body, '"' + "k" * 253 + '"')
    bare = post(client, ASYNC, body, "k" * 253)
    assert quoted.get_json() == bare.get_json() and bare.headers[REPLAYED] == "true"
    assert quoted.get_json() != longest.get_json()


def test_keys_are_per_user(client):
    body = {"task": "Open https://example.com"}
    alices = post(client, ASYNC, body, "shared-key").get_json()["task_id"]
    bobs = post(client, ASYNC, body, "shared-key", user=BOB)
    assert bobs.status_code == 200 and REPLAYED not in bobs.headers
    assert bobs.get_json()["task_id"] != alices
    # Bob's own task, not a view of alice's.
    status = client.get(
        "/api/v1/browsing/status",
        query_string={"task_id": bobs.get_json()["task_id"]},
        headers=bearer(BOB),
    )
    assert status.status_code == 200, status.text
    assert post(client, ASYNC, body, "shared-key").get_json()["task_id"] == alices


def test_a_refused_submit_does_not_take_the_key(client, redis_url):
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    carol = KeyStore(r).create("carol")
    UserPolicies(r, load_settings({})).set("carol", {"rate": "0.01", "burst": "1"})
    body = {"task": "Open https://example.com"}
    assert post(client, ASYNC, body, None, user=carol).status_code == 200  # the one token
    refused = post(client, ASYNC, body, "carol-1", user=carol)
    assert refused.status_code == 429, refused.text
    r.delete(keys.bucket("carol"))  # a token again
    created = post(client, ASYNC, body, "carol-1", user=carol)
    assert created.status_code == 200 and REPLAYED not in created.headers, created.text
    # A replay takes no token: the bucket is empty now, and the replay still answers.
    replay = post(client, ASYNC, body, "carol-1", user=carol)
    assert replay.status_code == 200 and replay.headers[REPLAYED] == "true", replay.text
    assert replay.get_json() == created.get_json()


def test_sync_with_a_key_used_on_async_answers_that_tasks_result(client, redis_url):
    body = {"task": "Open https://example.com"}
    task_id = post(client, ASYNC, body, "then-sync").get_json()["task_id"]
    store = TaskStore(redis.Redis.from_url(redis_url, decode_responses=True), record_ttl_s=60)
    assert store.fail(task_id, "cancelled")  # finished: /sync answers at once
    resp = post(client, SYNC, body, "then-sync")
    assert resp.status_code == 200, resp.text
    assert resp.headers[REPLAYED] == "true"
    result = resp.get_json()
    assert (result["task_id"], result["status"], result["success"]) == (task_id, "failed", False)
    assert result["error"] == "cancelled"
    # The key's task expired before its key: a 404 that says so, not a wait.
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    r.delete(keys.task(task_id))
    gone = post(client, SYNC, body, "then-sync")
    assert gone.status_code == 404 and "no longer kept" in gone.get_json()["error"], gone.text


def _race(base_url: str, path: str, body: dict, key: str, n: int) -> list[requests.Response]:
    """``n`` requests at once, each on its own connection, released together."""
    start = threading.Barrier(n)
    answers: list[requests.Response | None] = [None] * n

    def one(i: int) -> None:
        with requests.Session() as session:
            headers = {"Authorization": f"Bearer {ALICE}", "Idempotency-Key": key}
            start.wait()
            answers[i] = session.post(base_url + path, json=body, headers=headers, timeout=60)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [a for a in answers if a is not None]


def test_concurrent_duplicates_create_one_task(cluster, api):
    r = redis.Redis.from_url(cluster.redis_url, decode_responses=True)
    before = r.zcard(keys.owner_tasks("alice"))
    body = {"task": "Xyzzy the plugh"}  # not understood: it fails at once
    answers = _race(cluster.base_url, ASYNC, body, "race-async", 20)
    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers]
    task_ids = {a.json()["task_id"] for a in answers}
    assert len(task_ids) == 1, task_ids
    assert sum(REPLAYED not in a.headers for a in answers) == 1  # the one that created it
    assert r.zcard(keys.owner_tasks("alice")) == before + 1  # one task stored, no more
    assert api.wait(task_ids.pop())["status"] == "failed"


def test_concurrent_sync_duplicates_wait_for_the_one_task(cluster, sites):
    body = {"task": f"Open {sites}/index.html. Wait 1 seconds."}
    answers = _race(cluster.base_url, SYNC, body, "race-sync", 3)
    assert [a.status_code for a in answers] == [200] * 3, [a.text for a in answers]
    results = [a.json() for a in answers]
    assert len({r["task_id"] for r in results}) == 1, results
    assert all(r["success"] is True and r["status"] == "completed" for r in results), results
    assert sorted(a.headers.get(REPLAYED, "") for a in answers) == ["", "true", "true"]
    # Finished: the same key and body again answers the result at once.
    again = _race(cluster.base_url, SYNC, body, "race-sync", 1)[0]
    assert again.status_code == 200 and again.headers[REPLAYED] == "true"
    assert again.json()["task_id"] == results[0]["task_id"]
