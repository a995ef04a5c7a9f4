"""Health checks and behaviour when Redis or S3 stops and comes back, against real servers.

Its own cluster (one node), because these tests stop its Redis and its S3 server.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator

import pytest
import redis

from browsing.cluster import LocalCluster, free_port
from nodes import scratch
from shared.registry import NodeRegistry
from tests.conftest import ALICE, Api, allow, attempts_ended, running

ASYNC = "/api/v1/browsing/async"
SYNC = "/api/v1/browsing/sync"


@pytest.fixture(scope="module")
def fragile(tmp_path_factory, sites: str) -> Iterator[LocalCluster]:
    cluster = LocalCluster(
        node_queues=("node.de.01",),
        port=free_port(),
        node_concurrency=1,
        workdir=tmp_path_factory.mktemp("fragile"),
        reuse_services=False,
        env_overrides={
            "BROWSING_API_KEYS": f"alice:{ALICE}",
            "BROWSING_NODE_HEARTBEAT_INTERVAL_S": "0.5",
            "BROWSING_GATEWAY_WORKERS": "1",
            "BROWSING_SYNC_TIMEOUT_S": "60",
            "BROWSING_EGRESS_ALLOW": allow(sites),
            # A hung S3 must cost seconds: 2 tries of 1 s to connect and 2 s to read.
            "BROWSING_S3_CONNECT_TIMEOUT_S": "1",
            "BROWSING_S3_READ_TIMEOUT_S": "2",
            "BROWSING_READINESS_TIMEOUT_S": "1",
        },
    )
    with running(cluster):
        yield cluster


@pytest.fixture()
def alice(fragile) -> Api:
    return Api(fragile.base_url, ALICE)


def until(check, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = check()
            if value:
                return value
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout_s} s")
        time.sleep(0.2)


def test_health_and_readiness_when_everything_is_up(alice):
    assert alice.get("/healthz").json() == {"status": "ok"}
    ready = alice.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"redis": "ok", "s3": "ok"}}


def test_redis_down_gives_503_json_and_the_gateway_recovers_alone(fragile, alice, sites):
    done = alice.post(SYNC, {"task": f"Open {sites}/index.html and return the title"})
    assert done.status_code == 200 and done.json()["status"] == "completed"
    known = done.json()["task_id"]

    fragile.stop_redis()
    try:
        down = time.monotonic()
        answers = (
            alice.post(ASYNC, {"task": f"Open {sites}/index.html"}),
            alice.post(SYNC, {"task": f"Open {sites}/index.html"}),
            alice.get("/api/v1/browsing/status", params={"task_id": known}),
        )
        print(f"Redis stopped: 3 requests answered 503 in {time.monotonic() - down:.2f} s")
        for resp in answers:
            assert resp.status_code == 503, resp.text
            assert resp.headers["Content-Type"] == "application/json"
            assert "unavailable" in resp.json()["error"]
            assert "Traceback" not in resp.text
        ready = alice.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {
            "error": "not ready: redis unavailable",
            "checks": {"redis": "unavailable", "s3": "ok"},
        }  # no host, port or exception text for an anonymous caller
        assert "127.0.0.1" not in ready.text and "Error" not in ready.text
        assert alice.get("/healthz").status_code == 200  # the process itself is fine
    finally:
        fragile.start_redis_again()

    # Nobody restarts the gateway, the scheduler or the node: they reconnect by themselves.
    back = time.monotonic()
    until(lambda: alice.get("/readyz").status_code == 200)
    print(f"Redis back: ready again after {time.monotonic() - back:.1f} s")
    assert alice.status(known)["status"] == "completed"  # Redis kept its data
    started = time.monotonic()
    task_id = until(lambda: alice.submit({"task": f"Open {sites}/index.html and return the title"}))
    body = alice.wait(task_id, 90)
    assert body["status"] == "completed", body
    assert "Agent Test Home" in json.loads(body["payload"])["result"]
    assert body["info"]["node_uid"] == "node.de.01"
    assert time.monotonic() - started < 90


def test_redis_back_without_its_data_the_node_registers_again(fragile, alice, sites):
    """A Redis without persistence comes back empty (its Lua scripts gone too): the node
    appears in the registry again, ready, within a few heartbeats, and takes tasks, with
    nothing restarted."""
    redis.Redis.from_url(fragile.redis_url).flushall()
    fragile.stop_redis()  # saves the empty data set, so it restarts empty
    fragile.start_redis_again()
    registry = NodeRegistry(redis.Redis.from_url(fragile.redis_url, decode_responses=True))

    def registered_and_ready():
        node = registry.get("node.de.01")
        return node if node is not None and node.ready else None

    node = until(registered_and_ready, 15)
    assert (node.country, node.queue, node.capacity) == ("DE", "node.de.01", 1)
    assert node.browsers == 1  # the pool's one process, whose browser is up
    task_id = until(lambda: alice.submit({"task": f"Open {sites}/index.html and return the title"}))
    body = alice.wait(task_id, 90)
    assert body["status"] == "completed", body
    assert "Agent Test Home" in json.loads(body["payload"])["result"]
    assert body["info"]["node_uid"] == "node.de.01"


def test_s3_down_during_a_task_keeps_the_result_and_says_the_screenshots_were_lost(
    fragile, alice, sites
):
    fragile.stop_process("s3")
    try:
        ready = alice.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["s3"].startswith("unavailable")
        started = time.monotonic()
        resp = alice.post(
            SYNC,
            {
                "task": f"Open {sites}/index.html and return the title",
                "screenshots": {"mode": "final_only"},
            },
        )
        elapsed = time.monotonic() - started
    finally:
        fragile.start_s3_again()
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "completed" and body["success"] is True
    payload = json.loads(body["payload"])
    assert "Agent Test Home" in payload["result"]
    assert payload["screenshots"] == []
    assert payload["screenshots_error"].startswith("screenshots lost:")
    assert elapsed < 45  # nothing hangs on the dead endpoint
    print(f"S3 stopped: the task kept its result, without screenshots, in {elapsed:.1f} s")
    until(lambda: alice.get("/readyz").status_code == 200)


def _screenshot_task(alice, sites) -> dict:
    resp = alice.post(
        SYNC,
        {
            "task": f"Open {sites}/index.html and return the title",
            "screenshots": {"mode": "final_only", "full_page": False},
        },
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_a_hung_s3_costs_seconds_not_minutes(fragile, alice, sites):
    """The S3 server frozen (SIGSTOP): it accepts connections and never answers."""
    done = _screenshot_task(alice, sites)
    url = json.loads(done["payload"])["screenshots"][0]["url"]
    s3 = fragile.procs["s3"]
    os.kill(s3.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        shot = alice.get(url, timeout=60)
        shot_s = time.monotonic() - started
        started = time.monotonic()
        ready = alice.get("/readyz", timeout=60)
        ready_s = time.monotonic() - started
        started = time.monotonic()
        hung = _screenshot_task(alice, sites)
        task_s = time.monotonic() - started
    finally:
        os.kill(s3.pid, signal.SIGCONT)
    print(
        f"S3 frozen: screenshot 503 in {shot_s:.1f} s, /readyz 503 in {ready_s:.1f} s, "
        f"task done without screenshots in {task_s:.1f} s"
    )
    assert shot.status_code == 503 and shot.json() == {
        "error": "the screenshot storage is unavailable; try again shortly"
    }
    assert shot_s < 12, shot_s  # 2 tries of 1 s + 2 s, with margin
    assert ready.status_code == 503 and ready.json()["checks"]["s3"] == "unavailable"
    assert ready_s < 4, ready_s
    assert hung["success"] is True, hung
    payload = json.loads(hung["payload"])
    assert "Agent Test Home" in payload["result"] and payload["screenshots"] == []
    assert payload["screenshots_error"].startswith("screenshots lost:")
    assert task_s < 30, task_s
    until(lambda: alice.get("/readyz").status_code == 200)
    assert alice.get(url).status_code == 200  # the store thawed: the old file is back


def test_an_s3_that_comes_back_empty_gets_its_bucket_and_rule_back(fragile, alice, sites):
    import boto3

    fragile.stop_process("s3")
    fragile.start_s3_again()  # moto keeps nothing: no bucket
    s3 = boto3.client(
        "s3",
        endpoint_url=fragile.env["BROWSING_S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local-secret",
    )
    assert "Buckets" not in s3.list_buckets() or not s3.list_buckets()["Buckets"]
    started = time.monotonic()
    done = _screenshot_task(alice, sites)
    print(
        f"S3 back empty: the next task stored its screenshot in {time.monotonic() - started:.1f} s"
    )
    payload = json.loads(done["payload"])
    assert "screenshots_error" not in payload, payload
    png = alice.get(payload["screenshots"][0]["url"])
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    rules = s3.get_bucket_lifecycle_configuration(Bucket="browsing-screenshots")["Rules"]
    assert {r["Filter"]["Prefix"]: r["Expiration"]["Days"] for r in rules} == {
        "screenshots/": 5,
        "browser-state/": 7,  # sessions' browser states: their TTL, in days
    }
    # Readiness checks the bucket, and makes it again if the store lost it.
    fragile.stop_process("s3")
    fragile.start_s3_again()
    assert alice.get("/readyz").status_code == 200
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["browsing-screenshots"]


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def _pool_processes(cluster: LocalCluster, queue: str) -> list[int]:
    """The node's Celery pool processes: its main process's children running Python."""
    main = cluster.procs[queue].pid
    python = os.readlink(f"/proc/{main}/exe")

    def runs_python(pid: int) -> bool:
        try:
            return os.readlink(f"/proc/{pid}/exe") == python
        except OSError:  # gone meanwhile
            return False

    return [pid for pid in _children(main) if runs_python(pid)]


def _orphaned_browsers(cluster: LocalCluster, queue: str) -> list[int]:
    """Chromium or driver processes that no live pool process owns."""
    from browsing.cluster import descendants

    main = cluster.procs[queue].pid
    owned = {p for pool in _pool_processes(cluster, queue) for p in (pool, *descendants(pool))}
    return [
        p for p in descendants(main) if p not in owned and p not in _pool_processes(cluster, queue)
    ]


def _running(alice, task_id: str) -> dict:
    return until(
        lambda: (
            (body := alice.status(task_id))["status"] == "running"
            and body["info"]["attempts"][-1]["started_at"]
            and body
        )
    )


def _first_attempt_failed(alice, task_id: str, timeout_s: float) -> dict:
    def failed() -> dict | None:
        attempt = alice.status(task_id)["info"]["attempts"][0]
        return attempt if attempt["outcome"] == "failed" else None

    return until(failed, timeout_s=timeout_s)


KILLS = 10


def test_a_killed_worker_process_moves_its_attempt_within_seconds(fragile, alice, sites):
    """The OOM killer's way: SIGKILL the pool process running the attempt, not the node,
    10 times in a row. Each task completes on its retry within 10 s of the kill, runs to
    an end once only, and no process is left behind."""
    timings = []
    killed_pids = []
    for _ in range(KILLS):
        task_id = alice.submit(
            {"task": f"Open {sites}/index.html. Wait 1 second. Return the title."}
        )
        _running(alice, task_id)
        (worker,) = _pool_processes(fragile, "node.de.01")
        # Its files (downloads directory, browser profile) are in its scratch tree.
        assert list(scratch.BASE.glob(f"{scratch.PREFIX}{worker}-*/playwright*"))
        os.kill(worker, signal.SIGKILL)
        killed = time.monotonic()
        killed_pids.append(worker)
        lost = _first_attempt_failed(alice, task_id, 10)
        detected_s = time.monotonic() - killed
        assert lost["error"] == "worker process lost (signal 9)"
        body = alice.wait(task_id, 10)
        done_s = time.monotonic() - killed
        assert body["status"] == "completed" and body["success"] is True, body
        assert done_s < 10, done_s
        assert body["info"]["attempts"][1]["replaces"] == 1
        assert [a["outcome"] for a in body["info"]["attempts"]] == ["failed", "won"]
        assert "Agent Test Home" in json.loads(body["payload"])["result"]
        # The killed attempt never ended; its retry ended once (a twice-run task would
        # log two lines, the loser's "fenced" or "lost").
        until(lambda: attempts_ended(fragile, "node.de.01", task_id), 5)  # noqa: B023
        assert attempts_ended(fragile, "node.de.01", task_id) == ["won"]
        timings.append((detected_s, done_s))
        print(f"kill {len(timings)}: failed after {detected_s:.1f} s, done after {done_s:.1f} s")
    print(
        f"{KILLS} worker kills: attempt failed after "
        + ", ".join(f"{d:.1f}" for d, _ in timings)
        + " s; task completed after "
        + ", ".join(f"{t:.1f}" for _, t in timings)
        + " s"
    )
    try:
        until(lambda: not _orphaned_browsers(fragile, "node.de.01"), timeout_s=15)
    except AssertionError:
        left = _orphaned_browsers(fragile, "node.de.01")
        raise AssertionError([open(f"/proc/{p}/stat").read()[:80] for p in left]) from None
    assert len(_pool_processes(fragile, "node.de.01")) == 1
    # The pool process started after each kill removed what the killed one left.
    left = [p for w in killed_pids for p in scratch.BASE.glob(f"{scratch.PREFIX}{w}-*")]
    assert not left, left


def test_a_node_restarted_at_once_recovers_its_previous_run_s_attempt(fragile, alice, sites):
    """A supervisor restarts a killed node under the same uid before the scheduler could
    see it dead: the new run reports what the old one left running."""
    task_id = alice.submit({"task": f"Open {sites}/index.html. Wait 3 seconds. Return the title."})
    _running(alice, task_id)
    fragile.stop_process("node.de.01", signal.SIGKILL)
    restarted = time.monotonic()
    fragile.start_node("node.de.01")
    lost = _first_attempt_failed(alice, task_id, 60)
    lost_s = time.monotonic() - restarted
    assert lost["error"] == "node node.de.01 restarted", lost
    assert lost_s < 30  # the node's start, not the 10 s dead window
    fragile.wait_node_ready("node.de.01", 60)
    body = alice.wait(task_id, 90)
    assert body["status"] == "completed" and body["success"] is True, body
    print(
        f"node killed and restarted at once: attempt failed {lost_s:.1f} s after the "
        f"restart began, task done after {time.monotonic() - restarted:.1f} s"
    )


def test_a_crashed_browser_fails_its_task_clearly_and_the_next_task_gets_a_fresh_one(
    fragile, alice, sites
):
    task_id = alice.submit({"task": f"Open {sites}/index.html. Wait 5 seconds. Return the title."})
    _running(alice, task_id)
    (worker,) = _pool_processes(fragile, "node.de.01")
    from browsing.cluster import descendants

    def parent(pid: int) -> int:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])

    def command(pid: int) -> bytes:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()

    # The browser process itself: Chromium whose parent (Playwright's driver) is not.
    browsers = [
        pid
        for pid in descendants(worker)
        if b"chromium" in command(pid) and b"chromium" not in command(parent(pid))
    ]
    assert len(browsers) == 1, browsers
    os.kill(browsers[0], signal.SIGKILL)
    killed = time.monotonic()
    body = alice.wait(task_id, 30)
    assert body["status"] == "failed", body
    assert body["error"] == (
        "the browser crashed during the task; the node starts a new one for the next"
    )
    assert time.monotonic() - killed < 10
    print(f"Chromium killed: the task failed clearly {time.monotonic() - killed:.1f} s later")
    assert _pool_processes(fragile, "node.de.01") == [worker]  # the process lived on
    after = alice.post(SYNC, {"task": f"Open {sites}/index.html and return the title"}).json()
    assert after["success"] is True and "Agent Test Home" in json.loads(after["payload"])["result"]
