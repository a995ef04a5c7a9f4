"""``browsing up`` keeps its cluster running the way a process manager does.

A child that exits (Redis, S3, the scheduler, a node, the gateway) is restarted after a
delay that doubles with each crash, and what is left of its process tree (pool workers,
Chromium, gunicorn workers holding the port) is killed first, as a crashed host loses
all of it. A child that crashes again and again is a crash loop: the supervisor gives
up, and ``browsing up`` stops everything and exits non-zero.
"""

from __future__ import annotations

import collections
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from browsing.cluster import LocalCluster
from browsing.processes import (
    children_map,
    descendants,
    identify,
    kill_all,
    still_running,
)

TICK_S = 0.25  # how often children are checked


@dataclass(frozen=True, kw_only=True)
class RestartPolicy:
    first_delay_s: float = 0.5
    max_delay_s: float = 10.0
    # A child up this long has recovered: its next crash waits first_delay_s again.
    stable_after_s: float = 30.0
    # This many crashes of one child within crash_window_s is a crash loop.
    crash_loop_count: int = 5
    crash_window_s: float = 60.0


@dataclass
class ChildState:
    delay_s: float
    restarts: int = 0
    up_since: float = 0.0
    restart_at: float | None = None  # set while a restart waits for its delay
    crashes: collections.deque[float] = field(default_factory=collections.deque)
    # The child's process tree at the last check: (pid, start time) pairs.
    tree: list[tuple[int, int]] = field(default_factory=list)


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class CrashLoop(Exception):
    """A child crashed too often in too short a time."""


class Supervisor:
    """Restarts the children of ``cluster`` that exit; see the module docstring."""

    def __init__(
        self,
        cluster: LocalCluster,
        log: Callable[[str], None],
        policy: RestartPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cluster = cluster
        self.log = log
        self.policy = policy or RestartPolicy()
        self.clock = clock
        now = clock()
        self.children = {
            name: ChildState(delay_s=self.policy.first_delay_s, up_since=now)
            for name in cluster.procs
        }

    def run(self, stop: threading.Event) -> int:
        """Until ``stop`` is set (0), or a crash loop (1). The caller stops the cluster."""
        while not stop.wait(TICK_S):
            try:
                self.check()
            except CrashLoop as exc:
                self.log(str(exc))
                return 1
        return 0

    def check(self) -> None:
        """Notice the children that exited, and restart those whose delay has passed."""
        now = self.clock()
        tree_of = children_map()
        for name, proc in list(self.cluster.procs.items()):
            child = self.children.setdefault(
                name, ChildState(delay_s=self.policy.first_delay_s, up_since=now)
            )
            if proc.poll() is None:
                child.tree = identify([proc.pid, *descendants(proc.pid, tree_of)])
                if now - child.up_since >= self.policy.stable_after_s:
                    child.delay_s = self.policy.first_delay_s
                continue
            self._crashed(name, child, proc.returncode, now, tree_of)
        for name, child in self.children.items():
            if child.restart_at is not None and now >= child.restart_at:
                child.restart_at = None
                child.up_since = self.clock()
                try:
                    self.cluster.restart(name)
                except OSError as exc:  # counts as a crash: backs off, and may be a loop
                    how = f"could not be started: {exc}"
                    self._schedule_restart(name, child, now, how, event=how)

    def _crashed(
        self,
        name: str,
        child: ChildState,
        returncode: int,
        now: float,
        tree_of: dict[int, list[int]],
    ) -> None:
        del self.cluster.procs[name]
        # What survived the child: orphans still known by pid and start time, and what
        # they started since the last check.
        survivors = still_running(child.tree)
        late = identify([d for pid, _ in survivors for d in descendants(pid, tree_of)])
        kill_all(survivors + late, signal.SIGKILL)
        child.tree = []
        how = describe_exit(returncode)
        self._schedule_restart(name, child, now, how, event=f"exited ({how})")

    def _schedule_restart(
        self, name: str, child: ChildState, now: float, how: str, *, event: str
    ) -> None:
        """Count a crash; restart after the back-off, or raise CrashLoop."""
        child.crashes.append(now)
        while child.crashes and now - child.crashes[0] > self.policy.crash_window_s:
            child.crashes.popleft()
        if len(child.crashes) >= self.policy.crash_loop_count:
            raise CrashLoop(
                f"{name} crashed {len(child.crashes)} times within "
                f"{self.policy.crash_window_s:g} s (last: {how}); stopping the cluster. "
                f"Its log: {self.cluster.log_path(name)}"
            )
        child.restarts += 1
        child.restart_at = now + child.delay_s
        self.log(f"{name} {event}; restart {child.restarts} in {child.delay_s:g} s")
        child.delay_s = min(child.delay_s * 2, self.policy.max_delay_s)
