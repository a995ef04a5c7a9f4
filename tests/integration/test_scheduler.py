"""The scheduler with real worker processes: fanout races, affinity, drain, cancellation,
deadlines, dead nodes and restarts.

Its own cluster: in DE one fast node and two slow ones (their browsers go through a proxy
that delays every request); in FR one node whose proxy is down and one fast node.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from browsing.cluster import LocalCluster, free_port
from shared import keys
from shared.records import Placement, TaskStore
from shared.registry import NodeRegistry
from shared.request import TaskRequest
from tests.conftest import ALICE, BOB, Api, allow, attempts_ended, poll, running
from tests.support.slow_proxy import slow_proxy

# The slow nodes wait this long on every request; this VM is noisy, so keep a wide margin.
SLOW_S = 5.0
SYNC = "/api/v1/browsing/sync"
OPS = "ops-admin-key-4c1d9e02b7"


@pytest.fixture(scope="module")
def racing(tmp_path_factory, sites: str) -> Iterator[LocalCluster]:
    with slow_proxy(SLOW_S) as proxy:
        slow = {"BROWSING_NODE_PROXY": proxy, "BROWSING_NODE_PROXY_BYPASS": "<-loopback>"}
        broken = {
            "BROWSING_NODE_PROXY": f"http://127.0.0.1:{free_port()}",
            "BROWSING_NODE_PROXY_BYPASS": "<-loopback>",
        }
        cluster = LocalCluster(
            node_queues=("node.de.01", "node.de.02", "node.de.03", "node.fr.01", "node.fr.02"),
            port=free_port(),
            node_concurrency=1,  # five nodes on two cores: one browser each
            workdir=tmp_path_factory.mktemp("racing"),
            reuse_services=False,
            env_overrides={
                "BROWSING_API_KEYS": f"alice:{ALICE},bob:{BOB},ops:{OPS}",
                "BROWSING_ADMIN_USERS": "ops",
                "BROWSING_NODE_HEARTBEAT_INTERVAL_S": "0.5",
                "BROWSING_NODE_DEAD_AFTER_S": "3",
                "BROWSING_REAPER_GRACE_S": "1",
                "BROWSING_STALE_QUEUED_AFTER_S": "5",
                "BROWSING_GATEWAY_WORKERS": "1",
                "BROWSING_SYNC_TIMEOUT_S": "300",
                "BROWSING_EGRESS_ALLOW": allow(sites),
            },
            node_env={"node.de.02": slow, "node.de.03": slow, "node.fr.01": broken},
        )
        with running(cluster):
            yield cluster


@pytest.fixture()
def alice(racing) -> Api:
    return Api(racing.base_url, ALICE)


@pytest.fixture()
def r(racing) -> redis.Redis:
    return redis.Redis.from_url(racing.redis_url, decode_responses=True)


def sync(api: Api, body: dict) -> dict:
    resp = api.post(SYNC, body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def wait_for_status(api: Api, task_id: str, wanted: str, timeout_s: float = 10) -> str:
    deadline = time.monotonic() + timeout_s
    while (status := api.status(task_id)["status"]) != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
    return status


def outcomes(result: dict) -> dict[str, str]:
    return {a["node_uid"]: a["outcome"] for a in result["info"]["attempts"]}


def browsing_cli(cluster: LocalCluster, *args: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "browsing.cli", *args],
        env=env or cluster.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def without_redis(cluster: LocalCluster, api_key: str) -> dict[str, str]:
    """The environment of an operator who can reach the gateway but not Redis."""
    env = {k: v for k, v in cluster.env.items() if not k.startswith("BROWSING_")}
    return {
        **env,
        "BROWSING_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "BROWSING_API_KEY": api_key,
    }


def test_fanout_three_takes_the_fastest_node_and_stops_the_losers(alice, sites):
    start = time.monotonic()
    result = sync(
        alice,
        {
            "task": f"Open {sites}/index.html?slow=1 and return the title",
            "filter": {"country_iso": "DE"},
            "fanout": 3,
        },
    )
    elapsed = time.monotonic() - start
    assert result["success"] is True, result
    assert result["info"]["node_uid"] == "node.de.01"
    assert elapsed < SLOW_S, f"took {elapsed:.2f} s: the fast node's time, not the slow ones'"
    assert result["info"]["fanout"] == {"requested": 3, "actual": 3}
    assert sorted(outcomes(result).items()) == [
        ("node.de.01", "won"),
        ("node.de.02", "cancelled"),
        ("node.de.03", "cancelled"),
    ]
    # Each loser was running (stuck behind its slow proxy); its context closes within 1 s.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        losers = [
            a
            for a in alice.status(result["task_id"])["info"]["attempts"]
            if a["outcome"] == "cancelled"
        ]
        if all(a["stop_latency_ms"] is not None for a in losers):
            break
        time.sleep(0.1)
    assert all(a["started_at"] for a in losers)
    assert all(0 <= a["stop_latency_ms"] < 1000 for a in losers), [
        (a["node_uid"], a["stop_latency_ms"]) for a in losers
    ]
    assert "Agent Test Home" in json.loads(result["payload"])["result"]


def test_fanout_beyond_the_eligible_nodes_runs_on_all_and_says_so(alice, sites):
    result = sync(
        alice,
        {
            "task": f"Open {sites}/index.html and return the title",
            "filter": {"country_iso": "FR"},
            "fanout": 5,
        },
    )
    assert result["info"]["fanout"] == {"requested": 5, "actual": 2}


def test_a_failed_attempt_does_not_end_the_task_while_another_runs(alice, sites):
    # node.fr.01's proxy is down: its attempt fails at the first step, while node.fr.02's
    # is still waiting; the task must go on and take node.fr.02's result.
    result = sync(
        alice,
        {
            "task": f"Open {sites}/index.html. Wait 4 seconds. Return the title.",
            "filter": {"country_iso": "FR"},
            "fanout": 2,
        },
    )
    assert result["success"] is True, result
    assert outcomes(result) == {"node.fr.01": "failed", "node.fr.02": "won"}
    failed = next(a for a in result["info"]["attempts"] if a["outcome"] == "failed")
    assert failed["error"]


def test_the_task_fails_when_every_attempt_failed_with_each_error(alice, sites):
    result = sync(
        alice,
        {
            "task": f"Open {sites}/index.html and fly away",
            "filter": {"country_iso": "FR"},
            "fanout": 2,
        },
    )
    assert result["success"] is False
    assert result["error"].startswith("all 2 attempts failed: ")
    assert "node.fr.01: " in result["error"] and "node.fr.02: " in result["error"]
    assert set(outcomes(result).values()) == {"failed"}


def test_two_hundred_races_have_exactly_one_winner_each(alice, sites, r):
    # What is under test is one winner per race through the whole pipeline, under real
    # concurrency; the instruction needs no page load so 200 races fit in the suite's time.
    body = {"task": "Return the url", "fanout": 2}

    def race(_: int) -> dict:
        resp = requests.post(
            alice.url(SYNC), json=body, timeout=300, headers={"Authorization": f"Bearer {ALICE}"}
        )
        assert resp.status_code == 200, resp.text
        return alice.status(resp.json()["task_id"])

    with ThreadPoolExecutor(max_workers=200) as pool:  # 200 races in flight at once
        results = list(pool.map(race, range(200)))
    for result in results:
        assert result["status"] == "completed", result
        states = [a["outcome"] for a in result["info"]["attempts"]]
        assert states.count("won") == 1, states
        assert not {"assigned", "running"} & set(states), states
    for uid in ("node.de.01", "node.de.02", "node.de.03", "node.fr.01", "node.fr.02"):
        assert r.scard(keys.node_attempts(uid)) == 0
        assert r.scard(keys.node_attempts(uid)) == 0  # nothing in flight


def test_session_key_sticks_moves_when_drained_and_is_per_user(racing, alice, sites, r):
    body = {
        "task": f"Open {sites}/index.html and return the title",
        "session_key": "cart-42",
        "filter": {"country_iso": "FR"},
    }
    first = sync(alice, body)["info"]["node_uid"]
    assert all(sync(alice, body)["info"]["node_uid"] == first for _ in range(3))
    assert r.get(keys.affinity("alice", "cart-42")) == first
    assert r.get(keys.affinity("bob", "cart-42")) is None
    bob = Api(racing.base_url, BOB)
    sync(bob, body)
    assert r.get(keys.affinity("alice", "cart-42")) == first  # bob's key is his own
    assert r.ttl(keys.affinity("alice", "cart-42")) > 0

    assert "drained" in browsing_cli(racing, "nodes", "drain", first)
    try:
        assert "drained" in browsing_cli(racing, "nodes")
        moved = sync(alice, body)["info"]["node_uid"]
        assert moved != first
    finally:
        browsing_cli(racing, "nodes", "undrain", first)
    assert sync(alice, body)["info"]["node_uid"] == moved  # the affinity moved with it


def test_drained_node_takes_no_new_tasks(racing, alice, sites):
    browsing_cli(racing, "nodes", "drain", "node.fr.02")
    try:
        result = sync(
            alice, {"task": f"Open {sites}/index.html", "filter": {"node_uid": "node.fr.02"}}
        )
        assert result["success"] is False and "node_uid=node.fr.02" in result["error"]
    finally:
        browsing_cli(racing, "nodes", "undrain", "node.fr.02")


def test_an_operator_without_redis_drains_through_the_gateway(racing, alice, sites):
    # `browsing nodes --url` with an admin key: the operators' API, no Redis reached.
    ops = without_redis(racing, OPS)
    url = racing.base_url
    listed = browsing_cli(racing, "nodes", "--url", url, env=ops).splitlines()
    rows = {line.split()[0]: line.split() for line in listed[1:]}
    assert set(rows) == {"node.de.01", "node.de.02", "node.de.03", "node.fr.01", "node.fr.02"}
    assert rows["node.fr.02"][1:3] == ["FR", "1"] and rows["node.fr.02"][5] == "eligible"

    assert "drained" in browsing_cli(racing, "nodes", "--url", url, "drain", "node.fr.02", env=ops)
    try:
        drained = browsing_cli(racing, "nodes", "--url", url, env=ops)
        assert any(
            line.split()[0] == "node.fr.02" and "drained" in line.split()
            for line in drained.splitlines()
        )
        result = sync(
            alice, {"task": f"Open {sites}/index.html", "filter": {"node_uid": "node.fr.02"}}
        )
        assert result["success"] is False and "node_uid=node.fr.02" in result["error"]
    finally:
        browsing_cli(racing, "nodes", "undrain", "node.fr.02", "--url", url, env=ops)
    result = sync(alice, {"task": f"Open {sites}/index.html", "filter": {"node_uid": "node.fr.02"}})
    assert result["success"] is True, result

    # A plain key is refused with the API's reason; an unknown node is exit code 1.
    plain = subprocess.run(
        [sys.executable, "-m", "browsing.cli", "nodes", "--url", url],
        env=without_redis(racing, ALICE),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert plain.returncode == 2 and "not an admin key" in plain.stderr and not plain.stdout
    unknown = subprocess.run(
        [sys.executable, "-m", "browsing.cli", "nodes", "--url", url, "drain", "node.xx.09"],
        env=ops,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert unknown.returncode == 1 and "no node node.xx.09" in unknown.stderr
    assert (
        sync(alice, {"task": f"Open {sites}/index.html", "filter": {"node_uid": "node.fr.02"}})[
            "success"
        ]
        is True
    )


def test_cancel_stops_a_running_task_within_a_second(alice, sites):
    task_id = alice.submit(
        {
            "task": f"Open {sites}/index.html. Wait 20 seconds. Return the title.",
            "filter": {"node_uid": "node.de.01"},
        }
    )
    assert wait_for_status(alice, task_id, "running") == "running"
    time.sleep(0.5)  # the scenario: cancelled while the agent is well into its wait
    resp = alice.post(f"/api/v1/browsing/cancel?task_id={task_id}")
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "failed" and resp.json()["error"] == "cancelled"

    # The node reports the latency once its context is closed: at most a second later.
    def stopped() -> list[dict] | None:
        attempts = alice.status(task_id)["info"]["attempts"]
        return attempts if all(a["stop_latency_ms"] is not None for a in attempts) else None

    (attempt,) = poll(stopped, timeout_s=5, what="the stop latency")
    assert attempt["outcome"] == "cancelled" and 0 <= attempt["stop_latency_ms"] < 1000, attempt
    again = alice.post(f"/api/v1/browsing/cancel?task_id={task_id}")
    assert again.status_code == 409 and "already finished" in again.json()["error"]


def test_a_cancelled_assigned_attempt_never_starts(racing, alice, sites):
    """An attempt cancelled while its message waits in the node's queue: the node takes
    the message later and drops it unrun. The node's main process (its queue consumer) is
    stopped meanwhile, which holds the message in its queue: a running node takes an
    assigned attempt within milliseconds. Its heartbeat stops too, for well under the
    dead-node window (3 s)."""
    node = racing.procs["node.fr.02"]
    os.kill(node.pid, signal.SIGSTOP)
    try:
        task_id = alice.submit(
            {"task": f"Open {sites}/index.html", "filter": {"node_uid": "node.fr.02"}}
        )
        assert wait_for_status(alice, task_id, "assigned", timeout_s=2) == "assigned"
        assert alice.post(f"/api/v1/browsing/cancel?task_id={task_id}").status_code == 200
    finally:
        os.kill(node.pid, signal.SIGCONT)
    dropped = poll(
        lambda: attempts_ended(racing, "node.fr.02", task_id), 10, what="the node's drop"
    )
    assert dropped == ["dropped:finished"]
    (attempt,) = alice.status(task_id)["info"]["attempts"]
    assert attempt["outcome"] == "cancelled" and attempt["started_at"] is None


@pytest.mark.parametrize(
    ("step", "error"),
    [
        # Runs into the deadline: the task's timeout, counted from its creation, as the
        # scheduler's reaper words it; not the agent's own time, which starts later.
        ('Wait for "Nothing like this" to appear.', "timed out after 2000 ms"),
        # Gives up at once, since it could only end at the deadline: says so.
        ("Wait 10 seconds.", "timed out: cannot wait 10 s with "),
    ],
)
def test_the_node_stops_the_agent_at_the_deadline(alice, sites, step, error):
    start = time.monotonic()
    result = sync(
        alice,
        {
            "task": f"Open {sites}/index.html. {step}",
            "timeout": 2000,
            "filter": {"node_uid": "node.de.01"},
        },
    )
    assert result["success"] is False and result["error"].startswith(error), result
    (attempt,) = result["info"]["attempts"]
    assert attempt["outcome"] == "failed", attempt  # the node's report, not the reaper's
    assert time.monotonic() - start < 5


def test_the_reaper_fails_a_task_that_never_ran(alice, sites):
    hold = {
        "task": f"Open {sites}/index.html. Wait 5 seconds.",
        "filter": {"node_uid": "node.fr.02"},
    }
    busy = [alice.submit(hold)]
    assert wait_for_status(alice, busy[0], "running") == "running"
    start = time.monotonic()
    result = sync(
        alice,
        {"task": f"Open {sites}/index.html", "timeout": 1500, "filter": {"node_uid": "node.fr.02"}},
    )
    assert result["success"] is False
    assert result["error"] == "timed out after 1500 ms"
    assert time.monotonic() - start < 4.5  # deadline 1.5 s + grace 1 s + a reaper pass
    for task_id in busy:
        assert alice.wait(task_id, 20)["status"] == "completed"


def test_scheduler_restart_in_a_burst_loses_nothing(racing, alice, sites):
    body = {
        "task": f"Open {sites}/index.html and return the title",
        "filter": {"country_iso": "DE"},
    }
    before = [alice.submit(body) for _ in range(10)]
    racing.stop_process("scheduler", signal.SIGKILL)
    during = [alice.submit(body) for _ in range(10)]
    assert all(alice.status(t)["status"] == "queued" for t in during)
    racing.start_scheduler()
    for task_id in before + during:
        assert alice.wait(task_id, 60)["status"] == "completed"


def test_an_attempt_recorded_but_never_sent_still_runs(racing, alice, sites, r):
    # What a scheduler SIGKILLed between recording an attempt and publishing it leaves
    # behind: an assigned attempt with no message on its node queue.
    store = TaskStore(r, record_ttl_s=3600)
    task_id = f"web:{uuid.uuid4().hex}"
    request = TaskRequest(task=f"Open {sites}/index.html and return the title", timeout_ms=60_000)
    store.create(task_id, owner="alice", request=request)
    placement = Placement(
        node="node.de.01", queue="node.de.01", country="DE", celery_id=str(uuid.uuid4())
    )
    assert store.assign(task_id, [placement]) == 1
    body = alice.wait(task_id, 40)  # the racing cluster publishes what is 5 s stranded
    assert body["status"] == "completed", body
    assert "Agent Test Home" in json.loads(body["payload"])["result"]
    assert body["info"]["attempts"][0]["node_uid"] == "node.de.01"
    assert r.zcard(keys.UNPUBLISHED) == 0


def test_gateway_restart_loses_nothing(racing, alice, sites):
    body = {
        "task": f"Open {sites}/index.html. Wait 2 seconds. Return the title.",
        "filter": {"country_iso": "DE"},
    }
    ids = [alice.submit(body) for _ in range(4)]
    # Without this, gunicorn would wait its graceful_timeout (10 s) for the idle
    # keep-alive connections of the test's clients before it stops.
    Api.close_all()
    racing.stop_process("gateway")
    racing.start_gateway()
    for task_id in ids:
        result = Api(racing.base_url, ALICE).wait(task_id, 60)
        assert result["status"] == "completed" and "Agent Test Home" in result["payload"]


def test_a_killed_node_s_task_completes_on_another_node(racing, alice, sites, r):
    for queue in ("node.it.01", "node.it.02"):
        racing.start_node(queue)
    for queue in ("node.it.01", "node.it.02"):
        racing.wait_node_ready(queue)
    task_id = alice.submit(
        {
            "task": f"Open {sites}/index.html. Wait 4 seconds. Return the title.",
            "filter": {"country_iso": "IT"},
        }
    )
    assert wait_for_status(alice, task_id, "running") == "running"
    victim = alice.status(task_id)["info"]["attempts"][0]["node_uid"]
    racing.stop_process(victim, signal.SIGKILL)
    result = alice.wait(task_id, 30)
    assert result["status"] == "completed", result
    first, second = result["info"]["attempts"]
    assert first["node_uid"] == victim and first["outcome"] == "failed"
    assert first["error"] == f"node {victim} lost"
    assert second["replaces"] == 1 and second["outcome"] == "won"
    assert result["info"]["node_uid"] != victim

    # The victim comes back; the re-dispatched attempt is not run again.
    racing.start_node(victim)
    racing.wait_node_ready(victim)
    time.sleep(1)  # the scenario: time for the victim to run its old message, if it would
    again = alice.status(task_id)
    assert [a["outcome"] for a in again["info"]["attempts"]] == ["failed", "won"]

    # With no other node in the country, the attempt fails naming the lost node.
    other = "node.it.02" if victim == "node.it.01" else "node.it.01"
    racing.stop_process(other, signal.SIGKILL)
    registry = NodeRegistry(r)
    poll(lambda: not registry.get(other).ready, timeout_s=15, what=f"{other} declared dead")
    task_id = alice.submit(
        {"task": f"Open {sites}/index.html. Wait 4 seconds.", "filter": {"country_iso": "IT"}}
    )
    assert wait_for_status(alice, task_id, "running") == "running"
    racing.stop_process(victim, signal.SIGKILL)
    result = alice.wait(task_id, 30)
    assert result["status"] == "failed" and result["error"] == f"node {victim} lost", result
