"""The operators' view of the fleet (GET /api/v1/admin/...): nodes and their state, what
waits for a node, and the tasks that failed last; and forgetting a retired node. A drain
goes through ``NodeRegistry.set_drained`` as ``browsing nodes drain`` does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared import keys, scripts
from shared.clock import iso_utc
from shared.errors import ConflictError, NotFoundError
from shared.records import TaskStore
from shared.registry import NodeInfo, NodeRegistry

FAILURES_KEPT = keys.FAILURES_KEPT  # the most GET /api/v1/admin/failures can give
PLACES_SCAN = 1000  # keys asked per SCAN step when looking for countries with waiting tasks


@dataclass(frozen=True, kw_only=True)
class Failure:
    task_id: str
    owner: str
    error: str
    failed_ms: int
    node: str | None  # the node of the task's last attempt; None if it never ran


def node_state(node: NodeInfo, *, now_ms: int, dead_after_ms: int) -> str:
    """One word for a node, first match wins: dead (no heartbeat for a while), stopping
    (a warm shutdown), draining (drained, still finishing tasks), drained, starting (no
    browser up yet), eligible (takes tasks)."""
    if not node.live(now_ms, dead_after_ms):
        return "dead"
    if node.stopping:
        return "stopping"
    if node.drained:
        return "draining" if node.inflight else "drained"
    return "eligible" if node.ready else "starting"


def node_body(node: NodeInfo, *, now_ms: int, dead_after_ms: int) -> dict[str, Any]:
    """A node as GET /api/v1/admin/nodes gives it, and as ``browsing nodes`` prints it."""
    return {
        "uid": node.uid,
        "country": node.country,
        "capacity": node.capacity,
        "active": node.inflight,
        "state": node_state(node, now_ms=now_ms, dead_after_ms=dead_after_ms),
        "drained": node.drained,
        "browsers": node.browsers,
        "last_heartbeat": iso_utc(node.heartbeat_ms) if node.heartbeat_ms else None,
        "started_at": iso_utc(node.started_ms) if node.started_ms else None,
        "version": node.version,
        "hostname": node.hostname,
    }


def forget_node(registry: NodeRegistry, uid: str, *, now_ms: int, dead_after_s: float) -> None:
    """Forget a dead node that was retired (``NodeRegistry.forget``), as DELETE
    /api/v1/admin/nodes/{uid} and ``browsing nodes forget`` do. NotFoundError when no
    such node is registered; ConflictError while it is alive or attempts are on it."""
    outcome = registry.forget(uid, now_ms=now_ms, dead_after_ms=int(dead_after_s * 1000))
    name = repr(uid[:80])
    if outcome == "missing":
        raise NotFoundError(f"no node {name} is registered")
    if outcome == "alive":
        raise ConflictError(
            f"node {name} is alive (its heartbeat is fresh): stop it first; a node is "
            f"dead after {dead_after_s:g} s without a heartbeat"
        )
    if outcome != "forgotten":  # busy <n>
        raise ConflictError(
            f"node {name} still has {outcome.split()[-1]} attempts, which the scheduler "
            "is moving to other nodes or failing; try again in a few seconds"
        )


def waiting_places(store: TaskStore, countries: list[str]) -> dict[str, int]:
    """Tasks waiting for a node, by where they may run: each country code (those of the
    given nodes, and any other a waiting task asks for), "any" and "node" (one named node)."""
    places = set(countries) | {"any", "node"}
    pattern = keys.waiting_where("*")
    for name in store.redis.scan_iter(match=pattern, count=PLACES_SCAN):
        places.add(name.removeprefix(keys.waiting_where("")))
    return store.waiting_where(sorted(places))


def active_by_owner(store: TaskStore, owners: list[str]) -> dict[str, int]:
    """How many tasks each owner has assigned to or running on nodes."""
    pipe = store.redis.pipeline(transaction=False)
    for owner in owners:
        pipe.scard(keys.active(owner))
    return {owner: int(n) for owner, n in zip(owners, pipe.execute(), strict=True)}


def recent_failures(store: TaskStore, limit: int) -> list[Failure]:
    """The last ``limit`` tasks that failed (cancelled ones too), newest first; those
    whose record has expired are left out."""
    entries = store.redis.zrevrange(keys.FAILURES, 0, limit - 1, withscores=True)
    task_ids = [task_id for task_id, _ in entries]
    if not task_ids:
        return []
    reply = scripts.run(
        store.redis, lambda pipe: store.read_into(pipe, task_ids), [store.read_script]
    )
    records = store.parse_many(task_ids, reply[0])
    out = []
    for (task_id, score), record in zip(entries, records, strict=True):
        if record is None:
            continue
        last = record.attempts[-1] if record.attempts else None
        out.append(
            Failure(
                task_id=task_id,
                owner=record.owner,
                error=record.error or "failed",
                failed_ms=record.finished_ms or int(score),
                node=last.node if last else None,
            )
        )
    return out
