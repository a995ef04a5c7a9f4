"""What a node's main process does when one of its pool processes dies mid-attempt (the
OOM killer, a crash, a SIGKILL): Celery respawns the process, but nothing else would
end the attempt before its deadline, since the node's heartbeat, from the main process,
never stops. So the main process reports the attempt lost at once (the scheduler moves
or fails it, as for a dead node; fencing keeps any late report from winning), and reaps
what the dead process left running: its Playwright driver and Chromium.

The main process is made a child subreaper (Linux ``PR_SET_CHILD_SUBREAPER``), so those
orphans become its own children instead of init's, and can be found and ended.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import signal

from shared.records import AttemptState, TaskStore
from shared.registry import NodeRegistry

log = logging.getLogger(__name__)

PR_SET_CHILD_SUBREAPER = 36
_SIGNAL = re.compile(r"signal (\d+)")


def become_subreaper() -> bool:
    """Orphans of this process's descendants are re-parented to it (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def lost_error(exception: BaseException) -> str:
    """``worker process lost (signal 9)`` from Celery's WorkerLostError."""
    found = _SIGNAL.search(str(exception))
    return f"worker process lost (signal {found.group(1)})" if found else "worker process lost"


def report_lost(store: TaskStore, task_id: str, attempt: int, node: str, error: str) -> None:
    log.warning(
        "attempt lost with its worker process",
        extra={"task_id": task_id, "attempt": attempt, "error": error},
    )
    store.report_lost(task_id, attempt, node, error)


def report_previous_incarnation(store: TaskStore, registry: NodeRegistry, node: str) -> int:
    """At start, before any process of this node runs an attempt: every attempt still
    running under this uid belongs to a previous run of the node (killed, then restarted
    by its supervisor before it could be declared dead). Returns how many were reported."""
    reported = 0
    for task_id, attempt in registry.pending_attempts(node):
        if store.attempt_state(task_id, attempt) == AttemptState.RUNNING:
            report_lost(store, task_id, attempt, node, f"node {node} restarted")
            reported += 1
    return reported


def _stat(pid: int) -> tuple[int, str, str] | None:
    """(parent pid, state, command name) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            head, _, rest = f.read().rpartition(")")
    except OSError:
        return None
    fields = rest.split()
    return int(fields[1]), fields[0], head.partition("(")[2]


def gone(pid: int) -> bool:
    """Whether no process runs under ``pid``, or only a zombie. Without /proc (not
    Linux), asked with signal 0: a process of another user counts as running."""
    if os.path.isdir("/proc/self"):
        stat = _stat(pid)
        return stat is None or stat[1] == "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _executable(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


_killed: set[int] = set()  # orphans this process killed and has not reaped yet


def reap_orphans() -> list[int]:
    """End the processes re-parented to this one that are not its pool processes (those
    run this process's own executable): the driver and browser of a dead pool process.
    Returns the pids it signalled. It reaps the orphans that ended, never a pool
    process: those are Celery's to reap."""
    for pid in list(_killed):
        with contextlib.suppress(ChildProcessError, OSError):
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                continue
        _killed.discard(pid)
    me, own = os.getpid(), _executable(os.getpid())
    own_name = (_stat(me) or (0, "", ""))[2]
    orphans = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        stat = _stat(pid)
        if stat is None or stat[0] != me:
            continue
        if stat[1] == "Z":
            # An orphan that ended by itself (Chromium closed by its driver); a pool
            # process has this process's name, and is Celery's to reap.
            if stat[2] != own_name:
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(pid, os.WNOHANG)
            continue
        executable = _executable(pid)
        if executable and executable != own:
            orphans.append(pid)
    for pid in orphans:
        with contextlib.suppress(OSError):
            if os.getpgid(pid) == pid:  # Chromium leads a process group of its own
                os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        _killed.add(pid)
    if orphans:
        log.warning("ended processes a dead worker process left", extra={"pids": orphans})
    return orphans


def prune_browsers(registry: NodeRegistry, node: str) -> None:
    """Forget the browsers of processes that are gone (a killed process never says)."""
    for pid in registry.browser_pids(node):
        if gone(pid):
            registry.browser_down(node, pid)
