"""Send a task's attempts to node queues."""

from __future__ import annotations

import enum
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone

import redis
from celery import Celery
from redis.client import Pipeline, PubSub

from scheduler import metrics
from scheduler.routing import NodeFilter, choose_nodes, eligible_nodes, no_node_error
from shared import scripts
from shared.config import Settings
from shared.errors import RoutingError
from shared.logs import task_logging
from shared.records import Placement, SessionAffinity, TaskRecord, TaskStore, WaitingOwner
from shared.registry import NodeInfo, NodeRegistry
from shared.services import BROWSE_TASK, publish_options

log = logging.getLogger(__name__)


def follow_channel(
    subscribe: Callable[[], PubSub],
    follow: Callable[[PubSub], None],
    stop: threading.Event,
    *,
    lost: str,
    failed: str,
) -> None:
    """Run ``follow`` on a fresh subscription until ``stop`` is set, subscribing again a
    second after Redis drops it (``lost``, with the error) or ``follow`` fails
    (``failed``, logged with its traceback)."""
    while not stop.is_set():
        try:
            pubsub = subscribe()
            try:
                follow(pubsub)
            finally:
                pubsub.close()
        except redis.RedisError as exc:
            log.warning(lost, exc)
            stop.wait(1.0)
        except Exception:
            log.exception(failed)
            stop.wait(1.0)


# One read of the fair queue takes this many owners (lowest pass first) and this many
# of each one's first waiting tasks; a binding pass reads again while it places or
# settles tasks.
OWNERS_PER_READ = 256
HEADS_PER_OWNER = 32
# While a node has room that none of an owner's read tasks can use (they all wait for
# busy nodes), the pass reads further down that owner's wait set, up to this far.
LOOKAHEAD_PER_OWNER = 128
MAX_READS = 1000  # reads per binding pass: a bound, not a limit met in practice
# Waiting tasks a maintenance pass looks at, when no node has room, for those that
# cannot wait any longer.
SETTLE_HEADS = 256
SETTLE_HEADS_PER_OWNER = 8  # so that the first 32 owners are all looked at


def one_at_a_time(record: TaskRecord, persistence: bool) -> str | None:
    """The session whose tasks this one runs in line with (one at a time, in submit
    order), or None: a task with a session_key that loads and saves the session's
    browser state. One that opts out (session_persist false) touches no state, so it
    keeps only the session's node affinity and runs beside the others; so does every
    task where no state is kept (``persistence``: BROWSING_STATE_KEY is set), as
    before sessions had state: a client that uses session_key for node affinity alone
    keeps its parallel tasks."""
    request = record.request
    if not persistence or not request.session_key or not request.session_persist:
        return None
    return request.session_key


class _Outcome(enum.Enum):
    PLACED = "placed"
    CONFLICT = "conflict"  # the state moved under us: read again


class _Turn:
    """An owner's place in one binding pass: its pass and active count as bound so far,
    and its waiting tasks read but not bound yet."""

    def __init__(self, owner: WaitingOwner) -> None:
        self.owner = owner
        self.pass_ = owner.pass_
        self.active = owner.active
        self.heads = list(zip(owner.head_ids, owner.heads, strict=True))
        self.settled = 0  # read tasks that left the wait set without being bound here
        self.read = len(owner.head_ids)  # how far down its wait set this pass has read
        self.seen = set(owner.head_ids)  # every task read, bound or settled since or not
        # Sessions found holding their lock (assign.lua's -5): their tasks wait this pass.
        self.busy_sessions: set[str] = set()

    @property
    def at_max_active(self) -> bool:
        return 0 < self.owner.max_active <= self.active

    @property
    def unread(self) -> bool:
        """All read tasks are settled, and more wait."""
        return not self.heads and self.owner.waiting > self.read

    @property
    def blocked(self) -> bool:
        """The tasks read (if any) cannot go, and more wait behind them that could."""
        return not self.at_max_active and self.read < min(self.owner.waiting, LOOKAHEAD_PER_OWNER)

    def read_more(self, store: TaskStore) -> None:
        """Read as many more of the owner's waiting tasks as were read so far (at least
        HEADS_PER_OWNER). The wait set moves meanwhile (tasks bound or settled leave it),
        so it is read again from its head and the tasks seen already are skipped."""
        count = max(self.read, HEADS_PER_OWNER)
        more = store.waiting_heads(self.owner.owner, count=self.read + count, skip=self.seen)
        self.heads += more
        self.seen.update(task_id for task_id, _ in more)
        self.read = self.read + len(more) if more else self.owner.waiting

    def drop(self, task_id: str) -> None:
        self.heads = [(t, r) for t, r in self.heads if t != task_id]

    def settle(self, task_id: str) -> None:
        self.drop(task_id)
        self.settled += 1


class Dispatcher:
    """Late binding: a submitted task waits in its owner's wait set (shared/lua/create.lua)
    and is bound to a node only when that node has room, that is fewer attempts than its
    capacity plus ``node_prefetch``; so a node's Celery queue never holds a backlog.

    Free slots go to the owners with waiting tasks by stride scheduling, a weighted
    round robin: the owner with the lowest pass is served next, and each attempt bound
    moves its pass on by 1/weight. Within one owner, tasks are bound in submit order,
    except that a task no node with room can take lets the owner's next ones pass it.
    The tasks of one session (``one_at_a_time``) never pass each other, and one is bound
    only once the session's previous task has ended (its lock, assign.lua); they do not
    hold back their owner's other tasks, nor other owners'.

    Binding runs when the gateway says tasks were submitted (``dispatch_many``), when a
    slot frees or a node becomes ready (``keys.SLOTS_CHANNEL``, see ``SlotListener``),
    and on every maintenance pass. All of it is in Redis, and a binding is checked and
    recorded by one script (assign.lua), so several scheduler processes can bind at once
    and each task is still bound once."""

    def __init__(
        self, *, app: Celery, store: TaskStore, registry: NodeRegistry, settings: Settings
    ) -> None:
        self.app = app
        self.store = store
        self.registry = registry
        self.settings = settings
        # Sessions keep browser state, so a session's tasks run in line (one_at_a_time).
        self.persistence = bool(settings.state_key.strip())
        self._lock = threading.Lock()

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

    def _alive(self, record: TaskRecord, snapshot: tuple[dict[str, NodeInfo], int]) -> set[str]:
        """The nodes the task may still get: alive (a fresh heartbeat), not drained, and
        matching its filter; ready or not. A task waits while one of them is starting
        (not ready yet, or restarting) or ending its warm shutdown, and fails at once,
        at submit or while it waits, when there is none: its nodes died or were drained."""
        nodes, read_ms = snapshot
        dead_after_ms = int(self.settings.node_dead_after_s * 1000)
        node_filter = record.request.filter
        return {
            n.uid
            for n in nodes.values()
            if n.live(read_ms, dead_after_ms) and not n.drained and node_filter.matches(n)
        }

    def _read_nodes(self) -> tuple[dict[str, NodeInfo], int]:
        return {n.uid: n for n in self.registry.all()}, self.store.now_ms()

    def _read(
        self, task_ids: list[str], min_heads: int = 0
    ) -> tuple[list[WaitingOwner], list[TaskRecord | None], tuple[dict[str, NodeInfo], int]]:
        """The fair queue's heads, the records of ``task_ids`` and a snapshot of the
        nodes, in one round trip."""

        def build(pipe: Pipeline) -> None:
            self.registry.read_all_into(pipe)
            self.store.read_waiting_into(
                pipe,
                owners=OWNERS_PER_READ,
                heads=SETTLE_HEADS_PER_OWNER if min_heads else HEADS_PER_OWNER,
                task_ids=task_ids,
                dead_after_ms=int(self.settings.node_dead_after_s * 1000),
                prefetch=self.settings.node_prefetch,
                min_heads=min_heads,
            )

        nodes_reply, waiting_reply = scripts.run(
            self.store.redis, build, [self.registry.all_script, self.store.waiting_script]
        )
        read_ms = self.store.now_ms()  # liveness is judged as of the read, not later
        nodes = {n.uid: n for n in self.registry.parse_all(nodes_reply)}
        owners, records = self.store.parse_waiting(task_ids, waiting_reply)
        return owners, records, (nodes, read_ms)

    def dispatch_many(self, task_ids: list[str]) -> None:
        """The gateway's message: these tasks were submitted. Those no live node matches
        fail at once; then waiting tasks are bound where nodes have room."""
        self.bind(task_ids)

    def bind(self, submitted: list[str] | None = None, *, settle: bool = False) -> int:
        """Bind waiting tasks until no node has room or nothing waits; returns how many
        placements it made. One pass at a time in a process (the others wait for it).
        ``settle`` (the maintenance pass): first look at the first waiting tasks even
        when no node has room, and fail those that cannot wait any longer (past their
        deadline, or matched by no live node since theirs died)."""
        with self._lock:
            placed, admit = 0, list(submitted or ())
            min_heads = SETTLE_HEADS if settle else 0
            for _ in range(MAX_READS):
                owners, records, snapshot = self._read(admit, min_heads)
                self._fail_unroutable(admit, records, snapshot)
                turns = [_Turn(o) for o in owners]
                if min_heads:
                    for turn in turns:
                        self._bind_one(turn, snapshot, {})  # with no room: settles only
                admit, min_heads = [], 0
                made, read_again = self._bind_from(turns, snapshot)
                placed += made
                if not read_again:
                    break
            return placed

    def _fail_unroutable(
        self,
        task_ids: list[str],
        records: list[TaskRecord | None],
        snapshot: tuple[dict[str, NodeInfo], int],
    ) -> None:
        """Fail at once the just-submitted tasks that no live node matches at all (and
        those whose record cannot be read), rather than let them wait."""
        unroutable: list[tuple[str, str]] = []
        unreadable: list[tuple[str, str]] = []
        for task_id, record in zip(task_ids, records, strict=True):
            if record is None or record.status.terminal or record.attempts:
                continue
            if record.request_error:
                log.error("unreadable task record: %s", record.request_error)
                unreadable.append((task_id, record.request_error))
                continue
            if not self._alive(record, snapshot):
                unroutable.append((task_id, no_node_error(record.request.filter)))
        self._fail(unreadable, "dispatch_error")
        self._fail(unroutable, "no_node")

    def _fail(self, failures: list[tuple[str, str]], reason: str) -> None:
        if failures:
            # Only while still queued: another scheduler may have bound it meanwhile.
            failed = self.store.fail_many(failures, only_if_queued=True)
            metrics.TASKS_FAILED.labels(reason).inc(sum(failed))

    def _bind_from(
        self, turns: list[_Turn], snapshot: tuple[dict[str, NodeInfo], int]
    ) -> tuple[int, bool]:
        """Bind from what was read; returns how many placements it made, and whether to
        read again: an owner's heads ran out (bound or settled) while more of its tasks
        wait, or the state moved under us (another scheduler bound a task or filled a
        node first)."""
        nodes, read_ms = snapshot
        dead_after_ms = int(self.settings.node_dead_after_s * 1000)
        everyone = NodeFilter()
        live = eligible_nodes(
            list(nodes.values()), everyone, now_ms=read_ms, dead_after_ms=dead_after_ms
        )
        room = {n.uid: n.capacity + self.settings.node_prefetch - n.inflight for n in live}
        placed = 0
        while any(free > 0 for free in room.values()):
            progress = False
            for turn in sorted(turns, key=lambda t: (t.pass_, t.owner.owner)):
                outcome = self._bind_one(turn, snapshot, room)
                if outcome is _Outcome.CONFLICT:
                    return placed, True
                if outcome is _Outcome.PLACED:
                    placed += 1
                    progress = True
                    break  # the owners' order has changed
            if not progress:
                # Room is left that no task read can use: look past the tasks that
                # wait for busy nodes, so that they do not hold back their owner's next.
                blocked = [t for t in turns if t.blocked]
                if not blocked:
                    break
                for turn in blocked:
                    turn.read_more(self.store)
        unread = len(turns) >= OWNERS_PER_READ or any(t.unread for t in turns)
        # Settling tasks (timed out, unroutable, finished) is progress too: those read
        # may all have been settled while tasks behind them wait for the free room.
        settled = any(t.settled for t in turns)
        return placed, (placed > 0 or settled) and unread

    def _bind_one(
        self, turn: _Turn, snapshot: tuple[dict[str, NodeInfo], int], room: dict[str, int]
    ) -> _Outcome | None:
        """Bind the owner's first waiting task that a node with room can take; a task
        that cannot wait any longer (finished, gone, past its deadline, or matched by no
        live node) is settled on the way."""
        owner = turn.owner.owner
        # Sessions with a task read earlier in this call that is still waiting: their
        # later tasks wait behind it (a session's tasks run in submit order).
        held: set[str] = set()
        for task_id, record in list(turn.heads):
            if record is None or record.status.terminal:
                turn.settle(task_id)
                self.store.unwait(owner, [task_id])
                continue
            queued = not record.attempts
            if record.request_error and queued:
                turn.settle(task_id)
                self._fail([(task_id, record.request_error)], "dispatch_error")
                continue
            if queued and record.deadline_ms <= snapshot[1]:
                turn.settle(task_id)
                timeout_ms = record.deadline_ms - record.created_ms
                self._fail([(task_id, f"timed out after {timeout_ms} ms")], "timeout")
                continue
            serial = one_at_a_time(record, self.persistence) if queued else None
            if serial is not None:
                if serial in held or serial in turn.busy_sessions:
                    continue  # an earlier task of its session waits or runs
                held.add(serial)
            node_filter, candidates = self._candidates(record, snapshot)
            used = {a.node for a in record.attempts}
            bound = sum(1 for a in record.attempts if not a.replaces)
            alive = self._alive(record, snapshot)
            copies = min(record.request.fanout, bound + sum(1 for n in alive if n not in used))
            if not queued and record.deadline_ms <= snapshot[1]:
                copies = bound  # no further copy: it could not run before the deadline
            if copies > bound and queued and turn.at_max_active:
                continue  # a fanout task's further copies may still go: it counts once
            if copies <= bound:
                turn.settle(task_id)
                if queued:  # no live node matches it now: as at submit
                    self._fail([(task_id, no_node_error(node_filter))], "no_node")
                else:  # a fanout task bound on every node left that matches
                    self.store.assign(task_id, [], copies=bound)
                    self.store.settle(task_id)  # if the copies bound have all failed
                continue
            with_room = [c for c in candidates if room.get(c.uid, 0) > 0 and c.uid not in used]
            if not with_room:
                continue  # it waits; the owner's next task may go first
            session = record.request.session_key
            preferred = self.store.session_node(record.owner, session) if session else None
            if (
                queued
                and preferred
                and any(c.uid == preferred for c in candidates)
                and not any(c.uid == preferred for c in with_room)
            ):
                continue  # it waits for its session's node, which is alive but full
            chosen = choose_nodes(
                with_room, copies - bound, node_filter=node_filter, preferred=preferred
            )
            affinity = (
                SessionAffinity(
                    record.owner,
                    session,
                    self.settings.session_affinity_ttl_s,
                    one_at_a_time=serial is not None,
                )
                if session and queued
                else None
            )
            with task_logging(task_id), metrics.DISPATCH_LATENCY.time():
                first = self._place(record, chosen, affinity=affinity, copies=copies)
            if first == -5 and serial is not None:
                turn.busy_sessions.add(serial)  # another task of the session runs
                continue
            if first in (-2, -3, -4):
                return _Outcome.CONFLICT
            if first <= 0:  # finished or gone meanwhile
                turn.settle(task_id)
                continue
            turn.drop(task_id)  # bound; read again for more copies
            for node in chosen:  # as assign.lua counted them
                room[node.uid] -= 1
                snapshot[0][node.uid] = replace(node, inflight=node.inflight + 1)
            turn.pass_ += len(chosen) / turn.owner.weight
            turn.active += 1 if queued else 0
            return _Outcome.PLACED
        return None

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
        copies: int | None = None,
    ) -> int:
        """Record the attempts, then publish them (see ``TaskStore.assign`` for what a
        binding checks, and for the codes it answers when it places nothing)."""
        prefetch = self.settings.node_prefetch
        placements = [
            Placement(
                node=n.uid,
                queue=n.queue,
                country=n.country,
                celery_id=str(uuid.uuid4()),
                replaces=replaces,
                limit=0 if replaces else n.capacity + prefetch,
            )
            for n in nodes
        ]
        first = self.store.assign(
            record.task_id,
            placements,
            initial=not replaces,
            affinity=affinity,
            copies=copies,
            attempts_read=None if replaces else len(record.attempts),
        )
        if first <= 0:
            return first
        metrics.ATTEMPTS.labels("redispatch" if replaces else "initial").inc(len(placements))
        if not record.attempts:
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


class SlotListener:
    """Binds waiting tasks whenever a slot frees or a node becomes ready: a thread that
    follows ``keys.SLOTS_CHANNEL``. Events that arrive during a pass are folded into one
    more pass. A lost event costs at most one maintenance interval, whose pass binds too."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="slot-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        follow_channel(
            self.dispatcher.store.slot_events,
            self._follow,
            self._stop,
            lost="slot events lost, following again: %s",
            failed="binding after a freed slot failed",
        )

    def _follow(self, pubsub: PubSub) -> None:
        while not self._stop.is_set():
            if pubsub.get_message(timeout=1.0) is None:
                continue
            while pubsub.get_message(timeout=0) is not None:
                pass  # one pass serves every slot freed so far
            self.dispatcher.bind()
