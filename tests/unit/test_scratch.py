"""A pool process's scratch tree: made on first use, and removed by the next process to
start once its owner is gone (killed, so it could not remove it itself)."""

from __future__ import annotations

import subprocess
import sys

from nodes import scratch


def test_the_trees_of_gone_processes_are_swept_and_live_ones_kept(monkeypatch, tmp_path) -> None:  # noqa: ANN001
    monkeypatch.setattr(scratch, "BASE", tmp_path)
    monkeypatch.setattr(scratch, "_mine", None)
    mine = scratch.scratch_dir()
    assert mine.parent == tmp_path and mine.name.startswith(f"{scratch.PREFIX}")
    assert scratch.scratch_dir() == mine  # one per process
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = tmp_path / f"{scratch.PREFIX}{gone.stdout.strip()}-abc"
    (dead / "playwright_chromiumdev_profile-x").mkdir(parents=True)
    (dead / "playwright_chromiumdev_profile-x" / "Cookies").write_bytes(b"x")
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as alive:
        live = tmp_path / f"{scratch.PREFIX}{alive.pid}-def"
        live.mkdir()
        other = tmp_path / "browsing-node-metrics-xyz"  # not a scratch tree
        other.mkdir()
        try:
            assert scratch.sweep_gone() == [dead]
        finally:
            alive.kill()
    assert not dead.exists() and live.exists() and mine.exists() and other.exists()
    scratch.remove_own()
    assert not mine.exists()
