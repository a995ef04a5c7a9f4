"""Sessions that remember (issue 17, item 1) on a real cluster: a task's browser state
kept per user and session_key, sealed in the bucket, loaded by the session's next task
on whichever node runs it; the session's tasks one at a time, in submit order.

One cluster for the module: node.de.01 and node.us.01 hold BROWSING_STATE_KEY,
node.fr.01 does not; two slots each, so that a session's tasks could run side by side
on one node if nothing kept them in line. The members site (tests/sites/members.py)
has a cookie banner (localStorage) and a login (an HttpOnly cookie).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import redis

from browsing.client import BrowsingClient, ClientError
from browsing.cluster import LocalCluster, free_port
from shared.config import load_settings
from shared.records import TaskStore
from shared.sessionstate import SessionIndex, session_hash
from shared.storage import ScreenshotStorage
from tests.conftest import ALICE, BOB, Api, allow, poll, running
from tests.sites.members import PASSWORD, USER, MembersSite, serve_members

STATE_KEY = "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="  # 32 bytes, base64
KEYED, OTHER, KEYLESS = "node.de.01", "node.us.01", "node.fr.01"
SESSIONS = "/api/v1/browsing/sessions"
PREFIX = "browser-state/"


@pytest.fixture(scope="module")
def members() -> Iterator[MembersSite]:
    with serve_members() as site:
        yield site


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, members: MembersSite, sites: str) -> Iterator[LocalCluster]:
    keyed = {"BROWSING_STATE_KEY": STATE_KEY}
    c = LocalCluster(
        node_queues=(KEYED, OTHER, KEYLESS),
        node_concurrency=2,
        port=free_port(),
        workdir=tmp_path_factory.mktemp("sessions"),
        reuse_services=False,
        env_overrides={
            "BROWSING_API_KEYS": f"alice:{ALICE},bob:{BOB}",
            "BROWSING_NODE_HEARTBEAT_INTERVAL_S": "0.5",
            "BROWSING_NODE_DEAD_AFTER_S": "4",
            "BROWSING_GATEWAY_WORKERS": "1",
            "BROWSING_SYNC_TIMEOUT_S": "60",
            "BROWSING_EGRESS_ALLOW": allow(members.base_url, sites),
            # The scheduler's too: with a key, a session's tasks run in line.
            **keyed,
        },
        # The keyless node cannot reach the members site: it cannot win a login race.
        node_env={
            KEYED: keyed,
            OTHER: keyed,
            KEYLESS: {"BROWSING_EGRESS_ALLOW": allow(sites), "BROWSING_STATE_KEY": ""},
        },
    )
    with running(c):
        yield c
    for log in c.workdir.glob("*.log") if c.workdir else ():
        assert STATE_KEY not in log.read_text(errors="replace"), f"{log.name} shows the key"


@pytest.fixture(scope="module")
def alice(cluster: LocalCluster) -> Api:
    return Api(cluster.base_url, ALICE)


@pytest.fixture(scope="module")
def bob(cluster: LocalCluster) -> Api:
    return Api(cluster.base_url, BOB)


@pytest.fixture(scope="module")
def storage(cluster: LocalCluster) -> ScreenshotStorage:
    return ScreenshotStorage(load_settings(cluster.env))


def run(api: Api, body: dict) -> dict:
    resp = api.post("/api/v1/browsing/sync", body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def result(body: dict) -> str:
    assert body["success"], body
    return json.loads(body["payload"])["result"]


def login_task(site: MembersSite) -> str:
    return (
        f"Open {site.base_url}/login. Accept the cookies. Type {USER!r} into 'Username'. "
        f"Type {PASSWORD!r} into 'Password'. Click 'Log in'. Return the text."
    )


def members_task(site: MembersSite) -> str:
    # The theme is read from IndexedDB asynchronously: a moment for it to show.
    return f"Open {site.base_url}/members. Wait 1 second. Return the text."


def state_objects(storage: ScreenshotStorage, owner: str = "", key: str = "") -> list[str]:
    prefix = PREFIX + (f"{session_hash(owner, key)}/" if owner else "")
    try:
        reply = storage.client.list_objects_v2(Bucket=storage.bucket, Prefix=prefix)
    except storage.client.exceptions.NoSuchBucket:  # nothing was ever stored
        return []
    return [o["Key"] for o in reply.get("Contents", ())]


@pytest.fixture(scope="module")
def logged_in(alice: Api, members: MembersSite) -> dict:
    """alice logs in on node.de.01 in session "shop"."""
    body = run(
        alice,
        {"task": login_task(members), "session_key": "shop", "filter": {"node_uid": KEYED}},
    )
    assert "Welcome back, Ada" in result(body)
    return body


def test_the_next_task_of_a_session_is_logged_in_on_the_other_node(
    alice: Api, members: MembersSite, logged_in: dict
) -> None:
    session = logged_in["info"]["session"]
    assert session["persist"] is True and session["saved"] is True
    assert session["loaded"] is False and session["expires_at"]
    # Without the session, the members page turns the browser away.
    fresh = run(alice, {"task": members_task(members), "filter": {"node_uid": OTHER}})
    assert "Please log in" in result(fresh) and fresh["info"]["session"] is None

    body = run(
        alice,
        {"task": members_task(members), "session_key": "shop", "filter": {"node_uid": OTHER}},
    )
    text = result(body)
    assert body["info"]["node_uid"] == OTHER
    assert "Welcome back, Ada" in text  # the cookie came along
    assert "Cookie choice remembered: yes" in text  # and localStorage
    assert "Theme: dark" in text  # and IndexedDB
    assert body["info"]["session"]["loaded"] is True
    assert body["info"]["session"]["saved"] is True


def test_another_user_with_the_same_key_does_not_get_in(
    alice: Api, bob: Api, members: MembersSite, logged_in: dict
) -> None:
    before = alice.get(SESSIONS).json()["sessions"]
    body = run(
        bob,
        {"task": members_task(members), "session_key": "shop", "filter": {"node_uid": OTHER}},
    )
    assert "Please log in" in result(body)
    assert body["info"]["session"]["loaded"] is False
    # bob's "shop" is a session of his own: alice's is left as it was.
    assert [s["session_key"] for s in bob.get(SESSIONS).json()["sessions"]] == ["shop"]
    assert alice.get(SESSIONS).json()["sessions"] == before


def test_the_stored_state_is_sealed(
    storage: ScreenshotStorage, members: MembersSite, logged_in: dict
) -> None:
    names = state_objects(storage, "alice", "shop")
    assert names, "alice's session has a stored state"
    assert all("shop" not in n and "alice" not in n for n in state_objects(storage))
    assert members.issued
    for name in names:
        data = storage.client.get_object(Bucket=storage.bucket, Key=name)["Body"].read()
        for token in members.issued:
            assert token.encode() not in data, "the cookie's value is stored in clear"
        assert b"cookie-consent" not in data and b"member" not in data


def test_a_session_opted_out_neither_loads_nor_saves(
    alice: Api, members: MembersSite, logged_in: dict
) -> None:
    before = {s["session_key"]: s for s in alice.get(SESSIONS).json()["sessions"]}
    body = run(
        alice,
        {
            "task": members_task(members),
            "session_key": "shop",
            "session_persist": False,
            "filter": {"node_uid": KEYED},
        },
    )
    assert "Please log in" in result(body)
    assert body["info"]["session"]["persist"] is False
    assert "session_persist" in body["info"]["session"]["reason"]
    after = {s["session_key"]: s for s in alice.get(SESSIONS).json()["sessions"]}
    assert after["shop"] == before["shop"]


def test_session_persist_must_be_a_boolean(alice: Api) -> None:
    resp = alice.post("/api/v1/browsing/async", {"task": "Open x.test", "session_persist": "no"})
    assert resp.status_code == 400
    assert "session_persist must be true or false" in resp.json()["error"]


def test_without_the_key_a_node_keeps_nothing_and_says_so(alice: Api, sites: str) -> None:
    body = run(
        alice,
        {
            "task": f"Open {sites}/index.html. Return the title.",
            "session_key": "keyless",
            "filter": {"node_uid": KEYLESS},
        },
    )
    assert body["success"] is True
    session = body["info"]["session"]
    assert session["persist"] is False and "BROWSING_STATE_KEY" in session["reason"]
    assert session["saved"] is False
    listed = [s["session_key"] for s in alice.get(SESSIONS).json()["sessions"]]
    assert "keyless" not in listed


def test_list_and_delete(
    alice: Api, bob: Api, members: MembersSite, storage: ScreenshotStorage, logged_in: dict
) -> None:
    listed = {s["session_key"]: s for s in alice.get(SESSIONS).json()["sessions"]}
    shop = listed["shop"]
    names = state_objects(storage, "alice", "shop")
    size = storage.client.head_object(Bucket=storage.bucket, Key=names[-1])["ContentLength"]
    assert shop["size"] == size
    assert shop["updated_at"] < shop["expires_at"]
    assert alice.session.delete(alice.url(f"{SESSIONS}/nope"), timeout=30).status_code == 404

    client = BrowsingClient(alice.base_url, ALICE)  # the Python client's way, as a user's
    assert "shop" in [s["session_key"] for s in client.sessions()]
    client.forget_session("shop")
    assert "shop" not in [s["session_key"] for s in alice.get(SESSIONS).json()["sessions"]]
    assert state_objects(storage, "alice", "shop") == []
    again = alice.session.delete(alice.url(f"{SESSIONS}/shop"), timeout=30)
    assert again.status_code == 404 and "no saved session" in again.json()["error"]
    with pytest.raises(ClientError) as caught:
        client.forget_session("shop")
    assert caught.value.status == 404
    assert "shop" in [s["session_key"] for s in bob.get(SESSIONS).json()["sessions"]]
    body = run(
        alice,
        {"task": members_task(members), "session_key": "shop", "filter": {"node_uid": KEYED}},
    )
    assert "Please log in" in result(body)
    assert body["info"]["session"]["loaded"] is False


def test_tasks_of_one_session_run_one_at_a_time_in_submit_order(
    cluster: LocalCluster, alice: Api, bob: Api, sites: str
) -> None:
    slow = {"task": f"Open {sites}/slow?ms=1500. Return the title.", "session_key": "line"}
    ids = [alice.submit(slow) for _ in range(3)]
    quick = {"task": f"Open {sites}/index.html. Return the title."}
    others = [alice.submit(quick), bob.submit(quick)]
    for task_id in ids + others[:1]:
        assert alice.wait(task_id, 90)["status"] == "completed"
    assert bob.wait(others[1], 90)["status"] == "completed"
    store = TaskStore(
        redis.Redis.from_url(cluster.redis_url, decode_responses=True), record_ttl_s=3600
    )
    records = [store.get(t) for t in ids]
    assert all(r is not None and len(r.attempts) == 1 for r in records)
    spans = [(r.attempts[0].started_ms, r.attempts[0].finished_ms) for r in records if r]
    for (_, finished), (started, _) in zip(spans, spans[1:], strict=False):
        assert started >= finished, f"a session's tasks overlapped: {spans}"
    # Her task without a session, and bob's, did not wait for the session's line.
    for task_id in others:
        plain = store.get(task_id)
        assert plain is not None and plain.finished_ms is not None
        assert plain.finished_ms < spans[-1][0], "a task outside the session waited in line"


def test_a_fanout_race_keeps_only_the_winners_state(
    cluster: LocalCluster, alice: Api, members: MembersSite, storage: ScreenshotStorage
) -> None:
    body = run(alice, {"task": login_task(members), "session_key": "race", "fanout": 3})
    assert "Welcome back, Ada" in result(body)
    index = SessionIndex(redis.Redis.from_url(cluster.redis_url, decode_responses=True))
    entry = index.get("alice", "race", int(time.time() * 1000))
    assert body["info"]["node_uid"] in (KEYED, OTHER)  # the keyless node cannot log in
    assert entry is not None and body["info"]["session"]["saved"] is True
    expected = [entry.object_key]
    # A loser that staged its state before it lost deletes it once it learns.
    poll(lambda: state_objects(storage, "alice", "race") == expected, 20, what="losers' states")
