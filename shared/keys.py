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
MAINTENANCE_LOCK = PREFIX + "maintenance-leader"


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
