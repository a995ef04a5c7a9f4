"""GET /api/v1/browsing/tasks: a user's own tasks, newest first, a page at a time.

On the gateway's Flask app against a real Redis (no task needs to run: a task is failed
through the store where a test needs a finished one), then the Python client and the CLI
against the cluster's gateway.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest
import redis

from browsing.cli.listing import STATUSES
from browsing.client import BrowsingClient, ClientError
from shared import keys
from shared.records import NewTask, TaskStore
from shared.request import TaskRequest
from tests.conftest import ALICE, BOB, bearer

ASYNC = "/api/v1/browsing/async"
TASKS = "/api/v1/browsing/tasks"


def submit(client, task: str, key: str = BOB) -> str:  # noqa: ANN001 - Flask's client
    resp = client.post(ASYNC, json={"task": task}, headers=bearer(key))
    assert resp.status_code == 200, resp.text
    return resp.get_json()["task_id"]


def page(client, key: str = BOB, **query: object) -> dict:  # noqa: ANN001 - Flask's client
    resp = client.get(TASKS, query_string=query, headers=bearer(key))
    assert resp.status_code == 200, resp.text
    body = resp.get_json()
    assert set(body) == {"tasks", "next_cursor"}
    return body


def store(redis_url: str, **kw: int) -> TaskStore:
    return TaskStore(redis.Redis.from_url(redis_url, decode_responses=True), record_ttl_s=60, **kw)


@pytest.fixture()
def clean(redis_url: str) -> None:
    redis.Redis.from_url(redis_url).flushdb()


def test_pages_stay_stable_while_tasks_arrive(client, clean):
    older = [submit(client, f"Open https://example.com/{i}") for i in range(25)]
    seen: list[str] = []
    newer: list[str] = []
    cursor = None
    pages = 0
    while True:
        body = page(client, limit=10, **({"cursor": cursor} if cursor else {}))
        seen += [item["task_id"] for item in body["tasks"]]
        pages += 1
        # Tasks created between two page fetches belong before the first page.
        newer += [submit(client, f"Open https://example.net/{pages}-{i}") for i in range(4)]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and "web:" not in cursor  # opaque
    assert seen == older[::-1]  # newest first, none twice, none missing
    assert pages == 3
    first = page(client, limit=100)["tasks"]
    assert [item["task_id"] for item in first] == (older + newer)[::-1]


def test_items_are_status_bodies_with_the_instruction(client, redis_url, clean):
    queued = submit(client, "Open https://example.com and summarize the page")
    failed = submit(client, "Open https://example.org")
    assert store(redis_url).fail(failed, "cancelled")
    items = {item["task_id"]: item for item in page(client)["tasks"]}
    assert items[queued]["task"] == "Open https://example.com and summarize the page"
    assert items[queued]["status"] == "queued" and items[queued]["created_at"].endswith("Z")
    assert items[queued]["info"]["fanout"] == {"requested": 1, "actual": 0}
    assert items[failed]["status"] == "failed" and items[failed]["error"] == "cancelled"
    assert items[failed]["success"] is False and items[failed]["finished_at"]
    only_failed = page(client, status="failed")["tasks"]
    assert [item["task_id"] for item in only_failed] == [failed]
    both = page(client, status="queued,failed")["tasks"]
    assert [item["task_id"] for item in both] == [failed, queued]
    assert page(client, status="running") == {"tasks": [], "next_cursor": None}


def test_a_status_filter_pages_through_its_matches(client, redis_url, clean):
    ids = [submit(client, f"Open https://example.com/{i}") for i in range(11)]
    failed = ids[1::2]  # every other task: 5, on pages of 2, 2 and 1
    for task_id in failed:
        assert store(redis_url).fail(task_id, "cancelled")
    first = page(client, status="failed", limit=2)
    second = page(client, status="failed", limit=2, cursor=first["next_cursor"])
    third = page(client, status="failed", limit=2, cursor=second["next_cursor"])
    got = [i["task_id"] for p in (first, second, third) for i in p["tasks"]]
    assert got == failed[::-1]
    assert [len(p["tasks"]) for p in (first, second, third)] == [2, 2, 1]
    assert third["next_cursor"] is None


def test_bad_limit_cursor_and_status_are_400(client, clean):
    submit(client, "Open https://example.com")
    for query, fragment in (
        ({"limit": "0"}, "from 1 to 100"),
        ({"limit": "101"}, "from 1 to 100"),
        ({"limit": "-1"}, "from 1 to 100"),
        ({"limit": "ten"}, "invalid limit 'ten'"),
        ({"limit": "1e2"}, "invalid limit"),
        ({"cursor": "not-a-cursor"}, "invalid cursor"),
        ({"cursor": "web:" + "0" * 32}, "invalid cursor"),
        ({"cursor": "x" * 500}, "invalid cursor"),
        ({"status": "done"}, "invalid status 'done': one of queued, assigned, running"),
        ({"status": "queued,"}, "invalid status ''"),
    ):
        resp = client.get(TASKS, query_string=query, headers=bearer(BOB))
        assert resp.status_code == 400, (query, resp.text)
        assert fragment in resp.get_json()["error"], (query, resp.get_json())
    assert len(page(client, limit="100")["tasks"]) == 1
    assert len(page(client, limit="1")["tasks"]) == 1


def test_limit_defaults_to_20_and_caps_a_page(client, clean):
    ids = [submit(client, f"Open https://example.com/{i}") for i in range(21)]
    body = page(client)
    assert [item["task_id"] for item in body["tasks"]] == ids[::-1][:20]
    rest = page(client, cursor=body["next_cursor"])
    assert [item["task_id"] for item in rest["tasks"]] == [ids[0]]
    assert rest["next_cursor"] is None


def test_each_user_sees_only_their_own_tasks(client, clean):
    bobs = submit(client, "Open https://example.com", key=BOB)
    alices = submit(client, "Open https://example.org", key=ALICE)
    assert [i["task_id"] for i in page(client, key=BOB)["tasks"]] == [bobs]
    assert [i["task_id"] for i in page(client, key=ALICE)["tasks"]] == [alices]
    # Alice's cursor does not open bob's list to her: a cursor is a position, the list
    # is always the caller's own.
    submit(client, "Open https://example.org/2", key=ALICE)
    cursor = page(client, key=ALICE, limit=1)["next_cursor"]
    assert [i["task_id"] for i in page(client, key=BOB, cursor=cursor)["tasks"]] == [bobs]
    resp = client.get(TASKS)
    assert resp.status_code == 401 and "missing API key" in resp.get_json()["error"]
    resp = client.get(TASKS, headers=bearer("not-a-key"))
    assert resp.status_code == 401


def test_expired_records_are_dropped_and_the_list_is_bounded(client, redis_url, clean):
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    kept, expired = (submit(client, f"Open https://example.com/{i}") for i in range(2))
    r.delete(keys.task(expired))  # as Redis expires a finished record
    assert [i["task_id"] for i in page(client)["tasks"]] == [kept]
    assert r.zscore(keys.owner_tasks("bob"), expired) is None  # trimmed on the way
    # A user's list keeps the newest task_list_max tasks, and expires after the records.
    small = store(redis_url, task_list_max=3)
    request = TaskRequest(task="x", timeout_ms=1000)
    tasks = [NewTask.of(f"web:{i:032x}", owner="dora", request=request) for i in range(5)]
    assert small.create_many(tasks) == [None] * 5
    listed = r.zrevrange(keys.owner_tasks("dora"), 0, -1)
    assert listed == [t.task_id for t in tasks[::-1][:3]]
    assert 60 < r.ttl(keys.owner_tasks("dora")) <= 60 + 86_400


def test_the_client_and_the_cli_list_tasks(cluster, tmp_path):
    client = BrowsingClient(cluster.base_url, BOB)
    first = client.submit("Xyzzy the plugh", idempotency_key="cli-list-1")
    assert client.submit("Xyzzy the plugh", idempotency_key="cli-list-1") == first
    with pytest.raises(ClientError) as refused:
        client.submit("Xyzzy the plugh again", idempotency_key="cli-list-1")
    assert refused.value.status == 422
    second = client.submit("Xyzzy the plugh, second")
    top = client.list_tasks(limit=1)
    assert [i["task_id"] for i in top["tasks"]] == [second] and top["next_cursor"]
    assert [i["task_id"] for i in client.list_tasks(cursor=top["next_cursor"])["tasks"]][:1] == [
        first
    ]
    everything = [i["task_id"] for i in client.iter_tasks(page_size=1)]
    assert everything[:2] == [second, first] and len(set(everything)) == len(everything)
    with pytest.raises(ClientError) as bad:
        client.list_tasks(limit=500)
    assert bad.value.status == 400 and "from 1 to 100" in bad.value.message

    env = {"BROWSING_URL": cluster.base_url, "BROWSING_API_KEY": BOB, "PATH": "/usr/bin:/bin"}
    argv = [sys.executable, "-m", "browsing.cli", "tasks", "list"]

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*argv, *args], env=env, capture_output=True, text=True, timeout=60)

    out = cli("--limit", "1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(second) and "Xyzzy the plugh, second" in out.stdout
    # The next page's command keeps the page size (and a status filter, below): a
    # cursor holds only where the page ended.
    more = out.stderr.split("more: ", 1)[1].strip()
    assert more.startswith("browsing tasks list --limit 1 --cursor "), more
    out = cli(*shlex.split(more)[3:], "--json")
    assert out.returncode == 0, out.stderr
    assert [i["task_id"] for i in json.loads(out.stdout)["tasks"]] == [first]
    every = [arg for status in STATUSES for arg in ("--status", status)]  # bob's tasks, all
    out = cli(*every, "--limit", "1")
    more = out.stderr.split("more: ", 1)[1].strip()
    assert more.startswith(f"browsing tasks list {' '.join(every)} --limit 1 --cursor "), more
    # `browsing run --idempotency-key`: run again, the same task.
    run = [sys.executable, "-m", "browsing.cli", "run", "Xyzzy the third", "--json"]
    runs = [
        subprocess.run(
            [*run, "--idempotency-key", "cli-run-1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [1, 1], [r.stderr for r in runs]  # it fails
    assert len({json.loads(r.stdout)["task_id"] for r in runs}) == 1
    out = cli("--limit", "0")
    assert out.returncode == 2 and "from 1 to 100" in out.stderr and "(HTTP 400)" in out.stderr
