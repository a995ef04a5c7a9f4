"""Redis key names, in one place so every component agrees on them."""

from __future__ import annotations

PREFIX = "browsing:"
DONE_CHANNEL = PREFIX + "done"  # PUBLISHed with a task id when the task reaches a terminal status
CANCEL_CHANNEL = (
    PREFIX + "cancel"
)  # PUBLISHed with "<task_id> <attempt>" when an attempt is cancelled
DEADLINES = PREFIX + "deadlines"  # zset: unfinished task id -> deadline (epoch ms)
QUEUED = PREFIX + "queued"  # zset: task id not dispatched yet -> creation time (epoch ms)
# zset: "<task_id>|<attempt>" recorded but not yet published to its node queue -> when
# recorded (epoch ms). The maintenance loop publishes what a killed scheduler left here.
UNPUBLISHED = PREFIX + "unpublished"
# hash: cluster-wide counters written by the record scripts (tasks_completed, tasks_failed,
# attempts_cancelled); the scheduler exports them as Prometheus counters.
STATS = PREFIX + "stats"
# list: JSON {task_id, attempt, node, error} pushed by a node whose worker process died
# with an attempt (or that restarted under the same uid); the scheduler recovers them.
LOST = PREFIX + "lost"
NODES = PREFIX + "nodes"  # set of node uids ever registered
API_KEYS = PREFIX + "apikeys"  # hash: key id -> "<user>:<sha256 hex of the secret>"
ADMIN_KEYS = PREFIX + "apikeys:admin"  # set: ids of created keys that may use /api/v1/admin
# zset: failed task id -> when it failed (epoch ms), the newest ``FAILURES_KEPT`` only;
# written by finalize_many (shared/lua/common.lua), read by GET /api/v1/admin/failures.
FAILURES = PREFIX + "failures"
FAILURES_KEPT = 200  # also in common.lua
MAINTENANCE_LOCK = PREFIX + "maintenance-leader"
# Late binding and fair share (scheduler/binding.py). A submitted task waits in its
# owner's wait set until a node has room for it:
# zset: owner -> pass (stride scheduling's virtual time), for owners with waiting tasks;
# the owner with the lowest pass is served next, and each attempt placed adds 1/weight.
FAIR = PREFIX + "fair"
# hash: "vtime" (the pass of the owner served last, where a newly waiting owner joins),
# "seq" (submit order), and per owner "pass:<owner>" (kept while it has nothing waiting),
# "w:<owner>" (weight) and "a:<owner>" (max tasks assigned or running at once; 0: none).
FAIR_STATE = PREFIX + "fair:state"
# PUBLISHed with a node's uid whenever one of its slots frees (an attempt ends, is
# cancelled or lost), and with "" when a node becomes ready: the scheduler binds then.
SLOTS_CHANNEL = PREFIX + "slots"


def task(task_id: str) -> str:
    return f"{PREFIX}task:{task_id}"


def node(uid: str) -> str:
    return f"{PREFIX}node:{uid}"


def node_attempts(uid: str) -> str:
    """Set of "<task_id>|<attempt>" that are assigned to or running on a node."""
    return f"{PREFIX}node:{uid}:attempts"


def node_browsers(uid: str) -> str:
    """Set of the pids of a node's processes whose browser is up."""
    return f"{PREFIX}node:{uid}:browsers"


def affinity(owner: str, session_key: str) -> str:
    return f"{PREFIX}affinity:{owner}:{session_key}"


def waiting(owner: str) -> str:
    """zset: the owner's task ids waiting for a node -> submit sequence number."""
    return f"{PREFIX}wait:{owner}"


def active(owner: str) -> str:
    """set: the owner's task ids placed on a node and not finished (assigned or running)."""
    return f"{PREFIX}active:{owner}"


def bucket(owner: str) -> str:
    """hash: the owner's submit rate token bucket: tokens, updated (epoch ms)."""
    return f"{PREFIX}bucket:{owner}"


def user(owner: str) -> str:
    """hash: a user's own weight and limits (shared/users.py), set by ``browsing keys``."""
    return f"{PREFIX}user:{owner}"


def waiting_where(where: str) -> str:
    """zset: waiting task ids by where their filter lets them run -> submit sequence:
    a country code (DE), "any" (no filter) or "node" (one node). For autoscaling."""
    return f"{PREFIX}waiting-where:{where}"


# Webhooks (shared/webhooks.py).
# zset: task id whose webhook is not delivered yet -> when its next try is due (epoch
# ms); finalize_many (shared/lua/common.lua) adds it with the terminal status.
WEBHOOK_OUTBOX = PREFIX + "webhooks:outbox"
# PUBLISHed with a task id when a task with a webhook finishes: deliverers wake at once.
WEBHOOK_CHANNEL = PREFIX + "webhooks"


def webhook(task_id: str) -> str:
    """hash: a task's webhook delivery: attempts, last_status, last_error, result,
    next_try_ms, delivered_ms, the body every try sends, and the current lease."""
    return f"{PREFIX}webhook:{task_id}"


def webhook_secret(owner: str) -> str:
    """hash: a user's own webhook signing secret: current, previous, rotated_ms."""
    return f"{PREFIX}webhook-secret:{owner}"


# Live step events (shared/events.py). PUBLISHed with a task id when the task's event
# stream grows or its status moves on (assigned, running); terminal statuses go to
# DONE_CHANNEL as before. The gateway's one listener per process wakes its SSE streams.
EVENTS_CHANNEL = PREFIX + "events"


def events(task_id: str) -> str:
    """stream: the task's step events (XADD by the node running the step, capped)."""
    return f"{PREFIX}events:{task_id}"


def owner_tasks(owner: str) -> str:
    """zset: the owner's task ids -> submit sequence number (``FAIR_STATE``'s seq), for
    GET /tasks, newest first. Written by create.lua; entries whose record has expired are
    dropped as listing meets them, and the oldest past ``task_list_max``."""
    return f"{PREFIX}tasks:{owner}"


def idempotency(owner: str, key_hash: str) -> str:
    """hash: an Idempotency-Key of the owner's (by its sha256 hex) -> task_id and the
    fingerprint of the request it created; expires after ``idempotency_ttl_s``."""
    return f"{PREFIX}idem:{owner}:{key_hash}"


# Browser state per session_key (shared/sessionstate.py).
def sessions(owner: str) -> str:
    """hash: the owner's sessions with a saved browser state: session key -> JSON
    {object, updated_ms, expires_ms, size, task_id}; written when a task that saved
    one finishes (common.lua's end_session), expiring with its newest entry."""
    return f"{PREFIX}sessions:{owner}"


def forgotten_sessions(owner: str) -> str:
    """hash: the owner's session keys forgotten (DELETE /sessions/{key}) -> when, ms; a
    task created before that does not put its state back in the index when it ends
    (common.lua's end_session). Kept as long as a task may run."""
    return f"{PREFIX}forgotten-sessions:{owner}"


def session_lock(owner: str, session_hash: str) -> str:
    """string: the task id of the session's task placed on a node and not finished
    (assign.lua takes it, common.lua's end_session frees it): the session's next task
    waits for it. ``session_hash``: sessionstate.session_hash(owner, session_key)."""
    return f"{PREFIX}session-lock:{owner}:{session_hash}"
