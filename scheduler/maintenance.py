"""The scheduler's maintenance loop: reap overdue tasks, recover dead nodes' work.

Several scheduler processes may run; a short Redis lease elects the one that does this.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

import redis

from scheduler import metrics
from scheduler.dispatch import Dispatcher
from shared.config import Settings
from shared.errors import StorageError
from shared.records import AttemptState, TaskStore
from shared.registry import NodeInfo, NodeRegistry
from shared.sessionstate import StateStorage
from shared.storage import ScreenshotStorage

log = logging.getLogger(__name__)
# The settling look at waiting tasks (Dispatcher.bind(settle=True)) runs when the live
# nodes change, and at least this often: it reads 256 records, which a pass every
# second made most of the scheduler's CPU in a burst. Deadlines need it not: the
# reaper fails a waiting task at its deadline.
SETTLE_EVERY_S = 30.0


class Maintenance:
    def __init__(
        self,
        *,
        store: TaskStore,
        registry: NodeRegistry,
        settings: Settings,
        dispatcher: Dispatcher,
        interval_s: float,
        storage: ScreenshotStorage | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.settings = settings
        self.dispatcher = dispatcher  # places the attempts it recovers
        self.interval_s = interval_s
        self.storage = storage
        self._next_sweep_s = 0.0
        self._nodes_seen: frozenset[tuple[str, bool]] | None = None  # alive, drained
        self._next_settle_s = 0.0
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="maintenance", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                if self._lead():
                    self.run_once()
            except redis.RedisError as exc:
                log.warning("maintenance skipped: %s", exc)
            except Exception:
                log.exception("maintenance pass failed")

    def _lead(self) -> bool:
        lease_ms = int(max(self.interval_s * 5, 5) * 1000)
        return self.store.take_maintenance_lease(self.identity, lease_ms)

    def is_leader(self) -> bool:
        return self.store.maintenance_leader() == self.identity

    def run_once(self) -> None:
        self.reap_overdue()
        self.recover_lost_attempts()
        nodes = self.registry.all()  # one read for both
        self.recover_dead_nodes(nodes)
        # Bind in case a slot event was missed (see SlotListener); look at the waiting
        # tasks even when no node has room only when it may fail some: a node died or
        # was drained since the last look, or SETTLE_EVERY_S passed.
        self.dispatcher.bind(settle=self._settle_due(nodes))
        self.publish_stranded()
        self.sweep_screenshots()

    def _settle_due(self, nodes: list[NodeInfo]) -> bool:
        now_s = self.store.clock()
        dead_after_ms = int(self.settings.node_dead_after_s * 1000)
        now_ms = self.store.now_ms()
        alive = frozenset((n.uid, n.drained) for n in nodes if n.live(now_ms, dead_after_ms))
        changed = alive != self._nodes_seen
        self._nodes_seen = alive
        if changed or now_s >= self._next_settle_s:
            self._next_settle_s = now_s + SETTLE_EVERY_S
            return True
        return False

    def sweep_screenshots(self) -> None:
        """Delete expired screenshots now and then (see ScreenshotStorage.sweep_expired)."""
        interval = self.settings.retention_sweep_interval_s
        now_s = self.store.clock()
        if self.storage is None or interval <= 0 or now_s < self._next_sweep_s:
            return
        self._next_sweep_s = now_s + interval
        try:
            deleted = self.storage.sweep_expired(now_s)
        except StorageError as exc:
            log.warning("retention sweep failed: %s", exc)
            return
        states = StateStorage(
            self.storage, self.settings.session_state_prefix, self.settings.session_state_ttl_s
        )
        try:  # sessions' browser states past BROWSING_SESSION_STATE_TTL_S
            deleted += states.sweep_expired(now_s)
        except StorageError as exc:
            log.warning("retention sweep of browser states failed: %s", exc)
        if deleted:
            log.info("retention sweep", extra={"deleted": len(deleted)})

    def publish_stranded(self) -> None:
        """Publish attempts that were recorded but whose message a scheduler killed in
        between never sent (the dispatch message was acked early, so nothing redelivers it)."""
        cutoff = self.store.now_ms() - int(self.settings.stale_queued_after_s * 1000)
        for task_id, number in self.store.unpublished(cutoff):
            record = self.store.get(task_id)
            attempts = record.attempts if record else ()
            attempt = attempts[number - 1] if number <= len(attempts) else None
            if record and attempt and attempt.state == AttemptState.ASSIGNED:
                log.warning("publishing a stranded attempt", extra={"task_id": task_id})
                self.dispatcher.publish(record, [(number, attempt.queue, attempt.celery_id)])
            else:
                self.store.mark_published(task_id, [number])  # it ran, finished or is gone

    def reap_overdue(self) -> None:
        """Fail tasks past their deadline: at once if still waiting for a node, after
        the grace (for a node's late report) if placed."""
        now = self.store.now_ms()
        cutoff = now - int(self.settings.reaper_grace_s * 1000)
        # Those past the grace first, so that placed tasks still in their grace cannot
        # fill the read and keep the others waiting.
        past_grace = self.store.overdue(cutoff, limit=500)
        in_grace = self.store.overdue(now, limit=500, after_ms=cutoff)
        for task_id in past_grace + in_grace:
            try:
                record = self.store.get(task_id)
            except (KeyError, ValueError, TypeError) as exc:
                # One record that cannot be read must not stop the pass for the others.
                log.error("unreadable task record %s: %r", task_id, exc)
                if not self.store.fail(task_id, "the task record cannot be read"):
                    self.store.drop_settled_deadlines([task_id])
                continue
            if record is None or record.status.terminal:
                self.store.drop_settled_deadlines([task_id])
                continue
            if record.attempts and record.deadline_ms > cutoff:
                continue
            timeout_ms = record.deadline_ms - record.created_ms
            if self.store.fail(task_id, f"timed out after {timeout_ms} ms"):
                metrics.TASKS_FAILED.labels("timeout").inc()
                log.info("reaped", extra={"task_id": task_id, "timeout_ms": timeout_ms})

    def recover_dead_nodes(self, nodes: list[NodeInfo]) -> None:
        now = self.store.now_ms()
        dead_after_ms = int(self.settings.node_dead_after_s * 1000)
        for node in nodes:
            if node.live(now, dead_after_ms):
                continue
            pending = self.registry.pending_attempts(node.uid)
            if not pending and not node.ready:
                continue
            log.warning("node declared dead", extra={"node": node.uid, "attempts": len(pending)})
            self.registry.mark_dead(node.uid)
            metrics.NODES_DEAD.inc()
            for task_id, attempt in pending:
                self._recover(task_id, attempt, node.uid)

    def recover_lost_attempts(self) -> None:
        """Attempts whose worker process died (a node says so at once, rather than at the
        deadline): the same recovery as a dead node's, the same node included, since it
        has a fresh process by now."""
        for task_id, attempt, node_uid, error in self.store.take_lost():
            log.warning(
                "attempt lost with its worker process",
                extra={"task_id": task_id, "node": node_uid, "error": error},
            )
            self._recover(task_id, attempt, node_uid, error=error, avoid_node=False)

    def _recover(
        self,
        task_id: str,
        attempt: int,
        node_uid: str,
        *,
        error: str | None = None,
        avoid_node: bool = True,
    ) -> None:
        """Send a lost attempt elsewhere (bounded retries), or fail it."""
        error = error or f"node {node_uid} lost"
        record = self.store.get(task_id)
        may_retry = (
            record is not None
            and not record.status.terminal
            and record.deadline_ms > self.store.now_ms()
            and self.store.count_redispatch(task_id, attempt) <= self.settings.redispatch_retries
        )
        if not may_retry:
            self.store.lose(task_id, attempt, error, settle=True)
            return
        if not self.store.lose(task_id, attempt, error, settle=False):
            return  # it finished meanwhile
        busy = frozenset(a.node for a in record.attempts if a.state.pending and a.number != attempt)
        avoid = busy | {node_uid} if avoid_node else busy
        if self.dispatcher.redispatch(record, attempt, exclude=avoid) or (
            not avoid_node and self.dispatcher.redispatch_to(record, attempt, node_uid)
        ):
            log.info("redispatched", extra={"task_id": task_id, "from_node": node_uid})
            return
        fresh = self.store.get(task_id)
        if fresh and not any(a.state.pending for a in fresh.attempts):
            if self.store.fail(task_id, error):
                metrics.TASKS_FAILED.labels("node_lost").inc()
