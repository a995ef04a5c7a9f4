"""Late binding, fair share and per-user limits (issue 14), at the store and dispatcher
level: a real private Redis (the ``redis_url`` fixture), fake nodes that are only
registrations in it, and no Chromium or Celery worker. A binding publishes its Celery
message to that Redis, where nobody consumes it; a test plays a node by claiming and
finishing the attempts recorded for it, as a node does (claim.lua, finish.lua)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from scheduler.dispatch import HEADS_PER_OWNER, Dispatcher, SlotListener
from scheduler.maintenance import Maintenance
from shared import keys
from shared.config import load_settings
from shared.records import NO_LIMITS, NewTask, Placement, Refusal, TaskStatus, TaskStore
from shared.registry import NodeRegistry
from shared.request import ANY_NODE, NodeFilter, TaskRequest
from shared.services import celery_app
from shared.users import UserPolicy
from tests.conftest import poll

REPO = Path(__file__).resolve().parents[2]
LONG_MS = 600_000  # a timeout no test reaches


class Clock:
    """Epoch seconds for a store: real time plus an offset the test moves on, or, when
    ``frozen``, a fixed instant that moves only when the test says so."""

    def __init__(self, *, frozen: bool = False) -> None:
        self.start = time.time()
        self.frozen = frozen
        self.offset_s = 0.0

    def __call__(self) -> float:
        return (self.start if self.frozen else time.time()) + self.offset_s

    def advance(self, seconds: float) -> None:
        self.offset_s += seconds


@pytest.fixture()
def client(redis_url: str) -> redis.Redis:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    return client


@dataclass
class Fleet:
    """A dispatcher over fake registered nodes, and the store it binds with."""

    dispatcher: Dispatcher
    store: TaskStore
    registry: NodeRegistry
    clock: Clock
    limits: dict[str, int]  # node uid -> capacity plus prefetch


def fleet(
    client: redis.Redis,
    redis_url: str,
    nodes: dict[str, int],
    *,
    prefetch: int = 0,
    clock: Clock | None = None,
) -> Fleet:
    """Nodes (uid -> capacity) registered, ready and live for the whole test, and a
    Dispatcher as the scheduler builds it, on its own store and registry objects."""
    clock = clock or Clock()
    settings = load_settings(
        {}, redis_url=redis_url, node_prefetch=prefetch, node_dead_after_s=3600
    )
    store = TaskStore(client, record_ttl_s=3600, clock=clock)
    registry = NodeRegistry(client)
    for uid, capacity in nodes.items():
        registry.register(
            uid=uid,
            country="DE",
            queue=f"node.{uid}",
            capacity=capacity,
            version="t",
            hostname="h",
            now_ms=store.now_ms(),
        )
        registry.browser_up(uid, 1)
    app = celery_app("test-binding", settings)
    dispatcher = Dispatcher(app=app, store=store, registry=registry, settings=settings)
    limits = {uid: capacity + prefetch for uid, capacity in nodes.items()}
    return Fleet(dispatcher, store, registry, clock, limits)


def submit(
    store: TaskStore,
    owner: str,
    count: int,
    *,
    policy: UserPolicy = NO_LIMITS,
    timeout_ms: int = LONG_MS,
    fanout: int = 1,
    node_filter: NodeFilter = ANY_NODE,
) -> list[str]:
    """``count`` tasks of ``owner`` in one create call, as the gateway's batch writes
    them; their ids are random, so no order of ids can stand in for the submit order."""
    ids = [f"{owner}:{uuid.uuid4().hex[:12]}" for _ in range(count)]
    request = TaskRequest(task="x", timeout_ms=timeout_ms, fanout=fanout, filter=node_filter)
    tasks = [NewTask.of(t, owner=owner, request=request, policy=policy) for t in ids]
    assert store.create_many(tasks) == [None] * count
    return ids


def on_node(store: TaskStore, node: str) -> list[tuple[str, int]]:
    """The attempts (task id, number) assigned to or running on ``node``."""
    members = store.redis.smembers(keys.node_attempts(node))
    return sorted((t, int(n)) for t, _, n in (m.rpartition("|") for m in members))


def finish(store: TaskStore, task_id: str, attempt: int, node: str) -> None:
    """What a node does with an attempt: claim it, run it, report success."""
    assert store.claim(task_id, attempt, node) == "ok"
    assert store.finish(task_id, attempt, node, success=True, payload='"done"') == "won"


def finish_one(store: TaskStore, node: str) -> str:
    task_id, attempt = on_node(store, node)[0]
    finish(store, task_id, attempt, node)
    return task_id


def statuses(store: TaskStore, ids: list[str]) -> Counter[str]:
    return Counter(store.get(t).status.value for t in ids)


def bound(store: TaskStore, ids: list[str]) -> set[str]:
    """Those of ``ids`` bound to a node, whether finished since or not."""
    return {t for t in ids if store.get(t).attempts}


def messages(client: redis.Redis, queues: list[str]) -> int:
    """Browse messages waiting in the nodes' Celery queues (Redis lists)."""
    return sum(client.llen(q) for q in queues)


def bind_next(f: Fleet, node: str) -> str:
    """Free the (single) slot of ``node``, then bind as a freed slot makes the scheduler
    do; returns the task that took the slot."""
    finish_one(f.store, node)
    assert f.dispatcher.bind() == 1
    (task_id, _), *more = on_node(f.store, node)
    assert not more
    return task_id


# --- late binding ----------------------------------------------------------------


@pytest.mark.parametrize("prefetch", [0, 1])
def test_a_node_is_given_its_capacity_plus_prefetch_and_the_rest_wait(client, redis_url, prefetch):
    f = fleet(client, redis_url, {"n1": 2}, prefetch=prefetch)
    ids = submit(f.store, "alice", 10)
    f.dispatcher.dispatch_many(ids)
    room = 2 + prefetch
    assert statuses(f.store, ids) == {"assigned": room, "queued": 10 - room}
    assert messages(client, ["node.n1"]) == room  # one per binding: none for those waiting
    assert f.store.waiting_count("alice") == 10 - room
    assert f.dispatcher.bind() == 0  # the node is full: nothing more goes to it

    done = finish_one(f.store, "n1")
    assert f.dispatcher.bind() == 1  # as the scheduler does on the freed-slot event
    assert f.store.get(done).status is TaskStatus.COMPLETED
    assert statuses(f.store, ids) == {"assigned": room, "queued": 9 - room, "completed": 1}
    assert len(on_node(f.store, "n1")) == room
    assert messages(client, ["node.n1"]) == room + 1


def test_the_slot_listener_binds_the_next_task_when_an_attempt_ends(client, redis_url):
    f = fleet(client, redis_url, {"n1": 2})
    ids = submit(f.store, "alice", 10)
    f.dispatcher.dispatch_many(ids)
    assert statuses(f.store, ids) == {"assigned": 2, "queued": 8}
    listener = SlotListener(f.dispatcher)
    listener.start()
    try:
        poll(lambda: client.pubsub_numsub(keys.SLOTS_CHANNEL)[0][1] > 0, 10, what="subscribed")
        for done in (1, 2, 3):
            finish_one(f.store, "n1")  # publishes the freed slot; nobody calls bind()
            expected = {"assigned": 2, "completed": done, "queued": 8 - done}
            poll(lambda e=expected: statuses(f.store, ids) == e, 10, what=f"{expected}")
        assert len(on_node(f.store, "n1")) == 2  # never above its capacity
    finally:
        listener.stop()
        listener._thread.join(5)


# --- fair share ------------------------------------------------------------------


def test_one_task_of_bob_goes_before_alice_s_backlog_of_300(client, redis_url):
    f = fleet(client, redis_url, {"n1": 1})
    alice = submit(f.store, "alice", 300)
    f.dispatcher.dispatch_many(alice)
    [bob] = submit(f.store, "bob", 1)
    f.dispatcher.dispatch_many([bob])
    assert on_node(f.store, "n1") == [(alice[0], 1)]
    assert f.store.get(bob).status is TaskStatus.QUEUED

    assert bind_next(f, "n1") == bob  # the next free slot is bob's
    assert f.store.get(alice[1]).status is TaskStatus.QUEUED
    assert bind_next(f, "n1") == alice[1]  # then alice's backlog resumes, in order


def test_weights_3_to_1_share_the_slots_3_to_1(client, redis_url):
    f = fleet(client, redis_url, {"n1": 3, "n2": 1})
    alice = submit(f.store, "alice", 400, policy=UserPolicy(weight=3))
    bob = submit(f.store, "bob", 400)
    f.dispatcher.dispatch_many(alice + bob)
    share: Counter[str] = Counter()
    while share.total() < 400:
        in_flight = [(n, t, a) for n in ("n1", "n2") for t, a in on_node(f.store, n)]
        assert len(in_flight) == 4, "every slot is taken while both have tasks waiting"
        share.update(task_id.split(":")[0] for _, task_id, _ in in_flight)
        for node, task_id, attempt in in_flight:
            finish(f.store, task_id, attempt, node)
        f.dispatcher.bind()
    assert abs(share["alice"] / share.total() - 0.75) <= 0.05, share


def test_each_user_s_tasks_are_bound_in_submit_order(client, redis_url):
    f = fleet(client, redis_url, {"n1": 1})
    alice, bob = [], []
    for size in (1, 3, 2):  # several create calls, interleaved between the two users
        alice += submit(f.store, "alice", size)
        bob += submit(f.store, "bob", size)
    last = "alice:-submitted-last"  # its id sorts before every other
    f.store.create(last, owner="alice", request=TaskRequest(task="x", timeout_ms=LONG_MS))
    alice.append(last)
    f.dispatcher.dispatch_many(alice + bob)
    order = [on_node(f.store, "n1")[0][0]]
    order += [bind_next(f, "n1") for _ in range(len(alice) + len(bob) - 1)]
    assert [t for t in order if t.startswith("alice:")] == alice
    assert [t for t in order if t.startswith("bob:")] == bob
    owners = [t.split(":")[0] for t in order]
    assert owners[:12] == ["alice", "bob"] * 6  # taking turns while both wait


def test_max_active_caps_a_user_and_the_others_use_the_free_nodes(client, redis_url):
    f = fleet(client, redis_url, {"n1": 3, "n2": 3})
    alice = submit(f.store, "alice", 10, policy=UserPolicy(max_active=2))
    bob = submit(f.store, "bob", 10)
    f.dispatcher.dispatch_many(alice + bob)
    finished = 0
    while finished < 20:
        in_flight = [(n, t, a) for n in ("n1", "n2") for t, a in on_node(f.store, n)]
        owners = Counter(task_id.split(":")[0] for _, task_id, _ in in_flight)
        alice_waiting, bob_waiting = f.store.waiting_count("alice"), f.store.waiting_count("bob")
        assert owners["alice"] == min(2, owners["alice"] + alice_waiting), owners
        assert owners["bob"] == min(6 - owners["alice"], owners["bob"] + bob_waiting), owners
        assert client.scard(keys.active("alice")) == owners["alice"]
        node, task_id, attempt = in_flight[finished % len(in_flight)]  # one ends
        finish(f.store, task_id, attempt, node)
        finished += 1
        f.dispatcher.bind()
    assert statuses(f.store, alice + bob) == {"completed": 20}


# --- limits at submit --------------------------------------------------------------


def new_task(owner: str, policy: UserPolicy) -> NewTask:
    request = TaskRequest(task="x", timeout_ms=LONG_MS)
    task_id = f"{owner}:{uuid.uuid4().hex[:12]}"
    return NewTask.of(task_id, owner=owner, request=request, policy=policy)


def assert_nothing_stored(store: TaskStore, task: NewTask) -> None:
    r = store.redis
    assert not r.exists(keys.task(task.task_id))
    assert r.zscore(keys.waiting(task.owner), task.task_id) is None
    assert r.zscore(keys.DEADLINES, task.task_id) is None
    assert r.zscore(keys.QUEUED, task.task_id) is None


def test_max_queued_refuses_a_submit_and_stores_nothing(client):
    store = TaskStore(client, record_ttl_s=3600, clock=Clock(frozen=True))
    policy = UserPolicy(max_queued=2)
    batch = [new_task("alice", policy) for _ in range(3)]
    [ok1, ok2, refused] = store.create_many(batch)
    assert ok1 is ok2 is None
    assert refused.limit == "max_queued" and refused.retry_after_ms > 0
    assert_nothing_stored(store, batch[2])
    again = new_task("alice", policy)
    assert store.create_many([again])[0].limit == "max_queued"
    assert_nothing_stored(store, again)
    assert store.create_many([new_task("bob", policy)]) == [None]  # a limit is per user
    store.fail(batch[0].task_id, "cancelled")  # one leaves the queue: room for one more
    ok, over = store.create_many([new_task("alice", policy), new_task("alice", policy)])
    assert ok is None and over.limit == "max_queued"


def test_max_active_refuses_a_submit_and_stores_nothing(client):
    store = TaskStore(client, record_ttl_s=3600, clock=Clock(frozen=True))
    policy = UserPolicy(max_active=1)
    first = new_task("alice", policy)
    assert store.create_many([first]) == [None]
    placement = Placement(node="n1", queue="node.n1", country="DE", celery_id="c1", limit=1)
    assert store.assign(first.task_id, [placement]) == 1
    refused = new_task("alice", policy)
    [refusal] = store.create_many([refused])
    assert refusal.limit == "max_active" and refusal.retry_after_ms > 0
    assert_nothing_stored(store, refused)
    assert client.zscore(keys.FAIR, "alice") is None  # nothing of alice's waits
    finish(store, first.task_id, 1, "n1")
    assert store.create_many([new_task("alice", policy)]) == [None]


def test_the_rate_limit_refuses_with_a_retry_delay_and_a_refusal_takes_no_token(client):
    clock = Clock(frozen=True)
    store = TaskStore(client, record_ttl_s=3600, clock=clock)
    policy = UserPolicy(rate=1.0, burst=2)
    assert store.create_many([new_task("alice", policy) for _ in range(2)]) == [None, None]
    refused = new_task("alice", policy)
    assert store.create_many([refused]) == [Refusal("rate", 1000)]
    assert_nothing_stored(store, refused)
    clock.advance(0.6)
    [refusal] = store.create_many([new_task("alice", policy)])
    assert refusal.limit == "rate" and 0 < refusal.retry_after_ms <= 400
    clock.advance(0.4)  # one token back since the bucket emptied, however many refusals
    assert store.create_many([new_task("alice", policy), new_task("alice", policy)]) == [
        None,
        Refusal("rate", 1000),
    ]


def test_a_submit_refused_by_another_limit_takes_no_rate_token(client):
    clock = Clock(frozen=True)
    store = TaskStore(client, record_ttl_s=3600, clock=clock)
    policy = UserPolicy(rate=1.0, burst=1, max_queued=1)
    first = new_task("alice", policy)
    assert store.create_many([first]) == [None]  # the bucket is empty now
    clock.advance(1.0)  # and holds one token again
    over = new_task("alice", policy)
    assert store.create_many([over])[0].limit == "max_queued"
    assert_nothing_stored(store, over)
    store.fail(first.task_id, "cancelled")
    assert store.create_many([new_task("alice", policy)]) == [None]  # the token was kept


# --- queue position, deadlines, cancel -------------------------------------------------


def test_queue_position_counts_down_as_the_tasks_ahead_are_bound(client, redis_url):
    f = fleet(client, redis_url, {"n1": 1})
    alice = submit(f.store, "alice", 4)
    f.dispatcher.dispatch_many(alice)
    bob = submit(f.store, "bob", 4)
    f.dispatcher.dispatch_many(bob)
    assert f.store.queue_position(alice[0]) is None  # bound
    assert [f.store.queue_position(t) for t in alice[1:]] == [1, 3, 5]
    last = bob[-1]  # after b0 a1 b1 a2 b2 a3 (turns, bob first: alice has had one)
    positions = [f.store.queue_position(last)]
    while f.store.get(last).status is TaskStatus.QUEUED:
        bind_next(f, "n1")
        positions.append(f.store.queue_position(last))
    assert positions == [6, 5, 4, 3, 2, 1, 0, None]


def test_tasks_whose_deadline_passes_while_waiting_fail_and_the_next_one_is_bound(
    client, redis_url
):
    f = fleet(client, redis_url, {"n1": 1})
    [running] = submit(f.store, "alice", 1)
    short = submit(f.store, "alice", HEADS_PER_OWNER + 2, timeout_ms=1000)  # more than a read
    [patient] = submit(f.store, "alice", 1)
    f.dispatcher.dispatch_many([running, *short, patient])
    assert on_node(f.store, "n1") == [(running, 1)]
    f.clock.advance(1.5)
    finish(f.store, running, 1, "n1")
    f.dispatcher.bind()  # one pass, as on the freed-slot event
    for task_id in short:
        record = f.store.get(task_id)
        assert (record.status, record.error) == (TaskStatus.FAILED, "timed out after 1000 ms")
        assert client.zscore(keys.DEADLINES, task_id) is None
    assert on_node(f.store, "n1") == [(patient, 1)]  # the free slot did not stay idle
    assert f.store.waiting_count("alice") == 0


def test_a_task_whose_deadline_passes_while_every_node_is_full_is_reaped_at_once(client, redis_url):
    f = fleet(client, redis_url, {"n1": 1})
    [running] = submit(f.store, "alice", 1)
    [waiting] = submit(f.store, "alice", 1, timeout_ms=1000)
    f.dispatcher.dispatch_many([running, waiting])
    f.clock.advance(1.2)  # past the deadline, well within the reaper's grace for placed tasks
    maintenance = Maintenance(
        store=f.store,
        registry=f.registry,
        settings=f.dispatcher.settings,
        dispatcher=f.dispatcher,
        interval_s=1,
    )
    maintenance.reap_overdue()
    record = f.store.get(waiting)
    assert (record.status, record.error) == (TaskStatus.FAILED, "timed out after 1000 ms")
    assert f.store.get(running).status is TaskStatus.ASSIGNED  # its deadline is far
    assert f.store.waiting_count("alice") == 0
    assert client.zscore(keys.FAIR, "alice") is None


def test_cancelling_a_waiting_task_takes_it_and_its_owner_out_of_the_queue(client, redis_url):
    f = fleet(client, redis_url, {"n1": 1})
    [running] = submit(f.store, "alice", 1)
    f.dispatcher.dispatch_many([running])
    [waiting] = submit(f.store, "alice", 1)
    [bobs] = submit(f.store, "bob", 1)
    pass_ = client.zscore(keys.FAIR, "alice")
    assert pass_ == 1.0 and client.zscore(keys.FAIR, "bob") is not None
    assert f.store.fail(waiting, "cancelled") is True  # what POST /cancel does
    assert f.store.get(waiting).error == "cancelled"
    assert client.zscore(keys.waiting("alice"), waiting) is None
    assert client.zscore(keys.FAIR, "alice") is None  # nothing else of alice's waits
    assert client.zscore(keys.FAIR, "bob") is not None
    assert bind_next(f, "n1") == bobs
    assert f.store.get(waiting).attempts == ()  # never bound
    [later] = submit(f.store, "alice", 1)  # alice comes back: not ahead of her own pass
    assert client.zscore(keys.FAIR, "alice") >= pass_
    assert bind_next(f, "n1") == later


def test_tasks_waiting_for_a_busy_node_do_not_hold_back_their_owner_s_next(client, redis_url):
    f = fleet(client, redis_url, {"n1": 1, "n2": 1})
    pinned = submit(f.store, "alice", 3 * HEADS_PER_OWNER, node_filter=NodeFilter(node_uid="n2"))
    [anywhere] = submit(f.store, "alice", 1)  # behind more than one read's worth of them
    f.dispatcher.dispatch_many([*pinned, anywhere])
    assert on_node(f.store, "n2") == [(pinned[0], 1)]
    assert on_node(f.store, "n1") == [(anywhere, 1)]  # n1 did not stay idle
    assert bind_next(f, "n2") == pinned[1]  # the others keep their order on n2
    assert f.store.waiting_count("alice") == len(pinned) - 2


def test_a_waiting_task_whose_matching_node_dies_fails_once_a_pass_reaches_it(client, redis_url):
    f = fleet(client, redis_url, {"n1": 1, "n2": 1})
    on_n2 = NodeFilter(node_uid="n2")
    [first] = submit(f.store, "alice", 1, node_filter=on_n2)
    f.dispatcher.dispatch_many([first])
    [pinned] = submit(f.store, "alice", 1, node_filter=on_n2)
    [anywhere] = submit(f.store, "alice", 1)
    f.dispatcher.dispatch_many([pinned, anywhere])
    assert on_node(f.store, "n1") == [(anywhere, 1)]  # it passed the task that waits for n2
    assert f.store.get(pinned).status is TaskStatus.QUEUED
    f.registry.deregister("n2")  # stopped: dead at once
    finish(f.store, anywhere, 1, "n1")
    f.dispatcher.bind()
    record = f.store.get(pinned)
    assert (record.status, record.error) == (
        TaskStatus.FAILED,
        "no live browsing node matches node_uid=n2",
    )
    assert f.store.waiting_count("alice") == 0


# --- concurrency, fanout, restart ---------------------------------------------------

BINDER = """
import sys, threading, time
import redis
from scheduler.dispatch import Dispatcher, SlotListener
from shared.config import load_settings
from shared.records import TaskStore
from shared.registry import NodeRegistry
from shared.services import celery_app

url, name = sys.argv[1], sys.argv[2]
settings = load_settings({}, redis_url=url, node_prefetch=1, node_dead_after_s=3600)
client = redis.Redis.from_url(url, decode_responses=True)
store = TaskStore(client, record_ttl_s=3600)
dispatcher = Dispatcher(app=celery_app(name, settings), store=store,
                        registry=NodeRegistry(client), settings=settings)
placed, lock, bind = [0], threading.Lock(), dispatcher.bind

def counting_bind(submitted=None):
    made = bind(submitted)
    with lock:
        placed[0] += made
    return made

dispatcher.bind = counting_bind
SlotListener(dispatcher).start()
client.sadd("test:binders", name)
while not client.exists("test:stop"):
    dispatcher.bind()  # as the maintenance pass and submits do, beside the slot events
    time.sleep(0.005)
with lock:
    client.hset("test:placed", name, placed[0])
"""


def test_two_schedulers_binding_at_once_bind_each_task_once_within_every_limit(client, redis_url):
    nodes = {"n1": 3, "n2": 3, "n3": 2, "n4": 1}
    f = fleet(client, redis_url, nodes, prefetch=1)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    binders = [
        subprocess.Popen([sys.executable, "-c", BINDER, redis_url, name], cwd=REPO, env=env)
        for name in ("s1", "s2")
    ]
    try:
        poll(lambda: client.scard("test:binders") == 2, 30, what="both schedulers started")
        poll(lambda: client.pubsub_numsub(keys.SLOTS_CHANNEL)[0][1] == 2, 10, what="listening")
        # alice's all at once (a submit while she is at max_active would be refused)
        ids = submit(f.store, "alice", 100, policy=UserPolicy(max_active=5))
        for _ in range(5):  # bob's keep arriving while slots free
            ids += submit(f.store, "bob", 20)
        peak = dict.fromkeys(nodes, 0)
        alice_peak = 0
        deadline = time.monotonic() + 40
        done = 0
        while done < len(ids):
            assert time.monotonic() < deadline, f"{done} of {len(ids)} finished"
            backlog = f.store.waiting_count("bob")  # while bob waits, no slot stays free
            for node in nodes:
                # Only a finish takes an attempt off a node, or a task out of alice's
                # active set: these counts are their peaks since the last finish.
                alice_peak = max(alice_peak, client.scard(keys.active("alice")))
                running = on_node(f.store, node)
                peak[node] = max(peak[node], len(running))
                # A node ends an attempt once full, so that the schedulers race for
                # each freed slot and against full nodes.
                if running and (len(running) >= f.limits[node] or not backlog):
                    finish(f.store, *running[0], node)
                    done += 1
            time.sleep(0.001)
        client.set("test:stop", 1)
        for proc in binders:
            assert proc.wait(15) == 0
    finally:
        client.set("test:stop", 1)
        for proc in binders:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    assert all(peak[n] <= f.limits[n] for n in nodes), (peak, f.limits)
    assert all(peak[n] == f.limits[n] for n in nodes), (peak, "the nodes were filled")
    assert 0 < alice_peak <= 5  # her max_active, never passed
    assert statuses(f.store, ids) == {"completed": 200}
    assert all(len(f.store.get(t).attempts) == 1 for t in ids)
    assert messages(client, [f"node.{n}" for n in nodes]) == 200  # one message each
    placed = {name: int(n) for name, n in client.hgetall("test:placed").items()}
    assert sum(placed.values()) == 200, placed
    assert min(placed.values()) > 0, f"both schedulers bound tasks: {placed}"


def test_fanout_copies_bind_on_distinct_nodes_as_their_slots_free(client, redis_url):
    f = fleet(client, redis_url, {"n1": 2, "n2": 1, "n3": 1})
    fillers = submit(f.store, "bob", 4)
    f.dispatcher.dispatch_many(fillers)
    assert {n: len(on_node(f.store, n)) for n in ("n1", "n2", "n3")} == {"n1": 2, "n2": 1, "n3": 1}
    [race] = submit(f.store, "alice", 1, fanout=3)
    f.dispatcher.dispatch_many([race])
    assert f.store.get(race).attempts == ()

    def copies() -> list[str]:
        return [a.node for a in f.store.get(race).attempts]

    finish_one(f.store, "n1")
    f.dispatcher.bind()
    assert copies() == ["n1"]  # one copy at once, on the free slot
    assert f.store.get(race).status is TaskStatus.ASSIGNED
    assert f.store.waiting_count("alice") == 1  # its other copies wait
    other = next(t for t, _ in on_node(f.store, "n1") if t != race)
    finish(f.store, other, 1, "n1")  # n1 has room again, but holds a copy already
    f.dispatcher.bind()
    assert copies() == ["n1"]
    finish_one(f.store, "n3")
    f.dispatcher.bind()
    assert copies() == ["n1", "n3"]
    assert f.store.claim(race, 1, "n1") == "ok"  # the first copy runs meanwhile
    finish_one(f.store, "n2")
    f.dispatcher.bind()
    assert copies() == ["n1", "n3", "n2"]
    assert f.store.waiting_count("alice") == 0  # all its copies bound
    assert client.zscore(keys.FAIR, "alice") is None
    assert f.dispatcher.bind() == 0


def test_a_failed_copy_does_not_end_a_fanout_task_whose_other_copies_wait_for_slots(
    client, redis_url
):
    f = fleet(client, redis_url, {"n1": 1, "n2": 1, "n3": 1})
    fillers = submit(f.store, "bob", 2)
    f.dispatcher.dispatch_many(fillers)
    [race] = submit(f.store, "alice", 1, fanout=3)
    f.dispatcher.dispatch_many([race])
    [first] = f.store.get(race).attempts
    assert f.store.claim(race, 1, first.node) == "ok"
    assert f.store.finish(race, 1, first.node, success=False, error="boom") == "failed"
    assert f.store.get(race).status is TaskStatus.RUNNING  # two copies are still to run
    for number, filler in enumerate(fillers, start=2):
        [(_, node)] = [(a, a.node) for a in f.store.get(filler).attempts]
        finish(f.store, filler, 1, node)
        f.dispatcher.bind()
        copy = f.store.get(race).attempts[number - 1]
        assert copy.node == node and f.store.claim(race, number, node) == "ok"
        if number == 2:
            assert f.store.finish(race, 2, node, success=False, error="bust") == "failed"
            assert f.store.get(race).status is TaskStatus.RUNNING
    assert f.store.finish(race, 3, copy.node, success=True) == "won"  # the last copy wins
    record = f.store.get(race)
    assert (record.status, record.winner) == (TaskStatus.COMPLETED, 3)


def test_a_fanout_task_fails_when_its_last_bindable_copy_fails(client, redis_url):
    f = fleet(client, redis_url, {"n1": 1, "n2": 1})
    [filler] = submit(f.store, "bob", 1)
    f.dispatcher.dispatch_many([filler])
    [race] = submit(f.store, "alice", 1, fanout=2)
    f.dispatcher.dispatch_many([race])
    [first] = f.store.get(race).attempts
    [busy] = {"n1", "n2"} - {first.node}
    f.store.claim(race, 1, first.node)
    f.store.finish(race, 1, first.node, success=False, error="boom")
    f.registry.deregister(busy)  # the node its other copy waited for stops
    f.dispatcher.bind()  # as the maintenance pass does
    record = f.store.get(race)
    assert (record.status, record.error) == (TaskStatus.FAILED, "boom")
    assert f.store.waiting_count("alice") == 0


def test_an_owner_at_max_active_still_gets_the_other_copies_of_its_fanout_task(client, redis_url):
    f = fleet(client, redis_url, {"n1": 1, "n2": 1})
    [filler] = submit(f.store, "bob", 1)
    f.dispatcher.dispatch_many([filler])
    [race] = submit(f.store, "alice", 1, fanout=2, policy=UserPolicy(max_active=1))
    f.dispatcher.dispatch_many([race])
    [busy] = [n for n in ("n1", "n2") if on_node(f.store, n) == [(filler, 1)]]
    assert len(f.store.get(race).attempts) == 1  # the task counts once towards max_active
    finish(f.store, filler, 1, busy)
    f.dispatcher.bind()
    assert sorted(a.node for a in f.store.get(race).attempts) == ["n1", "n2"]
    assert f.store.waiting_count("alice") == 0


def test_a_restarted_scheduler_continues_the_same_fair_order(client, redis_url):
    def run(restart_after: int | None) -> list[str]:
        client.flushdb()
        f = fleet(client, redis_url, {"n1": 1})
        heavy = submit(f.store, "alice", 12, policy=UserPolicy(weight=2))
        f.dispatcher.dispatch_many(heavy)
        light = submit(f.store, "bob", 12) + submit(f.store, "carol", 12)
        f.dispatcher.dispatch_many(light)
        order = [on_node(f.store, "n1")[0][0]]
        for i in range(15):
            if i == restart_after:  # a new scheduler: new objects, only Redis is kept
                f = fleet(
                    redis.Redis.from_url(redis_url, decode_responses=True), redis_url, {"n1": 1}
                )
            order.append(bind_next(f, "n1"))
        return [t.split(":")[0] for t in order]

    unbroken = run(None)
    assert Counter(unbroken) == {"alice": 8, "bob": 4, "carol": 4}  # weights 2:1:1
    assert run(restart_after=5) == unbroken
    assert run(restart_after=10) == unbroken


# --- found by review: one owner's blocked tasks must not use up the read ----------------


def test_an_owner_at_max_active_with_a_long_queue_leaves_the_free_slots_to_the_others(
    client, redis_url
):
    """Alice, capped at 2, has 100 waiting; her pass stays put while Bob's moves on, so
    she becomes the lowest. Every slot Bob's tasks free still goes to his next task."""
    f = fleet(client, redis_url, {"n1": 4})
    alice = submit(f.store, "alice", 100, policy=UserPolicy(max_active=2))
    f.dispatcher.dispatch_many(alice)
    assert len(bound(f.store, alice)) == 2
    bob = submit(f.store, "bob", 12)
    f.dispatcher.dispatch_many(bob)
    assert len(bound(f.store, bob)) == 2
    for expected in range(3, 13):  # Bob's pass passes Alice's on the way
        bob_running = [t for t, n in on_node(f.store, "n1") if t.startswith("bob:")]
        finish(f.store, bob_running[0], 1, "n1")
        f.dispatcher.bind()
        assert len(bound(f.store, bob)) == expected  # the freed slot did not stay idle
    assert len(bound(f.store, alice)) == 2


def test_tasks_waiting_for_a_starting_node_do_not_hold_back_another_owner(client, redis_url):
    """Alice's 60 tasks for a node that is alive but not ready wait (their pass does not
    move); Bob's task for any node goes to the idle one."""
    f = fleet(client, redis_url, {"n1": 2})
    f.registry.register(
        uid="de9",
        country="DE",
        queue="node.de9",
        capacity=2,
        version="t",
        hostname="h",
        now_ms=f.store.now_ms(),
    )  # registered, heartbeating, no browser up yet: not ready
    alice = submit(f.store, "alice", 60, node_filter=NodeFilter(node_uid="de9"))
    f.dispatcher.dispatch_many(alice)
    assert statuses(f.store, alice) == {"queued": 60}  # waiting, not failed
    bob = submit(f.store, "bob", 1)
    f.dispatcher.dispatch_many(bob)
    assert bound(f.store, bob) == set(bob)


def test_a_second_scheduler_with_a_stale_read_cannot_bind_copies_twice(client, redis_url):
    """Scheduler 1 binds one copy of a fanout-3 task on the only node with room; scheduler
    2, from a read made before that, would bind three more, one on the same node."""
    f = fleet(client, redis_url, {"n1": 2, "n2": 1, "n3": 1})
    f.store.redis.sadd(keys.node_attempts("n2"), "other|1")  # n2 and n3 are full
    f.store.redis.sadd(keys.node_attempts("n3"), "other|1")
    (task,) = submit(f.store, "alice", 1, fanout=3)
    stale = f.store.get(task)  # what scheduler 2 read
    assert f.dispatcher.bind() == 1
    assert [a.node for a in f.store.get(task).attempts] == ["n1"]
    f.store.redis.srem(keys.node_attempts("n2"), "other|1")
    f.store.redis.srem(keys.node_attempts("n3"), "other|1")
    nodes = {n.uid: n for n in f.registry.all()}
    late = f.dispatcher._place(stale, [nodes["n1"], nodes["n2"], nodes["n3"]], copies=3)
    assert late == -2  # refused: the task has an attempt the read did not see
    assert [a.node for a in f.store.get(task).attempts] == ["n1"]
    assert f.dispatcher.bind() == 1  # a fresh read binds the other two, one on each
    assert sorted(a.node for a in f.store.get(task).attempts) == ["n1", "n2", "n3"]


def test_a_record_that_cannot_be_read_stops_neither_binding_nor_the_reaper(client, redis_url):
    """A waiting task whose record lost a field (edited by hand, or another version's):
    the others are still bound, and the reaper fails it at its deadline."""
    f = fleet(client, redis_url, {"n1": 2})
    broken, fine = submit(f.store, "alice", 2, timeout_ms=1000)
    client.hdel(keys.task(broken), "created_ms")
    f.dispatcher.dispatch_many([broken, fine])
    assert f.store.get(fine).status is TaskStatus.ASSIGNED
    f.clock.advance(1.2)
    maintenance = Maintenance(
        store=f.store,
        registry=f.registry,
        settings=f.dispatcher.settings,
        dispatcher=f.dispatcher,
        interval_s=1,
    )
    maintenance.run_once()  # raised KeyError from the reaper on every pass before
    assert client.hget(keys.task(broken), "status") == "failed"
    assert client.hget(keys.task(broken), "error") == "the task record cannot be read"
    assert client.zscore(keys.DEADLINES, broken) is None
    assert f.store.waiting_count("alice") == 0
