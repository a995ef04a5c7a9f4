"""Late binding under faults: slot events that never reach the scheduler, and a scheduler
SIGKILLed while it binds a burst (docs/reliability.md).

Its own cluster: one node running one task at a time with no prefetch
(``BROWSING_NODE_PREFETCH=0``), so every task after the first is bound only once the
previous one frees the node's slot, and the time from that slot freeing to the next
binding can be read from the records.
"""

from __future__ import annotations

import signal
import statistics
import time
from collections.abc import Iterator

import pytest
import redis

from browsing.cluster import LocalCluster, free_port
from shared.config import load_settings
from shared.records import TaskRecord, TaskStore
from tests.conftest import ALICE, Api, allow, poll, running

NODE = "node.de.01"


@pytest.fixture(scope="module")
def single(tmp_path_factory, sites: str) -> Iterator[LocalCluster]:
    cluster = LocalCluster(
        node_queues=(NODE,),
        port=free_port(),
        node_concurrency=1,
        workdir=tmp_path_factory.mktemp("binding"),
        reuse_services=False,
        env_overrides={
            "BROWSING_API_KEYS": f"alice:{ALICE}",
            "BROWSING_NODE_PREFETCH": "0",
            "BROWSING_NODE_HEARTBEAT_INTERVAL_S": "0.5",
            "BROWSING_STALE_QUEUED_AFTER_S": "5",
            "BROWSING_GATEWAY_WORKERS": "1",
            "BROWSING_EGRESS_ALLOW": allow(sites),
        },
    )
    with running(cluster):
        yield cluster


@pytest.fixture()
def alice(single) -> Api:
    return Api(single.base_url, ALICE)


@pytest.fixture()
def store(single) -> TaskStore:
    return TaskStore(
        redis.Redis.from_url(single.redis_url, decode_responses=True), record_ttl_s=3600
    )


def burst(api: Api, sites: str, count: int) -> list[str]:
    return [
        api.submit({"task": f"Open {sites}/index.html and return the title"}) for _ in range(count)
    ]


def finished(api: Api, task_ids: list[str], timeout_s: float = 90) -> None:
    for task_id in task_ids:
        body = api.wait(task_id, timeout_s)
        assert body["status"] == "completed", body


def bind_gaps_s(store: TaskStore, task_ids: list[str]) -> list[float]:
    """For each task after the first, in the order the node ran them: from the previous
    attempt's end (its slot freed) to this task's binding."""
    records = [store.get(t) for t in task_ids]
    attempts = sorted(
        (r.attempts[0] for r in records if r is not None), key=lambda a: a.assigned_ms or 0
    )
    return [
        (later.assigned_ms - earlier.finished_ms) / 1000
        for earlier, later in zip(attempts, attempts[1:], strict=False)
        if later.assigned_ms and earlier.finished_ms and later.assigned_ms > earlier.finished_ms
    ]


def one_attempt_each(store: TaskStore, task_ids: list[str]) -> list[TaskRecord]:
    records = [store.get(t) for t in task_ids]
    for record in records:
        assert record is not None
        assert [a.state.value for a in record.attempts] == ["won"], record.attempts
    return records


def test_lost_slot_events_cost_at_most_a_maintenance_pass(single, alice, store, sites):
    """With the scheduler's slot events, a freed slot is taken at once. With none of them
    (a scheduler that never hears one: the same scheduler parts, run here without their
    slot listener, and without the gateway's submit messages), the maintenance pass,
    every BROWSING_MAINTENANCE_INTERVAL_S (1 s), binds the next task."""
    heard = burst(alice, sites, 6)
    finished(alice, heard)
    with_events = bind_gaps_s(store, heard)

    single.stop_process("scheduler")
    from scheduler.lifecycle import SchedulerLifecycle
    from shared.services import celery_app

    settings = load_settings(single.env)
    deaf = SchedulerLifecycle.build(celery_app("scheduler", settings), settings)
    deaf.maintenance.start()  # binds on its passes; its SlotListener is never started
    try:
        unheard = burst(alice, sites, 6)
        finished(alice, unheard)
    finally:
        deaf.maintenance.stop()
        single.start_scheduler()
    without_events = bind_gaps_s(store, unheard)
    one_attempt_each(store, heard + unheard)
    print(
        f"\nslot freed -> next binding: with events median {statistics.median(with_events):.3f} s"
        f" max {max(with_events):.3f} s; without events median"
        f" {statistics.median(without_events):.3f} s max {max(without_events):.3f} s"
    )
    assert len(with_events) == len(without_events) == 5
    assert max(with_events) < 0.5, with_events
    # One pass every second, plus the pass itself on a loaded machine.
    assert max(without_events) < settings.maintenance_interval_s + 1.0, without_events


def test_a_scheduler_killed_while_binding_a_burst_loses_nothing_and_runs_nothing_twice(
    single, alice, store, sites
):
    task_ids = burst(alice, sites, 12)
    # While the node works through the burst, each freed slot makes the scheduler bind.
    poll(lambda: alice.status(task_ids[3])["status"] == "completed", timeout_s=60)
    single.stop_process("scheduler", signal.SIGKILL)
    killed_at = time.time()
    during = burst(alice, sites, 4)
    single.start_scheduler()
    restarted_at = time.time()
    finished(alice, task_ids + during)
    records = one_attempt_each(store, task_ids + during)
    bound_after = sorted(
        r.attempts[0].assigned_ms / 1000 - killed_at
        for r in records
        if r.attempts[0].assigned_ms / 1000 > killed_at
    )
    assert bound_after, "nothing was bound after the kill"
    print(
        f"\nfirst binding {bound_after[0]:.1f} s after the SIGKILL, "
        f"{bound_after[0] - (restarted_at - killed_at):.1f} s after the restart began"
    )
