"""Sessions' records and objects without a browser (issue 17, item 1): a session's lock
and index as the Lua scripts keep them, on a real Redis; the retention sweep of expired
states and the sessions endpoints' edges, on a moto S3 server and the gateway's app."""

from __future__ import annotations

import json
import time

import pytest
import redis

from shared import keys
from shared.config import load_settings
from shared.records import Placement, SessionAffinity, TaskStore
from shared.request import TaskRequest
from shared.sessionstate import SessionIndex, StateStorage, session_hash
from shared.storage import ScreenshotStorage
from tests.conftest import ALICE, BOB, bearer

DAY_S = 86_400


@pytest.fixture()
def store(redis_url: str) -> TaskStore:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    return TaskStore(client, record_ttl_s=3600)


def submit(store: TaskStore, task_id: str, owner: str = "alice", key: str = "shop") -> None:
    request = TaskRequest(task="Open x.test", timeout_ms=60_000, session_key=key)
    assert store.create(task_id, owner=owner, request=request) is None


def bind(store: TaskStore, task_id: str, owner: str = "alice", key: str = "shop") -> int:
    return store.assign(
        task_id,
        [Placement(node="n1", queue="n1", country="DE", celery_id=f"c-{task_id}")],
        affinity=SessionAffinity(owner, key, 60, one_at_a_time=True),
    )


def staged_note(store: TaskStore, task_id: str, key: str = "shop") -> dict:
    now = store.now_ms()
    return {
        "persist": True,
        "loaded": False,
        "object": f"browser-state/x/{task_id}.1.bin",
        "session_key": key,
        "saved_ms": now,
        "expires_ms": now + 7 * DAY_S * 1000,
        "size": 123,
    }


def test_a_sessions_second_task_is_bound_only_after_the_first_ended(store: TaskStore) -> None:
    index = SessionIndex(store.redis)
    submit(store, "web:a")
    submit(store, "web:b")
    submit(store, "web:c", owner="bob")  # bob's "shop" is another session
    assert bind(store, "web:a") == 1
    assert bind(store, "web:b") == -5  # the session's lock is held by web:a
    assert bind(store, "web:c", owner="bob") == 1
    assert store.redis.get(keys.session_lock("alice", session_hash("alice", "shop"))) == "web:a"

    assert store.claim("web:a", 1, "n1") == "ok"
    assert index.note("web:a", 1, "n1", staged_note(store, "web:a"))
    assert not index.note("web:a", 1, "other-node", {"object": "x"})  # fenced: not its attempt
    assert store.finish("web:a", 1, "n1", success=True, payload="{}") == "won"
    entry = index.get("alice", "shop", store.now_ms())
    assert entry is not None and entry.object_key == "browser-state/x/web:a.1.bin"
    assert entry.task_id == "web:a" and entry.size == 123
    assert index.get("bob", "shop", store.now_ms()) is None
    assert [e.session_key for e in index.list("alice", store.now_ms())] == ["shop"]
    assert bind(store, "web:b") == 1  # the lock was freed with the win


def test_a_session_forgotten_while_its_task_runs_stays_forgotten(store: TaskStore) -> None:
    """DELETE /sessions/{key} while a task of the session runs: that task's state, saved
    when it ends, does not bring the session back; a task created after the DELETE
    saves a new state as usual."""
    index = SessionIndex(store.redis)
    submit(store, "web:a")
    assert bind(store, "web:a") == 1
    assert store.claim("web:a", 1, "n1") == "ok"
    time.sleep(0.002)  # the DELETE comes after the task's creation, to the millisecond
    assert index.forget("alice", "shop", store.now_ms()) is None  # nothing saved yet
    assert index.note("web:a", 1, "n1", staged_note(store, "web:a"))
    assert store.finish("web:a", 1, "n1", success=True, payload="{}") == "won"
    assert index.get("alice", "shop", store.now_ms()) is None
    assert index.list("alice", store.now_ms()) == []

    time.sleep(0.002)
    submit(store, "web:b")
    assert bind(store, "web:b") == 1  # the lock was freed all the same
    assert store.claim("web:b", 1, "n1") == "ok"
    assert index.note("web:b", 1, "n1", staged_note(store, "web:b"))
    assert store.finish("web:b", 1, "n1", success=True, payload="{}") == "won"
    entry = index.get("alice", "shop", store.now_ms())
    assert entry is not None and entry.task_id == "web:b"


def test_a_failed_task_frees_the_lock_and_saves_nothing(store: TaskStore) -> None:
    index = SessionIndex(store.redis)
    submit(store, "web:a")
    submit(store, "web:b")
    assert bind(store, "web:a") == 1
    assert store.claim("web:a", 1, "n1") == "ok"
    assert index.note("web:a", 1, "n1", staged_note(store, "web:a"))
    assert store.finish("web:a", 1, "n1", success=False, error="boom") == "failed"
    assert index.get("alice", "shop", store.now_ms()) is None
    assert bind(store, "web:b") == 1


def test_an_expired_entry_is_neither_loaded_nor_listed(store: TaskStore) -> None:
    index = SessionIndex(store.redis)
    submit(store, "web:a")
    assert bind(store, "web:a") == 1
    assert store.claim("web:a", 1, "n1") == "ok"
    assert index.note("web:a", 1, "n1", staged_note(store, "web:a"))
    assert store.finish("web:a", 1, "n1", success=True, payload="{}") == "won"
    later = store.now_ms() + 8 * DAY_S * 1000
    assert index.get("alice", "shop", later) is None and index.list("alice", later) == []
    ttl_ms = store.redis.pttl(keys.sessions("alice"))
    assert 7 * DAY_S * 1000 - 60_000 < ttl_ms <= 7 * DAY_S * 1000


def test_the_scheduler_sweeps_expired_states_with_the_screenshots(
    s3_env, redis_url: str, request
) -> None:
    from scheduler.maintenance import Maintenance

    bucket = "r-" + request.node.name.replace("_", "-")[:40].lower()
    settings = load_settings(s3_env, redis_url=redis_url, s3_bucket=bucket)
    storage = ScreenshotStorage(settings)
    states = StateStorage(storage, settings.session_state_prefix, settings.session_state_ttl_s)
    state = states.object_key("alice", "shop", "web:a", 1)
    states.put(state, b"sealed")
    offset = {"s": 6 * DAY_S}
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    maintenance = Maintenance(
        store=TaskStore(client, record_ttl_s=60, clock=lambda: time.time() + offset["s"]),
        registry=None,  # type: ignore[arg-type] - sweeping reads no node
        settings=settings,
        dispatcher=None,  # type: ignore[arg-type] - nor dispatches
        interval_s=1,
        storage=storage,
    )

    def stored() -> list[str]:
        listing = storage.client.list_objects_v2(Bucket=bucket)
        return [o["Key"] for o in listing.get("Contents", ())]

    maintenance.sweep_screenshots()
    assert stored() == [state]  # 6 days old: within the 7 days
    offset["s"] = 8 * DAY_S + 3600
    maintenance.sweep_screenshots()
    assert stored() == []


def test_the_sessions_endpoints_are_per_user_and_check_the_key(client, app) -> None:
    services = app.extensions["browsing"]
    index = services.store.redis
    now = services.store.now_ms()
    entry = {
        "object": "browser-state/x/y.bin",
        "updated_ms": now,
        "expires_ms": now + 1000 * DAY_S,
        "size": 5,
        "task_id": "web:a",
    }
    index.delete(keys.sessions("alice"), keys.sessions("bob"))
    index.hset(keys.sessions("alice"), "a/b c", json.dumps(entry))
    index.hset(keys.sessions("alice"), "gone", json.dumps({**entry, "expires_ms": now - 1}))
    listed = client.get("/api/v1/browsing/sessions", headers=bearer(ALICE)).get_json()
    assert [s["session_key"] for s in listed["sessions"]] == ["a/b c"]
    assert listed["sessions"][0]["size"] == 5
    assert client.get("/api/v1/browsing/sessions", headers=bearer(BOB)).get_json() == {
        "sessions": []
    }
    assert client.get("/api/v1/browsing/sessions").status_code == 401
    # bob cannot forget alice's session; an expired one is unknown.
    assert (
        client.delete("/api/v1/browsing/sessions/a%2Fb%20c", headers=bearer(BOB)).status_code == 404
    )
    assert client.delete("/api/v1/browsing/sessions/gone", headers=bearer(ALICE)).status_code == 404
    too_long = client.delete("/api/v1/browsing/sessions/" + "k" * 257, headers=bearer(ALICE))
    assert too_long.status_code == 400 and "session_key" in too_long.get_json()["error"]
    gone = client.delete("/api/v1/browsing/sessions/a%2Fb%20c", headers=bearer(ALICE))
    assert gone.status_code == 204
    assert client.get("/api/v1/browsing/sessions", headers=bearer(ALICE)).get_json() == {
        "sessions": []
    }
