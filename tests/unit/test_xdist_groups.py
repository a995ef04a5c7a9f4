"""`TEST_WORKERS=2 make test` keeps each module's tests on one worker, in order (the
groups tests/conftest.py gives pytest-xdist's --dist loadgroup). When the groups are
lost, nothing fails at once: a module's tests are spread over both workers, each starts
the module's cluster, and a test that builds on an earlier one (test_sessions' bob) fails
now and then. This runs two small modules on two workers and reads who ran what."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = ("tests/unit/test_payload.py", "tests/unit/test_up_hints.py")


def test_each_module_runs_on_one_worker_in_file_order() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup",
         "--no-loadscope-reorder", "-v", "-p", "no:cacheprovider", *MODULES],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    ran = re.findall(r"^\[(gw\d)\] \[ *\d+%\] PASSED (\S+)", out.stdout, re.M)
    workers: dict[str, set[str]] = defaultdict(set)
    order: dict[str, list[str]] = defaultdict(list)
    for worker, nodeid in ran:
        module = nodeid.split("::")[0]
        workers[module].add(worker)
        order[module].append(nodeid.split("::")[1].split("@")[0])
    assert set(workers) == set(MODULES), out.stdout[-2000:]
    assert all(len(w) == 1 for w in workers.values()), dict(workers)
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         *MODULES],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    for module in MODULES:
        names = [line.split("::")[1] for line in collected.splitlines() if line.startswith(module)]
        assert order[module] == names, (module, order[module], names)
