"""Send a task's attempts to node queues."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime, timezone

from celery import Celery
from redis.client import Pipeline

from scheduler import metrics
from scheduler.routing import NodeFilter, choose_nodes, eligible_nodes
from shared import scripts
from shared.config import Settings
from shared.errors import RoutingError
from shared.logs import task_logging
from shared.records import Placement, SessionAffinity, TaskRecord, TaskStore
from shared.registry import NodeInfo, NodeRegistry
from shared.services import BROWSE_TASK, publish_options

log = logging.getLogger(__name__)
# A batch re-reads the node registry when its copy is older than this.
NODES_MAX_AGE_MS = 500


class Dispatcher:
    def __init__(
        self, *, app: Celery, store: TaskStore, registry: NodeRegistry, settings: Settings
    ) -> None:
        self.app = app
        self.store = store
        self.registry = registry
        self.settings = settings

    def _candidates(
        self, record: TaskRecord, snapshot: tuple[dict[str, NodeInfo], int] | None = None
    ) -> tuple[NodeFilter, list[NodeInfo]]:
        """Nodes that may take the task: from ``snapshot`` (nodes, read at epoch ms) if
        given, judged live as of when it was read, else from the registry now."""
        nodes, read_ms = snapshot or self._read_nodes()
        node_filter = record.request.filter
        candidates = eligible_nodes(
            list(nodes.values()),
            node_filter,
            now_ms=read_ms,
            dead_after_ms=int(self.settings.node_dead_after_s * 1000),
        )
        return node_filter, candidates

    def _read_nodes(self) -> tuple[dict[str, NodeInfo], int]:
        return {n.uid: n for n in self.registry.all()}, self.store.now_ms()

    def _read(
        self, task_ids: list[str]
    ) -> tuple[list[TaskRecord | None], tuple[dict[str, NodeInfo], int]]:
        """The batch's records and a snapshot of the nodes, in one round trip."""

        def build(pipe: Pipeline) -> None:
            self.registry.read_all_into(pipe)
            self.store.read_into(pipe, task_ids)

        nodes_reply, records_reply = scripts.run(
            self.store.redis, build, [self.registry.all_script, self.store.read_script]
        )
        read_ms = self.store.now_ms()  # liveness is judged as of the read, not later
        nodes = {n.uid: n for n in self.registry.parse_all(nodes_reply)}
        return self.store.parse_many(task_ids, records_reply), (nodes, read_ms)

    def dispatch_many(self, task_ids: list[str]) -> None:
        """Place queued tasks on as many nodes as each one's fanout asks (fewer if fewer
        match). The records are read once for the whole batch, and the node registry at
        most every NODES_MAX_AGE_MS; each placement is counted into that snapshot, so a
        burst still spreads by load. Tasks no node can take are failed together."""
        records, snapshot = self._read(task_ids)
        unroutable: list[tuple[str, str]] = []
        unreadable: list[tuple[str, str]] = []
        for task_id, record in zip(task_ids, records, strict=True):
            if record is not None and record.request_error and not record.attempts:
                log.error("unreadable task record: %s", record.request_error)
                unreadable.append((task_id, record.request_error))
                continue
            if self.store.now_ms() - snapshot[1] > NODES_MAX_AGE_MS:
                snapshot = self._read_nodes()
            try:
                with task_logging(task_id), metrics.DISPATCH_LATENCY.time():
                    self._dispatch(record, snapshot)
            except RoutingError as exc:
                unroutable.append((task_id, exc.message))
            except Exception as exc:
                # A task must never sit queued until its deadline because of a bug of ours.
                log.exception("dispatch failed", extra={"task_id": task_id})
                if self.store.fail(task_id, f"could not be dispatched: {type(exc).__name__}"):
                    metrics.TASKS_FAILED.labels("dispatch_error").inc()
        if unreadable:
            failed = self.store.fail_many(unreadable, only_if_queued=True)
            metrics.TASKS_FAILED.labels("dispatch_error").inc(sum(failed))
        if unroutable:
            # Only while still queued: a duplicate message read a record another dispatch
            # may have placed since.
            failed = self.store.fail_many(unroutable, only_if_queued=True)
            metrics.TASKS_FAILED.labels("no_node").inc(sum(failed))

    def _dispatch(
        self, record: TaskRecord | None, snapshot: tuple[dict[str, NodeInfo], int]
    ) -> None:
        """Place one task; RoutingError if no node may take it."""
        if record is None or record.status.terminal or record.attempts:
            return  # gone, finished (e.g. cancelled) or already dispatched (redelivery)
        node_filter, candidates = self._candidates(record, snapshot)
        session = record.request.session_key
        preferred = self.store.session_node(record.owner, session) if session else None
        chosen = choose_nodes(
            candidates,
            record.request.fanout,
            node_filter=node_filter,
            preferred=preferred,
        )
        # The placement moves the session to its first node, in the same step: a
        # duplicate message, which places nothing, moves nothing either.
        affinity = (
            SessionAffinity(record.owner, session, self.settings.session_affinity_ttl_s)
            if session
            else None
        )
        if self._place(record, chosen, affinity=affinity) <= 0:
            return  # a duplicate message: the task was placed by another, and stays there
        for node in chosen:  # as assign.lua counted them
            snapshot[0][node.uid] = replace(node, inflight=node.inflight + 1)

    def redispatch(self, record: TaskRecord, attempt: int, *, exclude: frozenset[str]) -> bool:
        """Place a replacement for ``attempt`` on a node not in ``exclude``; False if none fits."""
        node_filter, candidates = self._candidates(record)
        try:
            chosen = choose_nodes(candidates, 1, node_filter=node_filter, exclude=exclude)
        except RoutingError:
            return False
        return self._place(record, chosen, replaces=attempt) > 0

    def redispatch_to(self, record: TaskRecord, attempt: int, uid: str) -> bool:
        """Place a replacement for ``attempt`` on node ``uid`` itself, if it is alive and
        matches the task's filter, even while it is not ready: a node whose worker
        process died is starting a new one, and its queue keeps the attempt until then."""
        node = self.registry.get(uid)
        if node is None or node.drained:
            return False
        dead_after_ms = int(self.settings.node_dead_after_s * 1000)
        if not node.live(self.store.now_ms(), dead_after_ms):
            return False
        if not record.request.filter.matches(node):
            return False
        return self._place(record, [node], replaces=attempt) > 0

    def _place(
        self,
        record: TaskRecord,
        nodes: list[NodeInfo],
        replaces: int = 0,
        affinity: SessionAffinity | None = None,
    ) -> int:
        """Record the attempts, then publish them; an initial placement happens once only."""
        placements = [
            Placement(
                node=n.uid,
                queue=n.queue,
                country=n.country,
                celery_id=str(uuid.uuid4()),
                replaces=replaces,
            )
            for n in nodes
        ]
        first = self.store.assign(
            record.task_id, placements, initial=not replaces, affinity=affinity
        )
        if first <= 0:
            return first
        metrics.ATTEMPTS.labels("redispatch" if replaces else "initial").inc(len(placements))
        if not replaces:
            metrics.QUEUE_WAIT.observe(max(0, self.store.now_ms() - record.created_ms) / 1000)
        self.publish(record, [(first + i, p.queue, p.celery_id) for i, p in enumerate(placements)])
        log.info(
            "dispatched",
            extra={"task_id": record.task_id, "nodes": [p.node for p in placements]},
        )
        return first

    def publish(self, record: TaskRecord, attempts: list[tuple[int, str, str]]) -> None:
        """Send recorded attempts (number, queue, celery id) to their node queues.

        A record written by a scheduler killed before this runs stays in the unpublished
        set, and the maintenance loop calls this again; a node claims an attempt once, so
        a message that was in fact sent twice is dropped at the claim."""
        expires = datetime.fromtimestamp(record.deadline_ms / 1000, tz=timezone.utc)
        for number, queue, celery_id in attempts:
            self.app.send_task(
                BROWSE_TASK,
                args=[record.task_id, number],
                queue=queue,
                task_id=celery_id,
                expires=expires,
                argsrepr=repr([record.task_id, number]),  # cheaper than Celery's saferepr
                **publish_options(),
            )
        self.store.mark_published(record.task_id, [number for number, _, _ in attempts])
