"""Processes known by pid and start time, their trees read from /proc (Linux), and the
small waits the local launcher needs."""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import redis

POLL_S = 0.1


# Ports handed to servers are drawn from here, below the kernel's ephemeral range.
SERVER_PORTS_FROM = 10_000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Ports handed out on this machine in the last RESERVED_S seconds, by any process, and the
# time of each: not handed out again meanwhile (see free_port).
RESERVATIONS = Path(tempfile.gettempdir()) / "browsing-server-ports"
RESERVED_S = 120.0


def _ephemeral_low() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def free_port() -> int:
    """A free loopback port for a server to listen on.

    Drawn at random below the kernel's ephemeral range: a port the kernel hands out
    (``bind`` to port 0) can be taken, before the server binds it, by any outgoing
    connection's local end, which the kernel picks from that same range; with two test
    clusters starting at once beside busy clients, a gateway found its port taken.

    A port is free when drawn, but the server binds it later. So that two processes
    starting servers at once (two test workers, two ``browsing up``) never get the same
    one in that gap, each port handed out is noted in a file every caller on the machine
    reads under a lock, and not handed out again for RESERVED_S seconds. (Two workers once
    got one port for their Redis servers: the second server failed to bind, its cluster
    waited on the first one's, and the two clusters shared one database.)"""
    low = _ephemeral_low()
    with _reservations() as reserved:
        if low - SERVER_PORTS_FROM >= 1_000:
            for _ in range(50):
                port = random.randrange(SERVER_PORTS_FROM, low)
                if port in reserved or not _bindable(port):
                    continue  # handed out lately, or in use: draw again
                reserved[port] = time.time()
                return port
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        reserved[port] = time.time()
        return port


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextlib.contextmanager
def _reservations() -> Iterator[dict[int, float]]:
    """The ports handed out in the last RESERVED_S seconds (port: time), held under an
    exclusive lock on the file that records them, and written back on exit. Without a
    writable file (a read-only temp dir), an empty dict: nothing is shared then."""
    try:
        handle = open(RESERVATIONS, "a+")  # noqa: SIM115 - closed below
    except OSError:
        yield {}
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        handle.seek(0)
        now = time.time()
        reserved: dict[int, float] = {}
        for line in handle.read().split("\n"):
            port, _, when = line.partition(" ")
            with contextlib.suppress(ValueError):
                if now - float(when) < RESERVED_S:
                    reserved[int(port)] = float(when)
        yield reserved
        handle.seek(0)
        handle.truncate()
        handle.write("".join(f"{port} {when}\n" for port, when in reserved.items()))


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.RedisError, ValueError):
        return False


def wait_until(
    what: str,
    check: Callable[[], object],
    timeout_s: float,
    proc: subprocess.Popen | None = None,
) -> None:
    """Until ``check()`` is true; fails at once if ``proc`` exits meanwhile."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(POLL_S)
    raise TimeoutError(f"{what} not ready after {timeout_s:g} s")


def children_map() -> dict[int, list[int]]:
    """Parent pid -> child pids of every process, read once from /proc; empty elsewhere."""
    children: dict[int, list[int]] = {}
    proc_dir = Path("/proc")
    if not proc_dir.is_dir():
        return children
    for entry in proc_dir.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def descendants(root: int, children: dict[int, list[int]] | None = None) -> list[int]:
    """Every process below ``root`` (from ``children``, or a fresh read of /proc)."""
    children = children_map() if children is None else children
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def start_time(pid: int) -> int | None:
    """When a process started (clock ticks since boot), or None if it is gone: with its
    pid, it names one process, even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def identify(pids: list[int]) -> list[tuple[int, int]]:
    """(pid, start time) of those of ``pids`` still running."""
    return [(pid, started) for pid in pids if (started := start_time(pid)) is not None]


def still_running(processes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Those (pid, start time) that still name the same process."""
    return [(pid, started) for pid, started in processes if start_time(pid) == started]


def kill_all(processes: list[tuple[int, int]], sig: int) -> None:
    """Signal each (pid, start time) that still names the same process: a pid that was
    reaped and reused since belongs to someone else, and is left alone."""
    for pid, _ in still_running(processes):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
