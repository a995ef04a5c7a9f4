"""The operators' API (/api/v1/admin) on the gateway's app (create_app) and a real
Redis: admin keys only, the nodes as the registry has them, drain through the registry,
forgetting a retired node (and ``browsing nodes forget``), queue depths from the fair
scheduler's wait sets, and the failures recorded by the record scripts. No scheduler
runs: submitted tasks stay waiting."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
import redis

from shared.apikeys import KeyStore
from shared.registry import NodeRegistry
from tests.conftest import ALICE, BOB, bearer

OPS = "ops-admin-key-5b2e7c91d0"
ADMIN_PATHS = [
    ("get", "/api/v1/admin/nodes"),
    ("post", "/api/v1/admin/nodes/de-01/drain"),
    ("post", "/api/v1/admin/nodes/de-01/undrain"),
    ("delete", "/api/v1/admin/nodes/de-01"),
    ("get", "/api/v1/admin/queues"),
    ("get", "/api/v1/admin/failures"),
]


@pytest.fixture(scope="module")
def app(gateway_env: dict[str, str]):  # noqa: ANN201 - a Flask app
    from gateway import create_app
    from shared.config import load_settings

    env = {
        **gateway_env,
        "BROWSING_API_KEYS": f"alice:{ALICE},bob:{BOB},ops:{OPS}",
        "BROWSING_ADMIN_USERS": "ops",
    }
    return create_app(load_settings(env))


@pytest.fixture()
def r(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


@pytest.fixture()
def registry(r: redis.Redis) -> NodeRegistry:
    reg = NodeRegistry(r)
    now_ms = int(time.time() * 1000)
    for uid, country in (("de-01", "DE"), ("us-01", "US")):
        reg.register(
            uid=uid,
            country=country,
            queue=f"node.{uid}",
            capacity=3,
            version="test",
            hostname="host-" + uid,
            now_ms=now_ms,
        )
        reg.browser_up(uid, 4242)
        reg.set_drained(uid, False)
    return reg


@pytest.mark.parametrize(("method", "path"), ADMIN_PATHS)
def test_a_plain_key_is_refused_403_and_no_key_401(client, registry, method, path):
    resp = getattr(client, method)(path, headers=bearer(ALICE))
    assert resp.status_code == 403, resp.get_data(as_text=True)
    assert "not an admin key" in resp.get_json()["error"]
    assert registry.get("de-01").drained is False  # nothing done
    assert getattr(client, method)(path).status_code == 401


def test_an_admin_sees_the_nodes_with_their_state(client, registry):
    resp = client.get("/api/v1/admin/nodes", headers=bearer(OPS))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    nodes = {n["uid"]: n for n in resp.get_json()["nodes"]}
    assert {"de-01", "us-01"} <= set(nodes)
    de = nodes["de-01"]
    assert (de["country"], de["capacity"], de["active"]) == ("DE", 3, 0)
    assert de["state"] == "eligible" and de["drained"] is False
    assert de["last_heartbeat"].endswith("Z") and de["hostname"] == "host-de-01"


def test_drain_and_undrain_go_through_the_registry(client, registry):
    resp = client.post("/api/v1/admin/nodes/de-01/drain", headers=bearer(OPS))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["state"] == "drained"
    node = registry.get("de-01")
    assert node.drained and not node.eligible
    listed = client.get("/api/v1/admin/nodes", headers=bearer(OPS)).get_json()["nodes"]
    assert {n["uid"]: n["state"] for n in listed}["de-01"] == "drained"

    resp = client.post("/api/v1/admin/nodes/de-01/undrain", headers=bearer(OPS))
    assert resp.get_json()["state"] == "eligible"
    assert registry.get("de-01").eligible


def test_a_drained_node_with_tasks_on_it_is_draining(client, registry, r):
    r.sadd("browsing:node:us-01:attempts", "web:" + "0" * 32 + "|1")
    try:
        body = client.post("/api/v1/admin/nodes/us-01/drain", headers=bearer(OPS)).get_json()
        assert (body["state"], body["active"]) == ("draining", 1)
    finally:
        r.delete("browsing:node:us-01:attempts")
        registry.set_drained("us-01", False)


def test_draining_an_unknown_node_is_404(client, registry):
    resp = client.post("/api/v1/admin/nodes/nowhere-9/drain", headers=bearer(OPS))
    assert resp.status_code == 404
    assert "no node 'nowhere-9'" in resp.get_json()["error"]


def _register_dead(registry: NodeRegistry, uid: str, *, silent_s: float = 60) -> None:
    """A node whose last heartbeat was ``silent_s`` ago (the test settings' nodes are dead
    after 10 s), that had a browser up."""
    then_ms = int((time.time() - silent_s) * 1000)
    registry.register(
        uid=uid, country="FR", queue=f"node.{uid}", capacity=2, version="test",
        hostname="gone", now_ms=then_ms,
    )  # fmt: skip
    registry.browser_up(uid, 4343)


def test_a_dead_node_is_forgotten_and_a_live_or_busy_one_is_not(client, registry, r):
    uid = f"fr-{uuid.uuid4().hex[:8]}"
    _register_dead(registry, uid)
    listed = client.get("/api/v1/admin/nodes", headers=bearer(OPS)).get_json()["nodes"]
    assert {n["uid"]: n["state"] for n in listed}[uid] == "dead"

    # Attempts still on it (the scheduler has not recovered them yet): 409, nothing done.
    r.sadd(f"browsing:node:{uid}:attempts", "web:" + "1" * 32 + "|1")
    busy = client.delete(f"/api/v1/admin/nodes/{uid}", headers=bearer(OPS))
    assert busy.status_code == 409, busy.get_data(as_text=True)
    assert "still has 1 attempts" in busy.get_json()["error"]
    assert registry.get(uid) is not None
    r.delete(f"browsing:node:{uid}:attempts")

    gone = client.delete(f"/api/v1/admin/nodes/{uid}", headers=bearer(OPS))
    assert gone.status_code == 204, gone.get_data(as_text=True)
    listed = client.get("/api/v1/admin/nodes", headers=bearer(OPS)).get_json()["nodes"]
    assert uid not in {n["uid"] for n in listed}
    assert not r.sismember("browsing:nodes", uid)
    assert not r.exists(f"browsing:node:{uid}", f"browsing:node:{uid}:browsers")
    # A forgotten node that is still running is told to register again by its heartbeat.
    assert registry.heartbeat(uid, now_ms=int(time.time() * 1000)) is False

    again = client.delete(f"/api/v1/admin/nodes/{uid}", headers=bearer(OPS))
    assert again.status_code == 404
    assert f"no node '{uid}' is registered" in again.get_json()["error"]

    # A live node (a fresh heartbeat) stays, however it is asked.
    alive = client.delete("/api/v1/admin/nodes/de-01", headers=bearer(OPS))
    assert alive.status_code == 409
    assert "is alive" in alive.get_json()["error"] and "stop it first" in alive.get_json()["error"]
    assert registry.get("de-01") is not None


def test_browsing_nodes_forget_through_redis(registry, redis_url, r):
    uid = f"fr-{uuid.uuid4().hex[:8]}"
    _register_dead(registry, uid)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BROWSING_")}

    def nodes(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "browsing.cli", "nodes", *args],
            env={**clean, "BROWSING_REDIS_URL": redis_url},
            capture_output=True,
            text=True,
            timeout=60,
        )

    live = nodes("forget", "de-01")
    assert live.returncode == 2 and "'de-01' is alive" in live.stderr, live.stderr
    done = nodes("forget", uid)
    assert (done.returncode, done.stdout.strip()) == (0, f"{uid}: forgotten"), done.stderr
    assert uid not in nodes().stdout and not r.sismember("browsing:nodes", uid)
    missing = nodes("forget", uid)
    assert (missing.returncode, missing.stderr.strip()) == (1, f"no node {uid}")


def test_created_keys_are_admin_only_when_made_so(client, r):
    store = KeyStore(r)
    plain, admin = store.create("carol"), store.create("dora", admin=True)
    assert client.get("/api/v1/admin/nodes", headers=bearer(plain)).status_code == 403
    assert client.get("/api/v1/admin/nodes", headers=bearer(admin)).status_code == 200
    assert client.get("/api/v1/browsing/me", headers=bearer(admin)).get_json() == {
        "user": "dora",
        "admin": True,
    }
    assert client.get("/api/v1/browsing/me", headers=bearer(plain)).get_json() == {
        "user": "carol",
        "admin": False,
    }
    store.revoke(admin.split("_")[1])
    assert client.get("/api/v1/admin/nodes", headers=bearer(admin)).status_code == 401
    assert not r.sismember("browsing:apikeys:admin", admin.split("_")[1])


def test_queue_depths_by_country_and_by_user(client, registry):
    def submit(key: str, body: dict) -> str:
        resp = client.post("/api/v1/browsing/async", json=body, headers=bearer(key))
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp.get_json()["task_id"]

    before = client.get("/api/v1/admin/queues", headers=bearer(OPS)).get_json()
    ids = [submit(ALICE, {"task": "Open a page", "filter": {"country_iso": "FR"}})]
    ids += [submit(ALICE, {"task": "Open a page"}), submit(BOB, {"task": "Open a page"})]
    body = client.get("/api/v1/admin/queues", headers=bearer(OPS)).get_json()
    places = {p["where"]: p["waiting"] for p in body["places"]}
    was = {p["where"]: p["waiting"] for p in before["places"]}
    assert places["FR"] == was.get("FR", 0) + 1  # no FR node: found by its wait set
    assert places["any"] == was.get("any", 0) + 2
    assert {"DE", "US", "node"} <= set(places)
    users = {u["user"]: u for u in body["users"]}
    assert users["alice"]["waiting"] >= 2 and users["bob"]["waiting"] >= 1
    assert body["waiting"] == sum(places.values())
    for task_id in ids:
        client.post(f"/api/v1/browsing/cancel?task_id={task_id}", headers=bearer(ALICE))
        client.post(f"/api/v1/browsing/cancel?task_id={task_id}", headers=bearer(BOB))


def test_recent_failures_across_users_newest_first(client):
    made = []
    for key in (ALICE, BOB):
        resp = client.post("/api/v1/browsing/async", json={"task": "x y"}, headers=bearer(key))
        task_id = resp.get_json()["task_id"]
        assert (
            client.post(
                f"/api/v1/browsing/cancel?task_id={task_id}", headers=bearer(key)
            ).status_code
            == 200
        )
        made.append(task_id)
        time.sleep(0.01)
    resp = client.get("/api/v1/admin/failures?limit=2", headers=bearer(OPS))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    failures = resp.get_json()["failures"]
    assert [f["task_id"] for f in failures] == made[::-1]
    assert [f["owner"] for f in failures] == ["bob", "alice"]
    assert failures[0]["error"] == "cancelled" and failures[0]["failed_at"].endswith("Z")
    assert failures[0]["node_uid"] is None


@pytest.mark.parametrize("limit", ["0", "201", "x", "-1"])
def test_a_bad_failures_limit_is_400(client, limit):
    resp = client.get(f"/api/v1/admin/failures?limit={limit}", headers=bearer(OPS))
    assert resp.status_code == 400
    assert "limit must be a whole number from 1 to 200" in resp.get_json()["error"]
