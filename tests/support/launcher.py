"""Helpers for the tests that run `browsing up` as a user does, and watch its processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from browsing.processes import children_map, start_time
from tests.conftest import alive

ROOT = Path(__file__).resolve().parents[2]


def user_env(tmp_path: Path) -> dict[str, str]:
    """A user's environment with no BROWSING_* variable, and XDG directories of the
    test's own, so the default data and runtime directories are the test's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROWSING_")}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "xdg-run")
    return env


def browsing_up(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "browsing.cli", "up", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )


def browsing(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """The console script a user runs in another terminal."""
    script = Path(sys.executable).parent / "browsing"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "browsing.cli"]
    return subprocess.run(argv + list(args), env=env, capture_output=True, text=True, timeout=60)


class Output:
    """The lines a process writes, collected by a thread, so a test can wait for one
    while it does other things."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout_s: float) -> re.Match:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r}; output: {self.lines}")


def child_of(launcher: int, marker: str, not_in: set[int] = frozenset()) -> int | None:
    """The launcher's child whose command line contains ``marker``."""
    for pid in children_map().get(launcher, []):
        if pid in not_in:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            return pid
    return None


def until(check, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if value := check():
                return value
        except Exception:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not true within {timeout_s} s")


def left_of(tree: list[tuple[int, int]]) -> list[str]:
    """What still runs of a tree known by (pid, start time)."""
    return alive([pid for pid, started in tree if start_time(pid) == started])
