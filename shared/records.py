"""Task records in Redis: the source of truth for every task and its attempts.

``TaskStore`` is the one door to this state: nothing outside ``shared/`` writes these
keys or builds their names. Every change to a record, and every write that must agree
with one (the queued and deadline indexes, a session's affinity, the redispatch count),
runs as a Lua script in ``shared/lua``, so that a status never moves backwards, a
terminal status is written once, and exactly one attempt wins. The few plain commands
left here touch one key each and never a record (the unpublished set, the list of lost
attempts).
"""

from __future__ import annotations

import enum
import json
import logging
import uuid
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import redis
from redis.client import Pipeline, PubSub

from shared import defaults, keys, scripts
from shared.clock import Clock, system_clock, to_ms
from shared.request import TaskRequest
from shared.sessionstate import session_hash
from shared.users import UserPolicy
from shared.webhooks import Webhook

log = logging.getLogger(__name__)

NO_LIMITS = UserPolicy()


class TaskStatus(str, enum.Enum):
    QUEUED = "queued"
    ASSIGNED = "assigned"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED)


class AttemptState(str, enum.Enum):
    ASSIGNED = "assigned"
    RUNNING = "running"
    WON = "won"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def pending(self) -> bool:
        return self in (AttemptState.ASSIGNED, AttemptState.RUNNING)


@dataclass(frozen=True, kw_only=True)
class Attempt:
    number: int
    node: str
    queue: str
    country: str
    state: AttemptState
    celery_id: str
    assigned_ms: int | None
    started_ms: int | None
    finished_ms: int | None
    stopped_ms: int | None  # when a cancelled attempt's browser context was closed
    error: str | None
    files: tuple[str, ...]
    replaces: int  # 0, or the attempt this one re-dispatched after its node died
    egress: str  # "direct" or the proxy (without credentials) the node browsed through
    # {"count": N, "first": ["host:port", ...]}: connections the egress policy refused
    egress_refused: dict[str, Any] | None = None
    # What the attempt did with its session's browser state (shared/sessionstate.py).
    session: dict[str, Any] | None = None
    # The language model's calls and tokens (nodes/agent/llm/usage.py); None if none.
    llm: dict[str, Any] | None = None
    # A successful run's planner, plan and replay script (nodes/agent/agent.py ``run_info``).
    agent: dict[str, Any] | None = None
    # A failed run's downloaded files and trace, listed as a success's payload lists them.
    artifacts: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class TaskRecord:
    task_id: str
    owner: str
    status: TaskStatus
    request: TaskRequest
    created_ms: int
    deadline_ms: int
    assigned_ms: int | None
    started_ms: int | None
    finished_ms: int | None
    success: bool | None
    payload: str | None
    error: str | None
    winner: int | None
    attempts: tuple[Attempt, ...]
    # Why ``request`` could not be read (a record another version wrote, say); ``request``
    # then holds only the task's timeout, and the scheduler fails the task with this.
    request_error: str | None = None

    @property
    def winning_attempt(self) -> Attempt | None:
        return self.attempts[self.winner - 1] if self.winner else None

    @property
    def shown_attempt(self) -> Attempt | None:
        """The attempt whose screenshots the task shows: the winner; for a failed task,
        the attempt that failed last among those that left pictures (one lost with its
        node left none), else the one that failed last."""
        if self.winner:
            return self.winning_attempt
        if self.status is not TaskStatus.FAILED:
            return None
        failed = [a for a in self.attempts if a.state is AttemptState.FAILED]
        return max(
            failed, key=lambda a: (bool(a.files), a.finished_ms or 0, a.number), default=None
        )


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def _json_object(raw: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _parse(task_id: str, h: dict[str, str]) -> TaskRecord:
    attempts = []
    for n in range(1, int(h.get("attempts") or 0) + 1):
        p = f"a{n}:"
        attempts.append(
            Attempt(
                number=n,
                node=h.get(p + "node", ""),
                queue=h.get(p + "queue", ""),
                country=h.get(p + "country", ""),
                state=AttemptState(h.get(p + "state", "failed")),
                celery_id=h.get(p + "celery_id", ""),
                assigned_ms=_int(h.get(p + "assigned_ms")),
                started_ms=_int(h.get(p + "started_ms")),
                finished_ms=_int(h.get(p + "finished_ms")),
                stopped_ms=_int(h.get(p + "stopped_ms")),
                error=h.get(p + "error") or None,
                files=tuple(json.loads(h.get(p + "files") or "[]")),
                replaces=int(h.get(p + "replaces") or 0),
                egress=h.get(p + "egress", ""),
                egress_refused=json.loads(h[p + "egress_refused"])
                if h.get(p + "egress_refused")
                else None,
                session=_json_object(h.get(p + "session")),
                llm=_json_object(h.get(p + "llm")),
                agent=_json_object(h.get(p + "agent")),
                artifacts=_json_object(h.get(p + "artifacts")),
            )
        )
    success = h.get("success")
    created_ms, deadline_ms = int(h["created_ms"]), int(h["deadline_ms"])
    request_error = None
    try:
        request = TaskRequest.from_json(h["request"])
        if h.get("webhook"):
            request = replace(request, webhook=Webhook.from_json(h["webhook"]))
    except (KeyError, TypeError, ValueError) as exc:
        # One unreadable record must not stop a scheduler pass or its whole batch.
        request = TaskRequest(task="", timeout_ms=max(deadline_ms - created_ms, 1))
        request_error = f"the task record's request cannot be read ({type(exc).__name__}: {exc})"
    return TaskRecord(
        task_id=task_id,
        owner=h["owner"],
        status=TaskStatus(h["status"]),
        request=request,
        created_ms=created_ms,
        deadline_ms=deadline_ms,
        assigned_ms=_int(h.get("assigned_ms")),
        started_ms=_int(h.get("started_ms")),
        finished_ms=_int(h.get("finished_ms")),
        success=None if success in (None, "") else success == "1",
        payload=h.get("payload"),
        error=h.get("error") or None,
        winner=_int(h.get("winner")),
        attempts=tuple(attempts),
        request_error=request_error,
    )


def _load_script(name: str) -> str:
    lua = resources.files("shared") / "lua"
    return (lua / "common.lua").read_text() + "\n" + (lua / f"{name}.lua").read_text()


@dataclass(frozen=True, kw_only=True)
class Placement:
    """Where one attempt goes."""

    node: str
    queue: str
    country: str
    celery_id: str
    replaces: int = 0  # the attempt a re-dispatch stands in for
    # A binding places it only while the node holds fewer attempts (capacity plus
    # prefetch); 0: no limit.
    limit: int = 0


@dataclass(frozen=True)
class Refusal:
    """A submit refused by one of its owner's limits; nothing was stored for it."""

    limit: str  # max_active, max_queued or rate
    retry_after_ms: int


@dataclass(frozen=True)
class Replay:
    """A submit whose idempotency key is taken (by ``task_id``); nothing was stored.
    ``matches``: the key's first request had the same fingerprint (a replay); otherwise
    the key was used for another request (a mismatch)."""

    task_id: str
    matches: bool


@dataclass(frozen=True)
class WaitingOwner:
    """An owner with tasks waiting, as the binder reads it (shared/lua/waiting.lua)."""

    owner: str
    pass_: float
    weight: int
    max_active: int
    active: int
    waiting: int
    heads: list[TaskRecord | None]  # the first waiting tasks, in submit order
    head_ids: list[str]


@dataclass(frozen=True)
class SessionAffinity:
    """A session whose tasks go to one node while it can take them: the first placement
    of a task with a session key points the session at its node for ``ttl_s``."""

    owner: str
    session_key: str
    ttl_s: int
    # The session's tasks run one at a time, in submit order (its lock: keys.session_lock).
    one_at_a_time: bool = False


@dataclass(frozen=True)
class NewTask:
    """A record to create. The request is serialized here, in the submitting request, so
    that one odd request fails alone rather than the batch it is written in."""

    task_id: str
    owner: str
    request_json: str
    timeout_ms: int
    policy: UserPolicy = NO_LIMITS  # the owner's weight and limits, applied on create
    where: str = "any"  # see keys.waiting_where
    # An Idempotency-Key's sha256 hex ("" for none) and the fingerprint of the request
    # (gateway/idempotency.py): create.lua answers a Replay when the key is taken.
    idempotency_hash: str = ""
    fingerprint: str = ""
    webhook_json: str = field(default="", repr=False)  # Webhook.to_json(), or ""

    @classmethod
    def of(
        cls,
        task_id: str,
        *,
        owner: str,
        request: TaskRequest,
        policy: UserPolicy = NO_LIMITS,
        idempotency_hash: str = "",
        fingerprint: str = "",
    ) -> NewTask:
        node_filter = request.filter
        where = node_filter.country_iso or ("node" if node_filter.node_uid else "any")
        return cls(
            task_id,
            owner,
            request.to_json(),
            request.timeout_ms,
            policy,
            where,
            idempotency_hash,
            fingerprint,
            request.webhook.to_json() if request.webhook else "",
        )


# Delete an Idempotency-Key's hash if it still names the task (ARGV[1]).
FORGET_IDEMPOTENCY_KEY = """
if redis.call('HGET', KEYS[1], 'task_id') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class TaskStore:
    """Reads and changes task records. Safe to share between threads."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        record_ttl_s: int,
        clock: Clock = system_clock,
        idempotency_ttl_s: int = defaults.idempotency_ttl_s,
        task_list_max: int = defaults.task_list_max,
    ):
        self.redis = client
        self.record_ttl_s = record_ttl_s
        self.clock = clock
        self.idempotency_ttl_s = idempotency_ttl_s
        self.task_list_max = task_list_max
        self._create = client.register_script(_load_script("create"))
        self.read_script = client.register_script(_load_script("records"))
        self._assign = client.register_script(_load_script("assign"))
        self._claim = client.register_script(_load_script("claim"))
        self._finish = client.register_script(_load_script("finish"))
        self._fail = client.register_script(_load_script("fail"))
        self._lose = client.register_script(_load_script("lose"))
        self._stopped = client.register_script(_load_script("stopped"))
        self._unindex = client.register_script(_load_script("unindex"))
        self._redispatch = client.register_script(_load_script("redispatch"))
        self._lease = client.register_script(_load_script("lease"))
        self.waiting_script = client.register_script(_load_script("waiting"))
        self._position = client.register_script(_load_script("position"))
        self._settle = client.register_script(_load_script("settle"))
        self._forget_key = client.register_script(FORGET_IDEMPOTENCY_KEY)

    def now_ms(self) -> int:
        return to_ms(self.clock())

    def create(self, task_id: str, *, owner: str, request: TaskRequest) -> Refusal | None:
        """Write a new queued record, waiting for a node (no limits: see create_many)."""
        return self.create_many([NewTask.of(task_id, owner=owner, request=request)])[0]

    def create_many(self, tasks: list[NewTask]) -> list[Refusal | Replay | None]:
        """Write new queued records in one script call (atomic), each put in its owner's
        wait set unless one of the owner's limits refuses it; returns, per task, None or
        why it was refused (nothing is stored for a refused task), or a Replay when its
        idempotency key is taken (nothing stored either).
        One call rather than a transaction of an HSET per task: redis-py's cost per
        command made that 2.5 times as much CPU for a batch of 16."""
        if not tasks:
            return []
        now = self.now_ms()
        # The task list outlives its last task's record: that one may run up to 3 h, plus
        # the reaper's grace, before its record starts its record_ttl_s.
        list_ttl_s = self.record_ttl_s + 86_400
        args: list[Any] = [now, keys.PREFIX, self.idempotency_ttl_s, self.task_list_max]
        args.append(list_ttl_s)
        for task in tasks:
            p = task.policy
            args += [task.task_id, task.owner, task.request_json, now + task.timeout_ms]
            args += [p.weight, p.max_active, p.max_queued, repr(float(p.rate)), p.bucket]
            idem = task.idempotency_hash and keys.idempotency(task.owner, task.idempotency_hash)
            args += [task.where, idem, task.fingerprint]
        for i, task in enumerate(tasks, start=1):  # create.lua reads these after the tasks
            if task.webhook_json:
                args += [i, task.webhook_json]
        task_keys = [keys.task(task.task_id) for task in tasks]
        replies = self._create(keys=[*task_keys, keys.DEADLINES, keys.QUEUED], args=args)
        out: list[Refusal | Replay | None] = []
        for reply in replies:
            limit, _, detail = str(reply).partition(" ")
            if limit == "ok":
                out.append(None)
            elif limit in ("replay", "mismatch"):
                out.append(Replay(detail, matches=limit == "replay"))
            else:
                out.append(Refusal(limit, int(detail)))
        return out

    def get(self, task_id: str) -> TaskRecord | None:
        h = self.redis.hgetall(keys.task(task_id))
        return _parse(task_id, h) if h else None

    def read_into(self, pipe: Pipeline, task_ids: list[str]) -> None:
        """Queue the read of ``task_ids`` on ``pipe`` as one script call (see
        shared/scripts.py; ``read_script``); ``parse_many`` reads its reply."""
        scripts.evalsha(pipe, self.read_script, [keys.task(t) for t in task_ids], [])

    @staticmethod
    def parse_many(task_ids: list[str], reply: list[list[str]]) -> list[TaskRecord | None]:
        """Records from a batch read; one that cannot be read at all (a field missing,
        written by hand or by another version) is None, as if gone, so that it does not
        stop the scheduler's pass over the others (the reaper fails it at its deadline)."""
        out: list[TaskRecord | None] = []
        for task_id, flat in zip(task_ids, reply, strict=True):
            try:
                out.append(_parse(task_id, dict(zip(flat[0::2], flat[1::2], strict=True))))
            except (KeyError, ValueError, TypeError) as exc:
                if flat:
                    log.error("unreadable task record %s: %r", task_id, exc)
                out.append(None)
        return out

    def attempt_state(self, task_id: str, attempt: int) -> AttemptState | None:
        state = self.redis.hget(keys.task(task_id), f"a{attempt}:state")
        return AttemptState(state) if state else None

    def mark_stopped(self, task_id: str, attempt: int) -> None:
        """A cancelled attempt's browser context is closed: record when, for stop latency."""
        self._stopped(keys=[keys.task(task_id)], args=[attempt, self.now_ms()])

    def assign(
        self,
        task_id: str,
        placements: list[Placement],
        *,
        initial: bool = True,
        affinity: SessionAffinity | None = None,
        copies: int | None = None,
        attempts_read: int | None = None,
    ) -> int:
        """Record new attempts; returns the first new attempt number, or: 0 if finished,
        -1 if missing, -2 if a binding (``initial``) finds the task no longer waiting
        (bound already), -3 if a placement's node holds its ``limit`` already, -4 if the
        owner is at its max_active (assign.lua); -2 too if ``attempts_read`` is given and
        the task has another number of attempts by now. A binding takes the task out of its
        owner's wait set once ``copies`` attempts (default: these placements) are bound.
        Not ``initial``: a re-dispatch, which skips the wait set and the limits. With
        ``affinity``, a placement also points the session at the first placement's node;
        with its ``one_at_a_time``, a binding answers -5 while another task of the
        session is placed and not finished, and takes the session's lock otherwise."""
        ttl_s = affinity.ttl_s if affinity else 0
        mode = "bind" if initial else "replace"
        args: list[Any] = [task_id, self.now_ms(), keys.PREFIX, mode, ttl_s]
        args.append(copies if copies is not None else len(placements))
        args.append("" if attempts_read is None else attempts_read)
        for pl in placements:
            args += [pl.node, pl.queue, pl.country, pl.celery_id, pl.replaces, pl.limit]
        script_keys = [keys.task(task_id)]
        if affinity:
            script_keys.append(keys.affinity(affinity.owner, affinity.session_key))
            if affinity.one_at_a_time:
                lock = keys.session_lock(
                    affinity.owner, session_hash(affinity.owner, affinity.session_key)
                )
                script_keys.append(lock)
        return int(self._assign(keys=script_keys, args=args))

    def read_waiting_into(
        self,
        pipe: Pipeline,
        *,
        owners: int,
        heads: int,
        task_ids: list[str],
        dead_after_ms: int,
        prefetch: int,
        min_heads: int = 0,
    ) -> None:
        """Queue the read of the fair queue (the ``owners`` first owners and each one's
        ``heads`` first waiting tasks, as far as nodes have room for them) and of
        ``task_ids`` on ``pipe`` (waiting.lua); ``parse_waiting`` reads its reply."""
        args = [keys.PREFIX, owners, heads, self.now_ms(), dead_after_ms, prefetch, min_heads]
        args += task_ids
        scripts.evalsha(pipe, self.waiting_script, [], args)

    @staticmethod
    def parse_waiting(
        task_ids: list[str], reply: list
    ) -> tuple[list[WaitingOwner], list[TaskRecord | None]]:
        owners_reply, records_reply = reply
        owners = []
        for owner, pass_, weight, max_active, active, waiting, heads in owners_reply:
            head_ids = [head[0] for head in heads]
            owners.append(
                WaitingOwner(
                    owner=owner,
                    pass_=float(pass_),
                    weight=max(int(float(weight)), 1),
                    max_active=int(max_active),
                    active=int(active),
                    waiting=int(waiting),
                    heads=TaskStore.parse_many(head_ids, [head[1] for head in heads]),
                    head_ids=head_ids,
                )
            )
        return owners, TaskStore.parse_many(task_ids, records_reply)

    def waiting_heads(
        self, owner: str, *, count: int, skip: set[str]
    ) -> list[tuple[str, TaskRecord | None]]:
        """The owner's first ``count`` waiting tasks (submit order) but those in
        ``skip``, with their records: the binder's deeper look when the first ones
        cannot go yet."""
        first = self.redis.zrange(keys.waiting(owner), 0, count - 1)
        task_ids = [t for t in first if t not in skip]
        if not task_ids:
            return []
        reply = self.read_script(keys=[keys.task(t) for t in task_ids])
        return list(zip(task_ids, self.parse_many(task_ids, reply), strict=True))

    def queue_position(self, task_id: str, *, max_owners: int = 1000) -> int | None:
        """About how many tasks will be bound before this waiting one (position.lua);
        None if it is not waiting."""
        args = [keys.PREFIX, task_id, max_owners]
        position = int(self._position(keys=[keys.task(task_id)], args=args))
        return None if position < 0 else position

    def waiting_count(self, owner: str) -> int:
        return int(self.redis.zcard(keys.waiting(owner)))

    def waiting_by_owner(self, limit: int = 1000) -> dict[str, int]:
        """How many tasks each owner has waiting for a node (the first ``limit`` owners
        of the fair queue), in two round trips."""
        owners = self.redis.zrange(keys.FAIR, 0, limit - 1)
        pipe = self.redis.pipeline(transaction=False)
        for owner in owners:
            pipe.zcard(keys.waiting(owner))
        return {owner: int(n) for owner, n in zip(owners, pipe.execute(), strict=True)}

    def waiting_where(self, places: list[str]) -> dict[str, int]:
        """How many tasks wait for a node of each place (a country, "any", "node")."""
        pipe = self.redis.pipeline(transaction=False)
        for place in places:
            pipe.zcard(keys.waiting_where(place))
        return {place: int(n) for place, n in zip(places, pipe.execute(), strict=True)}

    def unwait(self, owner: str, task_ids: list[str]) -> None:
        """Take tasks no longer waiting (placed, finished or gone) out of the wait set;
        the binder's clean-up of what it found there. A task still queued stays."""
        if task_ids:
            self._drop_settled(keys.waiting(owner), f"wait:{owner}", task_ids)

    def session_node(self, owner: str, session_key: str) -> str | None:
        """The node a user's session last went to, while its affinity lasts."""
        return self.redis.get(keys.affinity(owner, session_key))

    def count_redispatch(self, task_id: str, attempt: int | None = None) -> int:
        """Count one more re-dispatch of the task; returns the count (-1 if it is gone).
        With ``attempt`` (the lost attempt it replaces), the loss is counted once: asked
        again about the same attempt, it answers the count that loss gave."""
        args = [] if attempt is None else [attempt]
        return int(self._redispatch(keys=[keys.task(task_id)], args=args))

    def mark_published(self, task_id: str, attempts: list[int]) -> None:
        """The attempts' messages are on their node queues (see ``keys.UNPUBLISHED``)."""
        self.redis.zrem(keys.UNPUBLISHED, *(f"{task_id}|{n}" for n in attempts))

    def unpublished(self, assigned_before_ms: int, limit: int = 100) -> list[tuple[str, int]]:
        """Attempts recorded before the given time whose message may never have been sent."""
        members = self.redis.zrangebyscore(
            keys.UNPUBLISHED, 0, assigned_before_ms, start=0, num=limit
        )
        return [(task_id, int(n)) for task_id, _, n in (m.rpartition("|") for m in members)]

    def claim(
        self, task_id: str, attempt: int, node: str, egress: str = "direct", *, claim_id: str = ""
    ) -> str:
        """Fence an attempt before running it: 'ok', or why the node must drop it.
        ``claim_id``: new for each delivery of the attempt's message; the same call again
        (a resend) is 'ok' again, another delivery of the message is refused (claim.lua)."""
        args = [attempt, node, self.now_ms(), egress, claim_id]
        return str(self._claim(keys=[keys.task(task_id)], args=args))

    def finish(
        self,
        task_id: str,
        attempt: int,
        node: str,
        *,
        success: bool,
        payload: str = "",
        error: str = "",
        files: tuple[str, ...] = (),
        egress_refused: str = "",
        llm: str = "",
        agent: str = "",
        artifacts: str = "",
    ) -> str:
        """Report an attempt's outcome: 'won', 'failed' or 'fenced' (see finish.lua).
        ``egress_refused``: the attempt's ``info.egress_refused`` as JSON, or ""; ``llm``:
        its ``info.llm`` (model calls and tokens) as JSON, or ""; ``agent``: a success's
        planner, plan and replay script as JSON, or ""; ``artifacts``: a failure's
        downloaded files and trace as JSON (a success lists them in its payload), or ""."""
        args = [
            task_id,
            attempt,
            node,
            "1" if success else "0",
            self.now_ms(),
            keys.PREFIX,
            payload,
            error,
            json.dumps(list(files)),
            self.record_ttl_s,
            egress_refused,
            llm,
            agent,
            artifacts,
        ]
        return str(self._finish(keys=[keys.task(task_id)], args=args))

    def fail(
        self, task_id: str, error: str, *, only_if_queued: bool = False, call_id: str = ""
    ) -> bool:
        """Fail an unfinished task and cancel its attempts; False if it had already
        finished (or, with ``only_if_queued``, had left the queued state)."""
        return self.fail_many([(task_id, error)], only_if_queued=only_if_queued, call_id=call_id)[0]

    def fail_many(
        self, failures: list[tuple[str, str]], *, only_if_queued: bool = False, call_id: str = ""
    ) -> list[bool]:
        """``fail`` for each (task id, error), in one script call. ``call_id`` names the
        call (a new one by default): the same call sent again (redis-py resends a script
        after a timeout or a dropped connection) answers as it did the first time, and
        any other call finds the task finished, so each failure is counted once even when
        two scheduler passes fail the same task in the same millisecond."""
        if not failures:
            return []
        args: list[Any] = [self.now_ms(), keys.PREFIX, self.record_ttl_s]
        args.append("1" if only_if_queued else "0")
        args.append(call_id or uuid.uuid4().hex)
        for task_id, error in failures:
            args += [task_id, error]
        task_keys = [keys.task(task_id) for task_id, _ in failures]
        return [int(done) == 1 for done in self._fail(keys=task_keys, args=args)]

    def forget_idempotency_keys(self, tasks: list[NewTask]) -> None:
        """Free the Idempotency-Keys these tasks took, each only while it still names its
        task: a task failed before it was queued (the broker was down) is no answer to
        the client's retry with the same key."""
        for task in tasks:
            if task.idempotency_hash:
                key = keys.idempotency(task.owner, task.idempotency_hash)
                self._forget_key(keys=[key], args=[task.task_id])

    def settle(self, task_id: str) -> bool:
        """Fail a fanout task whose bound copies all failed, now that no more of its
        copies wait for a node (settle.lua); False if it is finished or still going."""
        args = [task_id, self.now_ms(), keys.PREFIX, self.record_ttl_s]
        return int(self._settle(keys=[keys.task(task_id)], args=args)) == 1

    def lose(self, task_id: str, attempt: int, error: str, *, settle: bool) -> bool:
        """Mark a pending attempt failed because its node died."""
        args = [task_id, attempt, self.now_ms(), keys.PREFIX, error, self.record_ttl_s]
        args.append("1" if settle else "0")
        return int(self._lose(keys=[keys.task(task_id)], args=args)) == 1

    def report_lost(self, task_id: str, attempt: int, node: str, error: str) -> None:
        """A node's process died with this attempt: the scheduler recovers it, as it
        recovers a dead node's (``take_lost``)."""
        entry = {"task_id": task_id, "attempt": attempt, "node": node, "error": error}
        self.redis.lpush(keys.LOST, json.dumps(entry))

    def take_lost(self, limit: int = 100) -> list[tuple[str, int, str, str]]:
        """The attempts nodes reported lost, oldest first, removed from the list."""
        taken = []
        for _ in range(limit):
            raw = self.redis.rpop(keys.LOST)
            if raw is None:
                break
            entry = json.loads(raw)
            taken.append((entry["task_id"], int(entry["attempt"]), entry["node"], entry["error"]))
        return taken

    def unqueue_settled(self, task_ids: list[str]) -> int:
        """Drop from the queued index those of ``task_ids`` no longer queued (placed,
        finished, or gone); a task still queued stays, to be dispatched again."""
        return self._drop_settled(keys.QUEUED, "queued", task_ids)

    def drop_settled_deadlines(self, task_ids: list[str]) -> int:
        """Drop from the deadline index those of ``task_ids`` finished or gone."""
        return self._drop_settled(keys.DEADLINES, "deadlines", task_ids)

    def _drop_settled(self, index: str, kind: str, task_ids: list[str]) -> int:
        if not task_ids:
            return 0
        script_keys = [index, *(keys.task(t) for t in task_ids)]
        return int(self._unindex(keys=script_keys, args=[kind, *task_ids]))

    def stale_queued(self, created_before_ms: int, limit: int = 100) -> list[str]:
        """Tasks still waiting for their first dispatch, created before the given time."""
        return list(self.redis.zrangebyscore(keys.QUEUED, 0, created_before_ms, start=0, num=limit))

    def overdue(self, before_ms: int, limit: int = 100, *, after_ms: int = -1) -> list[str]:
        """Unfinished task ids whose deadline is earlier than ``before_ms`` (and later
        than ``after_ms``), earliest first."""
        low = f"({after_ms}" if after_ms >= 0 else 0
        return list(self.redis.zrangebyscore(keys.DEADLINES, low, before_ms, start=0, num=limit))

    def stats(self) -> dict[str, str]:
        """Cluster-wide counters the record scripts keep (``keys.STATS``)."""
        return self.redis.hgetall(keys.STATS)

    def take_maintenance_lease(self, holder: str, lease_ms: int) -> bool:
        """Take or renew the maintenance leader's lease; False while another holds it."""
        return self._lease(keys=[keys.MAINTENANCE_LOCK], args=[holder, lease_ms]) == 1

    def maintenance_leader(self) -> str | None:
        """Who holds the maintenance lease now, if anyone."""
        return self.redis.get(keys.MAINTENANCE_LOCK)

    def completions(self) -> PubSub:
        """A subscription to task completions: each message's data is a task id. The
        first message confirms the subscription; nothing published after it is missed."""
        pubsub = self.redis.pubsub(ignore_subscribe_messages=False)
        pubsub.subscribe(keys.DONE_CHANNEL)
        return pubsub

    def slot_events(self) -> PubSub:
        """A subscription to freed slots and nodes that became ready (keys.SLOTS_CHANNEL).
        Subscription confirmations are not shown."""
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(keys.SLOTS_CHANNEL)
        return pubsub

    def cancellations(self) -> PubSub:
        """A subscription to attempt cancellations: each message's data is
        "<task_id> <attempt>". Subscription confirmations are not shown."""
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(keys.CANCEL_CHANNEL)
        return pubsub
