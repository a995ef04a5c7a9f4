"""The task record's atomic transitions, against a real private redis-server (the
``redis_url`` fixture: one server for the module, flushed before each test)."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time

import pytest
import redis

from browsing.cluster import free_port
from shared import keys
from shared.records import (
    AttemptState,
    NewTask,
    Placement,
    SessionAffinity,
    TaskStatus,
    TaskStore,
)
from shared.request import NodeFilter, TaskRequest


@pytest.fixture()
def store(redis_url: str) -> TaskStore:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    return TaskStore(client, record_ttl_s=3600)


def placements(*nodes: str) -> list[Placement]:
    return [Placement(node=n, queue=n, country="DE", celery_id=f"c-{n}") for n in nodes]


def new_task(store: TaskStore, task_id: str = "web:t1") -> str:
    store.create(task_id, owner="alice", request=TaskRequest(task="x", timeout_ms=60_000))
    return task_id


def test_lifecycle_queued_assigned_running_completed(store):
    tid = new_task(store)
    assert store.get(tid).status is TaskStatus.QUEUED
    assert store.assign(tid, placements("n1")) == 1
    assert store.get(tid).status is TaskStatus.ASSIGNED
    assert store.claim(tid, 1, "n1") == "ok"
    rec = store.get(tid)
    assert rec.status is TaskStatus.RUNNING and rec.started_ms
    assert (
        store.finish(
            tid, 1, "n1", success=True, payload='{"result":"r"}', files=("screenshot-01.png",)
        )
        == "won"
    )
    rec = store.get(tid)
    assert rec.status is TaskStatus.COMPLETED and rec.success and rec.winner == 1
    assert rec.winning_attempt.files == ("screenshot-01.png",)
    assert store.redis.ttl(keys.task(tid)) > 0
    assert store.redis.zscore(keys.DEADLINES, tid) is None
    assert store.redis.scard(keys.node_attempts("n1")) == 0  # nothing in flight


def test_fencing_rejects_other_nodes_and_second_claims(store):
    tid = new_task(store)
    store.assign(tid, placements("n1"))
    assert store.claim(tid, 1, "n2") == "not-yours"
    assert store.claim(tid, 1, "n1") == "ok"
    assert store.claim(tid, 1, "n1") == "running"
    assert store.finish(tid, 1, "n2", success=True) == "fenced"


def test_exactly_one_winner_under_concurrent_finishes(store):
    nodes = [f"n{i}" for i in range(10)]
    for round_ in range(20):
        tid = new_task(store, f"web:race{round_}")
        store.assign(tid, placements(*nodes))
        for i, n in enumerate(nodes, start=1):
            assert store.claim(tid, i, n) == "ok"
        outcomes: list[str] = []
        barrier = threading.Barrier(len(nodes))

        def finish(tid: str, i: int, n: str, barrier: threading.Barrier, out: list[str]) -> None:
            barrier.wait()
            out.append(store.finish(tid, i, n, success=True, payload=f'"{n}"'))

        threads = [
            threading.Thread(target=finish, args=(tid, i, n, barrier, outcomes))
            for i, n in enumerate(nodes, 1)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcomes.count("won") == 1
        rec = store.get(tid)
        states = [a.state for a in rec.attempts]
        assert states.count(AttemptState.WON) == 1
        assert states.count(AttemptState.CANCELLED) == len(nodes) - 1
        assert rec.payload == f'"{rec.winning_attempt.node}"'


def test_task_fails_only_when_every_attempt_failed(store):
    tid = new_task(store)
    store.assign(tid, placements("a", "b"))
    store.claim(tid, 1, "a")
    store.claim(tid, 2, "b")
    assert store.finish(tid, 1, "a", success=False, error="boom a") == "failed"
    assert store.get(tid).status is TaskStatus.RUNNING
    store.finish(tid, 2, "b", success=False, error="boom b")
    rec = store.get(tid)
    assert rec.status is TaskStatus.FAILED
    assert rec.error == "all 2 attempts failed: a: boom a; b: boom b"


def test_a_single_failed_attempt_gives_its_error(store):
    tid = new_task(store)
    store.assign(tid, placements("a"))
    store.claim(tid, 1, "a")
    store.finish(tid, 1, "a", success=False, error='could not understand "fly"')
    assert store.get(tid).error == 'could not understand "fly"'


def test_a_failed_attempt_keeps_what_the_model_spent_in_info_llm(store):
    from gateway.views import task_info
    from nodes.agent.llm.usage import LLMUsage
    from nodes.attempt import llm_spent

    usage = LLMUsage()
    usage.add("gpt-x", {"prompt_tokens": 150, "completion_tokens": 60, "total_tokens": 210})
    usage.add("gpt-x", {"prompt_tokens": 10, "completion_tokens": 2})  # no total: summed
    tid = new_task(store)
    store.assign(tid, placements("a"))
    store.claim(tid, 1, "a")
    error = "token budget spent: 222 of 200"
    store.finish(tid, 1, "a", success=False, error=error, llm=llm_spent(usage, "llm"))
    record = store.get(tid)
    spent = {"model": "gpt-x", "calls": 2, "prompt_tokens": 160, "completion_tokens": 62,
             "total_tokens": 222}  # fmt: skip
    assert record.error == error and task_info(record)["llm"] == spent
    assert llm_spent(LLMUsage(), "llm") == ""  # no call: nothing reported
    other = new_task(store, "web:t2")
    store.assign(other, placements("a"))
    store.claim(other, 1, "a")
    store.finish(other, 1, "a", success=True, payload='{"result":"r"}')
    assert task_info(store.get(other))["llm"] is None


def test_a_success_reports_its_planner_plan_and_replay_in_info(store):
    from gateway.views import task_info

    replay = {"script": 'Open http://a.test/. Click "Next".', "replayable": True, "why": None}
    plan = [{"clause": "Open http://a.test/", "planner": "rules", "steps": [1]},
            {"clause": "find the next page", "planner": "llm", "steps": [2]}]  # fmt: skip
    tid = new_task(store)
    store.assign(tid, placements("a"))
    store.claim(tid, 1, "a")
    agent = json.dumps({"planner": "hybrid", "plan": plan, "replay": replay})
    store.finish(tid, 1, "a", success=True, payload='{"result":"r"}', agent=agent)
    info = task_info(store.get(tid))
    assert (info["planner"], info["plan"], info["replay"]) == ("hybrid", plan, replay)
    assert info["attempts"][0]["planner"] == "hybrid"
    failed = new_task(store, "web:t3")
    store.assign(failed, placements("a"))
    store.claim(failed, 1, "a")
    store.finish(failed, 1, "a", success=False, error="could not click")
    info = task_info(store.get(failed))
    assert info["planner"] is None and info["replay"] is None and info["plan"] is None


def test_fail_is_written_once_and_cancels_attempts(store):
    tid = new_task(store)
    store.assign(tid, placements("a"))
    assert store.fail(tid, "cancelled") is True
    assert store.fail(tid, "timed out") is False
    rec = store.get(tid)
    assert rec.error == "cancelled" and rec.attempts[0].state is AttemptState.CANCELLED
    assert store.claim(tid, 1, "a") == "finished"
    assert store.redis.scard(keys.node_attempts("a")) == 0  # nothing in flight


def test_status_never_moves_backwards(store):
    tid = new_task(store)
    store.assign(tid, placements("a"))
    store.claim(tid, 1, "a")
    store.assign(tid, placements("b"), initial=False)  # a re-dispatch must not reset the status
    assert store.get(tid).status is TaskStatus.RUNNING
    store.finish(tid, 1, "a", success=True)
    assert store.assign(tid, placements("c"), initial=False) == 0
    assert store.get(tid).status is TaskStatus.COMPLETED


def test_lost_attempt_can_be_replaced_or_settled(store):
    tid = new_task(store)
    store.assign(tid, placements("dead"))
    store.claim(tid, 1, "dead")
    assert store.lose(tid, 1, "node dead lost", settle=False) is True
    assert store.get(tid).status is TaskStatus.RUNNING
    store.assign(tid, placements("alive"), initial=False)
    assert store.claim(tid, 1, "dead") != "ok"  # the node that comes back is fenced out
    assert store.claim(tid, 2, "alive") == "ok"
    assert store.finish(tid, 2, "alive", success=True) == "won"
    tid2 = new_task(store, "web:t2")
    store.assign(tid2, placements("dead"))
    store.lose(tid2, 1, "node dead lost", settle=True)
    rec = store.get(tid2)
    assert rec.status is TaskStatus.FAILED and rec.error == "node dead lost"


def test_a_task_is_placed_once_however_many_dispatch_messages_arrive(store):
    tid = new_task(store)
    assert store.stale_queued(store.now_ms() + 1) == [tid]
    assert store.assign(tid, placements("a")) == 1
    assert store.assign(tid, placements("b")) == -2  # a duplicate dispatch
    rec = store.get(tid)
    assert [a.node for a in rec.attempts] == ["a"]
    assert store.stale_queued(store.now_ms() + 1) == []


def test_recorded_attempts_stay_unpublished_until_marked(store):
    tid = new_task(store)
    store.assign(tid, placements("a", "b"))
    assert store.unpublished(store.now_ms() + 1) == [(tid, 1), (tid, 2)]
    assert store.unpublished(store.now_ms() - 60_000) == []  # only those older than the cutoff
    store.mark_published(tid, [1, 2])
    assert store.unpublished(store.now_ms() + 1) == []


def test_claim_records_the_egress_without_credentials(store):
    tid = new_task(store)
    store.assign(tid, placements("a"))
    store.claim(tid, 1, "a", egress="http://proxy:3128")
    assert store.get(tid).attempts[0].egress == "http://proxy:3128"


def test_failing_for_want_of_a_node_spares_a_task_placed_meanwhile(store):
    # A duplicate dispatch message reads the record before another dispatch places it.
    placed = new_task(store)
    store.assign(placed, placements("a"))
    assert store.fail(placed, "no live browsing node", only_if_queued=True) is False
    assert store.get(placed).status is TaskStatus.ASSIGNED
    queued = new_task(store, "web:t2")
    assert store.fail(queued, "no live browsing node", only_if_queued=True) is True
    assert store.get(queued).error == "no live browsing node"


class Clock:
    def __init__(self) -> None:
        self.offset_s = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset_s


def batch_dispatcher(store: TaskStore, redis_url: str, clock: Clock, **settings):
    from scheduler.dispatch import Dispatcher
    from shared.config import load_settings
    from shared.registry import NodeRegistry
    from shared.services import celery_app

    config = load_settings({}, redis_url=redis_url, **settings)
    timed = TaskStore(store.redis, record_ttl_s=3600, clock=clock)
    registry = NodeRegistry(store.redis)
    for uid in ("n1", "n2", "n3"):
        registry.register(
            uid=uid,
            country="DE",
            queue=f"node.{uid}",
            capacity=2,
            version="t",
            hostname="h",
            now_ms=timed.now_ms(),
        )
        registry.browser_up(uid, 1)
    app = celery_app("test-dispatch", config)  # publishes to the same Redis; nobody consumes
    return Dispatcher(app=app, store=timed, registry=registry, settings=config), timed


def test_a_batch_spreads_by_load_as_each_placement_counts(store, redis_url):
    dispatcher, timed = batch_dispatcher(store, redis_url, Clock())
    tasks = [new_task(timed, f"web:b{i}") for i in range(6)]
    store.redis.script_flush()  # as after a Redis restart: the batch's read reloads them
    dispatcher.dispatch_many(tasks)
    nodes = [timed.get(t).attempts[0].node for t in tasks]
    assert sorted(nodes) == ["n1", "n1", "n2", "n2", "n3", "n3"]
    assert all(timed.get(t).status is TaskStatus.ASSIGNED for t in tasks)


def test_a_slow_batch_rereads_the_nodes_instead_of_judging_them_by_an_old_copy(store, redis_url):
    # Nodes heartbeat; a batch that outlasts the dead window must not find them all dead.
    clock = Clock()
    dispatcher, timed = batch_dispatcher(store, redis_url, clock, node_dead_after_s=3)
    tasks = [new_task(timed, f"web:s{i}") for i in range(3)]
    real_parse_many = timed.parse_many

    def slow_parse_many(task_ids, replies):
        records = real_parse_many(task_ids, replies)
        clock.offset_s += 10  # the batch's reads took 10 s; the nodes heartbeat meanwhile
        for uid in ("n1", "n2", "n3"):
            dispatcher.registry.heartbeat(uid, now_ms=timed.now_ms())
        return records

    timed.parse_many = slow_parse_many  # type: ignore[method-assign]
    dispatcher.dispatch_many(tasks)
    assert [timed.get(t).status for t in tasks] == [TaskStatus.ASSIGNED] * 3


def test_records_created_together_are_each_complete_and_queued(store):
    tasks = [
        NewTask.of(
            f"web:m{i}", owner="alice", request=TaskRequest(task=f"t{i}", timeout_ms=1000 * i)
        )
        for i in range(1, 4)
    ]
    assert store.create_many(tasks) == [None, None, None]  # none refused
    deadlines = []
    for task in tasks:
        rec = store.get(task.task_id)
        assert rec.status is TaskStatus.QUEUED and rec.owner == "alice"
        assert rec.request == TaskRequest(task=f"t{task.task_id[-1]}", timeout_ms=task.timeout_ms)
        assert rec.deadline_ms == rec.created_ms + task.timeout_ms
        deadlines.append(rec.deadline_ms)
    assert store.stale_queued(store.now_ms() + 1) == [t.task_id for t in tasks]
    assert store.overdue(deadlines[-1] + 1) == [t.task_id for t in tasks]
    # each waits for a node, in submit order
    assert store.redis.zrange(keys.waiting("alice"), 0, -1) == [t.task_id for t in tasks]


def test_failing_many_at_once_fails_each_only_if_still_queued(store):
    queued, placed = new_task(store, "web:q1"), new_task(store, "web:p1")
    store.assign(placed, placements("a"))
    store.redis.script_flush()  # a restarted Redis has lost the scripts: they are reloaded
    done = store.fail_many(
        [(queued, "no node in DE"), (placed, "no node in FR"), ("web:gone", "x")],
        only_if_queued=True,
    )
    assert done == [True, False, False]
    assert store.get(queued).status is TaskStatus.FAILED
    assert store.get(queued).error == "no node in DE"
    assert store.get(placed).status is TaskStatus.ASSIGNED
    assert store.stale_queued(store.now_ms() + 1) == []


def test_a_batch_fails_only_the_tasks_no_node_can_take_each_with_its_reason(store, redis_url):
    dispatcher, timed = batch_dispatcher(store, redis_url, Clock())
    fine = new_task(timed, "web:fine")
    for task_id, country in (("web:fr", "FR"), ("web:jp", "JP")):
        timed.create(
            task_id,
            owner="alice",
            request=TaskRequest(
                task="x", filter=NodeFilter(country_iso=country), timeout_ms=60_000
            ),
        )
    dispatcher.dispatch_many(["web:fr", fine, "web:jp"])
    assert timed.get(fine).status is TaskStatus.ASSIGNED
    assert timed.get("web:fr").error == "no live browsing node matches country_iso=FR"
    assert timed.get("web:jp").error == "no live browsing node matches country_iso=JP"
    assert timed.get("web:jp").status is TaskStatus.FAILED


def test_a_submit_whose_message_cannot_be_sent_fails_its_task_and_answers_503(store, redis_url):
    """The record is written, the broker refuses every try: the request raises
    BackendUnavailable (503) and the task is failed, not left queued."""
    from gateway.services import GatewayServices
    from shared.config import load_settings
    from shared.errors import BackendUnavailable

    settings = load_settings({}, redis_url=redis_url)
    services = GatewayServices.build(settings)
    services.store = store
    services.celery.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    tasks = [
        NewTask.of(f"web:nb{i}", owner="alice", request=TaskRequest(task="x", timeout_ms=60_000))
        for i in range(3)
    ]
    # One carries an Idempotency-Key: failed before it was queued, it must free the key,
    # or a retry with that key would answer this failure for a day.
    keyed = NewTask.of(
        "web:nbkey",
        owner="alice",
        request=TaskRequest(task="x", timeout_ms=60_000),
        idempotency_hash="ab" * 32,
        fingerprint="f" * 64,
    )
    tasks.append(keyed)
    errors: list[BaseException] = []

    def submit(task: NewTask) -> None:
        try:
            services.submit(task)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(task,)) for task in tasks]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(errors) == 4 and all(isinstance(e, BackendUnavailable) for e in errors), errors
    assert time.monotonic() - started < 30
    for task in tasks:
        record = store.get(task.task_id)
        assert record.status is TaskStatus.FAILED
        assert record.error == "could not be queued: the broker is unavailable"
    assert store.stale_queued(store.now_ms() + 1) == []
    assert store.redis.exists(keys.idempotency("alice", "ab" * 32)) == 0


def test_a_heartbeat_says_when_the_registration_is_gone_and_writes_nothing(store):
    from shared import keys
    from shared.registry import NodeRegistry

    registry = NodeRegistry(store.redis)
    assert registry.heartbeat("n1", now_ms=1000) is False  # never registered, or data lost
    assert store.redis.hgetall(keys.node("n1")) == {}  # no half-written node hash
    registration = dict(
        uid="n1", country="DE", queue="node.de.01", capacity=2, version="t", hostname="h"
    )
    registry.register(**registration, now_ms=1000)
    registry.browser_up("n1", 41)
    assert registry.heartbeat("n1", now_ms=2000) is True
    node = registry.get("n1")
    assert (node.ready, node.browsers, node.heartbeat_ms) == (True, 1, 2000)

    store.redis.flushall()  # Redis back without its data
    registry.browser_still_up("n1", 41)  # a process says its browser is up, as it does
    assert registry.heartbeat("n1", now_ms=3000) is False
    registry.register(**registration, now_ms=3000, again=True)  # keeps what was said
    assert registry.heartbeat("n1", now_ms=3000) is True
    node = registry.get("n1")
    assert (node.ready, node.browsers, node.country, node.queue) == (True, 1, "DE", "node.de.01")

    registry.browser_down("n1", 41)
    assert registry.heartbeat("n1", now_ms=4000) is True
    assert registry.get("n1").ready is False  # no browser up: alive, not eligible
    registry.browser_still_up("n1", 99)  # a stale pid from an earlier run...
    registry.register(**registration, now_ms=5000)  # ...is forgotten by a fresh start
    assert registry.heartbeat("n1", now_ms=5000) is True
    assert (registry.get("n1").ready, registry.get("n1").browsers) == (False, 0)


def test_a_node_s_in_flight_count_does_not_drift_when_it_dies_and_comes_back(store):
    """mark_dead, then each lost attempt released: the count must not go below what the
    node really holds, or routing over-feeds it once it is back."""
    from shared.registry import NodeRegistry

    registry = NodeRegistry(store.redis)
    registry.register(
        uid="n1", country="DE", queue="node.de.01", capacity=2, version="t", hostname="h",
        now_ms=1000,
    )  # fmt: skip
    for tid in ("web:a", "web:b"):
        new_task(store, tid)
        store.assign(tid, placements("n1"))
    assert registry.get("n1").inflight == 2
    registry.mark_dead("n1")  # what the scheduler does first
    for tid in ("web:a", "web:b"):
        store.lose(tid, 1, "node n1 lost", settle=True)
    assert registry.get("n1").inflight == 0
    new_task(store, "web:c")
    store.assign("web:c", placements("n1"))  # the node is back and takes one task
    node = registry.get("n1")
    assert node.inflight == 1 and node.free == 1
    assert {n.uid: n.inflight for n in registry.all()} == {"n1": 1}


def test_a_result_reported_while_redis_restarts_is_kept(tmp_path):
    """The node's report (nodes/attempt.py) meets a Redis that is restarting: it is tried
    again until Redis is back, instead of being lost and the task failing as timed out."""
    from nodes.agent import AgentResult
    from nodes.attempt import report_success
    from nodes.identity import NodeIdentity
    from nodes.runtime import NodeRuntime
    from shared.config import Settings

    port = free_port()
    argv = [shutil.which("redis-server"), "--port", str(port), "--save", "", "--appendonly",
            "yes", "--dir", str(tmp_path)]  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        for _ in range(100):
            try:
                redis.Redis.from_url(url).ping()
                return proc
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    proc = start()
    runtime = NodeRuntime(settings=Settings(redis_url=url))
    runtime.identity = NodeIdentity(uid="n1", country="DE", queue="node.de.01")
    store = runtime.store
    new_task(store, "web:r")
    store.assign("web:r", placements("n1"))
    assert store.claim("web:r", 1, "n1") == "ok"
    proc.terminate()  # Redis goes away just as the attempt ends...
    proc.wait(10)
    back: list[subprocess.Popen] = []
    restart = threading.Timer(1.5, lambda: back.append(start()))  # ...and is back soon
    restart.start()
    try:
        result = AgentResult(result="the title", steps=(), screenshots=(), final_url="x")
        outcome = report_success(runtime, time.monotonic() + 60, "web:r", 1, result, "")
    finally:
        restart.join()
        for p in back:
            p.terminate()
            p.wait(10)
    assert outcome == "won"
    assert back, "Redis was restarted during the report"


def test_a_duplicate_dispatch_message_leaves_the_session_affinity_alone(store, redis_url):
    """A second dispatch message for a task read before the first placed it must not
    point the session at a node that runs nothing of it."""
    dispatcher, timed = batch_dispatcher(store, redis_url, Clock())
    request = TaskRequest(task="x", session_key="k", timeout_ms=60_000)
    timed.create("web:dup", owner="alice", request=request)
    stale = timed.get("web:dup")  # what the duplicate message's dispatch read
    dispatcher.dispatch_many(["web:dup"])
    placed = timed.get("web:dup").attempts[0].node
    key = keys.affinity("alice", "k")
    assert store.redis.get(key) == placed
    other = next(n for n in dispatcher.registry.all() if n.uid != placed)
    affinity = SessionAffinity("alice", "k", 60)
    assert dispatcher._place(stale, [other], affinity=affinity, copies=1) == -2  # not waiting
    assert len(timed.get("web:dup").attempts) == 1  # placed once...
    assert store.redis.get(key) == placed  # ...and the session still points at its node


def test_renewing_the_maintenance_lease_never_extends_another_scheduler_s(store, redis_url):
    """The lease runs out while its holder is between reading it and renewing it, and
    another scheduler takes it: the first must not think it still leads."""
    from scheduler.maintenance import Maintenance

    class LateReads(redis.Redis):
        """A client whose reads of the lease come back after the lease changed hands."""

        def get(self, name):  # noqa: ANN001, ANN201
            value = super().get(name)
            if name == keys.MAINTENANCE_LOCK:
                super().delete(name)  # it ran out...
                super().set(name, "other:1", px=60_000)  # ...and another took it
            return value

    dispatcher, _ = batch_dispatcher(store, redis_url, Clock())
    first = Maintenance(
        store=TaskStore(LateReads.from_url(redis_url, decode_responses=True), record_ttl_s=3600),
        registry=dispatcher.registry,
        settings=dispatcher.settings,
        dispatcher=dispatcher,
        interval_s=1.0,
    )
    assert first._lead() is True  # takes the free lease
    for _ in range(3):
        leads = first._lead()
        holder = store.redis.get(keys.MAINTENANCE_LOCK)
        # Whenever it says it leads, the lease is its own, not another's it extended.
        assert not leads or holder == first.identity, (leads, holder)


def test_a_late_success_after_the_task_failed_is_fenced_and_changes_nothing(store):
    tid = new_task(store)
    store.assign(tid, placements("a"))
    assert store.claim(tid, 1, "a") == "ok"
    assert store.fail(tid, "cancelled") is True  # cancels the running attempt with it
    assert store.finish(tid, 1, "a", success=True, payload='"late"') == "fenced"
    rec = store.get(tid)
    assert rec.status is TaskStatus.FAILED and rec.payload is None and rec.winner is None
    assert rec.attempts[0].state is AttemptState.CANCELLED


def test_the_maintenance_loop_drops_only_index_entries_that_stand_for_nothing(store):
    queued, placed, gone = new_task(store, "web:q"), new_task(store, "web:p"), "web:gone"
    store.assign(placed, placements("a"))
    store.redis.zadd(keys.QUEUED, {gone: 1})  # a record that expired, or was never written
    store.redis.zadd(keys.DEADLINES, {gone: 1})
    assert store.unqueue_settled([queued, placed, gone]) == 1  # assign.lua dropped "placed"
    assert store.stale_queued(store.now_ms() + 1) == [queued]  # still queued: kept
    finished = new_task(store, "web:f")
    store.fail(finished, "cancelled")
    store.redis.zadd(keys.DEADLINES, {finished: 1})  # as if left behind
    assert store.drop_settled_deadlines([queued, finished, gone]) == 2
    assert sorted(store.overdue(store.now_ms() + 120_000)) == [placed, queued]  # kept


def test_writes_about_a_gone_record_leave_no_fragment_without_ttl(store):
    assert store.count_redispatch("web:gone") == -1
    store.mark_stopped("web:gone", 1)
    assert store.redis.exists(keys.task("web:gone")) == 0
    tid = new_task(store)
    assert [store.count_redispatch(tid) for _ in range(2)] == [1, 2]


def test_a_placement_moves_its_session_in_the_same_step(store):
    affinity = SessionAffinity("alice", "cart", 60)
    tid = new_task(store)
    assert store.assign(tid, placements("n2", "n1"), affinity=affinity) == 1
    assert store.session_node("alice", "cart") == "n2"  # the first placement's node
    assert 0 < store.redis.ttl(keys.affinity("alice", "cart")) <= 60
    assert store.assign(tid, placements("n3"), affinity=affinity) == -2  # a duplicate
    assert store.session_node("alice", "cart") == "n2"
    assert store.session_node("bob", "cart") is None


# A state-changing script called again with the same arguments: what redis-py does when
# a reply is late (retry_on_timeout) or the connection drops (its default Retry) after the
# server already ran it. The repeat must answer as the first run did and change nothing.


def everything(store: TaskStore) -> dict[str, object]:
    """Every key in the (test's own) database with its value and whether it expires."""
    r, out = store.redis, {}
    for key in sorted(r.scan_iter("*")):
        kind = r.type(key)
        if kind == "hash":
            value: object = r.hgetall(key)
        elif kind == "zset":
            value = r.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            value = sorted(r.smembers(key))
        elif kind == "list":
            value = r.lrange(key, 0, -1)
        else:
            value = r.get(key)
        out[key] = (kind, value, r.ttl(key) > 0)
    return out


@pytest.fixture()
def still(store: TaskStore) -> TaskStore:
    """A store whose clock stands still: its two calls with the same arguments send the
    same script call, byte for byte, as redis-py's resend does."""
    now = time.time()
    return TaskStore(store.redis, record_ttl_s=3600, clock=lambda: now)


def test_a_repeated_create_skips_the_records_it_wrote_and_a_placed_task_stays_placed(still):
    tasks = [
        NewTask.of(f"web:c{i}", owner="alice", request=TaskRequest(task="x", timeout_ms=60_000))
        for i in (1, 2)
    ]
    assert still.create_many(tasks) == [None, None]
    before = everything(still)
    assert still.create_many(tasks) == [None, None]
    assert everything(still) == before
    still.assign("web:c1", placements("a"))
    before = everything(still)
    still.create_many(tasks)  # the resend arrives after the scheduler placed one
    assert everything(still) == before
    rec = still.get("web:c1")
    assert rec.status is TaskStatus.ASSIGNED and len(rec.attempts) == 1


def test_a_repeated_assign_records_its_attempts_once_and_answers_as_the_first(still):
    tid = new_task(still)
    affinity = SessionAffinity("alice", "s", 60)
    assert still.assign(tid, placements("a", "b"), affinity=affinity) == 1
    before = everything(still)
    assert still.assign(tid, placements("a", "b"), affinity=affinity) == 1  # so it publishes
    assert everything(still) == before
    assert still.assign(tid, placements("c")) == -2  # another dispatch message still places nothing
    assert still.claim(tid, 1, "a", claim_id="d1") == "ok"
    assert still.lose(tid, 1, "node a lost", settle=False) is True
    replacement = [Placement(node="c", queue="c", country="DE", celery_id="r1", replaces=1)]
    assert still.assign(tid, replacement, initial=False) == 3
    before = everything(still)
    assert still.assign(tid, replacement, initial=False) == 3
    assert everything(still) == before
    assert [a.node for a in still.get(tid).attempts] == ["a", "b", "c"]


def test_a_repeated_claim_is_ok_again_but_another_delivery_or_node_is_refused(still):
    tid = new_task(still)
    still.assign(tid, placements("a"))
    assert still.claim(tid, 1, "a", egress="direct", claim_id="d1") == "ok"
    before = everything(still)
    assert still.claim(tid, 1, "a", egress="direct", claim_id="d1") == "ok"
    assert everything(still) == before
    assert still.claim(tid, 1, "a", claim_id="d2") == "running"  # a duplicate message
    assert still.claim(tid, 1, "a") == "running"
    assert still.claim(tid, 1, "b", claim_id="d1") == "not-yours"
    assert everything(still) == before


def test_a_repeated_winning_report_wins_again_and_other_reports_are_still_fenced(store):
    tid = new_task(store)
    store.assign(tid, placements("a", "b"))
    assert store.claim(tid, 1, "a", claim_id="d1") == "ok"
    assert store.claim(tid, 2, "b", claim_id="d2") == "ok"
    won = dict(success=True, payload='"r"', files=("screenshot-01.png",))
    assert store.finish(tid, 1, "a", **won) == "won"
    before = everything(store)
    # The same report again, later (the node's own retry loop), and as redis-py resends it.
    assert store.finish(tid, 1, "a", **won) == "won"
    assert everything(store) == before
    assert store.finish(tid, 1, "b", **won) == "fenced"  # not b's attempt
    assert store.finish(tid, 2, "b", **won) == "fenced"  # cancelled by the win
    assert store.finish(tid, 1, "a", success=False, error="x") == "fenced"  # not this report
    assert everything(store) == before
    rec = store.get(tid)
    assert rec.winner == 1 and rec.winning_attempt.files == ("screenshot-01.png",)


def test_a_repeated_failure_report_answers_failed_and_fails_nothing_twice(store):
    tid = new_task(store)
    store.assign(tid, placements("a", "b", "c"))
    for n, node in enumerate("abc", start=1):
        assert store.claim(tid, n, node, claim_id=f"d{n}") == "ok"
    assert store.finish(tid, 1, "a", success=False, error="boom a") == "failed"
    before = everything(store)
    assert store.finish(tid, 1, "a", success=False, error="boom a") == "failed"
    assert everything(store) == before
    assert store.finish(tid, 1, "b", success=False, error="boom a") == "fenced"
    assert store.finish(tid, 1, "a", success=True) == "fenced"
    assert store.finish(tid, 1, "a", success=False, error="boom again") == "fenced"
    # An attempt lost with its node was not failed by a report: a report for it is fenced.
    assert store.lose(tid, 3, "node c lost", settle=False) is True
    assert store.finish(tid, 3, "c", success=False, error="node c lost") == "fenced"
    assert store.finish(tid, 2, "b", success=False, error="boom b") == "failed"  # the last
    before = everything(store)
    assert store.get(tid).status is TaskStatus.FAILED
    assert store.finish(tid, 2, "b", success=False, error="boom b") == "failed"
    assert everything(store) == before  # failed once, counted once


def test_a_repeated_lose_answers_lost_again_so_the_attempt_is_replaced(still):
    tid = new_task(still)
    still.assign(tid, placements("a", "b"))
    still.claim(tid, 1, "a", claim_id="d1")
    assert still.lose(tid, 1, "node a lost", settle=False) is True
    before = everything(still)
    assert still.lose(tid, 1, "node a lost", settle=False) is True
    assert everything(still) == before
    assert still.lose(tid, 1, "node a lost again", settle=False) is False  # another call
    assert still.lose(tid, 2, "node b lost", settle=True) is True  # settles: the task fails
    before = everything(still)
    assert still.lose(tid, 2, "node b lost", settle=True) is True
    assert everything(still) == before
    # An attempt its node reported failed is not lost by the scheduler, whatever the text.
    other = new_task(still, "web:t2")
    still.assign(other, placements("c"))
    still.claim(other, 1, "c", claim_id="d1")
    assert still.finish(other, 1, "c", success=False, error="node c lost") == "failed"
    assert still.lose(other, 1, "node c lost", settle=False) is False


def test_a_repeated_fail_answers_failed_again_and_a_cancel_is_not_a_conflict(still):
    tid = new_task(still)
    still.assign(tid, placements("a"))
    assert still.fail(tid, "cancelled", call_id="c1") is True
    before = everything(still)
    assert still.fail(tid, "cancelled", call_id="c1") is True  # the same call, resent
    assert everything(still) == before
    assert still.fail(tid, "timed out") is False  # another call finds it finished
    queued = new_task(still, "web:t2")
    assert still.fail_many([(queued, "no node")], only_if_queued=True, call_id="c2") == [True]
    assert still.fail_many([(queued, "no node")], only_if_queued=True, call_id="c2") == [True]


def test_two_calls_failing_a_task_in_the_same_millisecond_count_it_once(still):
    """Two scheduler passes fail one queued task for want of a node, at the same clock
    reading (the metric counted it twice when a repeat was told by its time)."""
    queued = new_task(still)
    assert still.fail_many([(queued, "no node")], only_if_queued=True) == [True]
    assert still.fail_many([(queued, "no node")], only_if_queued=True) == [False]
    assert still.fail(queued, "no node") is False


def test_a_repeated_redispatch_count_counts_once(store):
    tid = new_task(store)
    assert store.count_redispatch(tid, 1) == 1
    before = everything(store)
    assert store.count_redispatch(tid, 1) == 1
    assert everything(store) == before
    assert store.count_redispatch(tid, 2) == 2


def test_a_winning_report_whose_answer_was_lost_keeps_its_screenshots(store, redis_url, s3_env):
    """Redis ran the node's winning report, but the answer never came back (the
    connection dropped): the node's report loop sends it again and must learn that it
    won, not take itself for a loser and delete the screenshots the record lists."""
    from nodes.agent import AgentResult
    from nodes.agent.types import Screenshot
    from nodes.attempt import report_success
    from nodes.identity import NodeIdentity
    from nodes.runtime import NodeRuntime
    from shared.config import load_settings

    class AnswerLostOnce(TaskStore):
        lost = False

        def finish(self, *args, **kwargs) -> str:  # noqa: ANN002, ANN003
            outcome = super().finish(*args, **kwargs)
            if not self.lost:
                self.lost = True
                raise redis.ConnectionError("Connection closed by server.")
            return outcome

    settings = load_settings(s3_env, redis_url=redis_url, s3_bucket="t-answer-lost")
    runtime = NodeRuntime(
        settings=settings,
        identity=NodeIdentity(uid="n1", country="DE", queue="n1"),
        _store=AnswerLostOnce(store.redis, record_ttl_s=3600),
    )
    tid = new_task(store)
    store.assign(tid, placements("n1"))
    assert store.claim(tid, 1, "n1", claim_id="d1") == "ok"
    shot = Screenshot(png=b"\x89PNG fake", step=1, url="x")
    result = AgentResult(result="r", steps=(), screenshots=(shot,), final_url="x")
    assert report_success(runtime, time.monotonic() + 60, tid, 1, result, "") == "won"
    assert runtime.store.lost  # the first answer was lost
    rec = store.get(tid)
    assert rec.status is TaskStatus.COMPLETED and rec.winning_attempt.files == (
        "screenshot-01.png",
    )
    stored = runtime.storage.open(runtime.storage.key(tid, 1, "screenshot-01.png"))
    assert b"".join(stored.body) == b"\x89PNG fake"


def test_an_unreadable_request_fails_its_own_task_and_not_the_batch(store, redis_url):
    # A record another version wrote (an unknown field value, say): its task fails with
    # a clear error; the rest of the batch is placed, and reading it raises nothing.
    dispatcher, timed = batch_dispatcher(store, redis_url, Clock())
    broken, fine = new_task(timed, "web:broken"), new_task(timed, "web:fine")
    store.redis.hset(keys.task(broken), "request", '{"task": "x", "timeout_ms": "soon"}')
    record = timed.get(broken)
    assert record is not None and record.request_error.startswith(
        "the task record's request cannot be read (ValueError"
    )
    dispatcher.dispatch_many([broken, fine])
    failed = timed.get(broken)
    assert failed.status is TaskStatus.FAILED and failed.error == record.request_error
    assert timed.get(fine).status is TaskStatus.ASSIGNED


def test_a_node_whose_shutdown_began_is_bound_nothing_more(store, redis_url):
    """A node in its warm shutdown (worker_shutting_down) still heartbeats and is ready,
    but a slot it frees must not get a task it would never run."""
    dispatcher, timed = batch_dispatcher(store, redis_url, Clock(), node_prefetch=0)
    dispatcher.registry.mark_stopping("n1")
    dispatcher.registry.mark_stopping("n2")
    tasks = [new_task(timed, f"web:s{i}") for i in range(3)]
    dispatcher.dispatch_many(tasks)
    records = [timed.get(t) for t in tasks]
    assert [r.attempts[0].node for r in records[:2]] == ["n3", "n3"]  # its 2 slots
    assert records[2].status is TaskStatus.QUEUED  # waits: n1 and n2 take nothing
    dispatcher.registry.register(
        uid="n1",
        country="DE",
        queue="node.n1",
        capacity=2,
        version="t",
        hostname="h",
        now_ms=timed.now_ms(),
    )  # the node came back: registering clears the mark
    dispatcher.registry.browser_up("n1", 1)
    dispatcher.bind()
    assert timed.get(tasks[2]).attempts[0].node == "n1"
