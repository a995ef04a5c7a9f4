"""A pool process's own directory for the files it writes while it runs: the downloads
directory, each attempt's artifacts, staged uploads, and (through TMPDIR) the Playwright
driver's and Chromium's temporary files, such as the browser profile.

One tree per process, named with its pid. A process that stops in order removes its own;
one that was killed (the OOM killer, a SIGKILL) cannot, so each pool process sweeps, as
it starts, the trees of processes that are gone. Celery starts a new pool process at
once after one dies, so a killed process's files go within a second or so.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from nodes.processes import gone

PREFIX = "browsing-scratch-"
# The machine's temporary directory, read before a pool process points TMPDIR at its own.
BASE = Path(tempfile.gettempdir())

_mine: tuple[int, Path] | None = None  # (pid, directory): a forked child makes its own


def scratch_dir() -> Path:
    """This process's directory, made on first use."""
    global _mine
    if _mine is None or _mine[0] != os.getpid():
        pid = os.getpid()
        _mine = (pid, Path(tempfile.mkdtemp(prefix=f"{PREFIX}{pid}-", dir=BASE)))
    return _mine[1]


def remove_own() -> None:
    """Remove this process's directory (at an orderly stop)."""
    global _mine
    if _mine is not None and _mine[0] == os.getpid():
        shutil.rmtree(_mine[1], ignore_errors=True)
        _mine = None


def sweep_gone() -> list[Path]:
    """Remove the directories of processes that are gone; returns them. A pid reused by
    another process since keeps its directory until that process is gone too."""
    removed = []
    for path in BASE.glob(PREFIX + "*"):
        pid = path.name[len(PREFIX) :].partition("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid() or not gone(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed
