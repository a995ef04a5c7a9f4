"""Importing the service's modules builds nothing: no thread, socket, temporary
directory, child process or signal handler appears, and no metrics directory is emptied.

Each check runs in a fresh interpreter, since what a module does at import happens only
the first time it is imported."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "scheduler", "nodes", "shared", "browsing")

# Modules that are not imported by the check, each with the reason it may act on import.
EXCLUDED = {
    # gunicorn executes its config file when the server starts: that is the moment it
    # prepares (empties) the gateway's metrics directory, before the workers fork.
    "gateway.gunicorn_conf": "gunicorn's config file, run by gunicorn at start",
    # `python -m browsing.cli`: running the command line is what this module is for.
    "browsing.cli.__main__": "the CLI's entry point, run as a program",
}

PROBE = r"""
import json, os, pkgutil, signal, sys, tempfile, threading, importlib

def sockets():
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            out.append(target)
    return sorted(out)

def children():
    me, out = str(os.getpid()), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rpartition(")")[2].split()[1] == me:
                    out.append(pid)
        except (OSError, IndexError):
            continue
    return out

def handlers():
    out = {}
    for sig in signal.valid_signals():
        try:
            out[signal.Signals(sig).name] = repr(signal.getsignal(sig))
        except (ValueError, TypeError):
            continue
    return out

def state():
    return {
        "threads": sorted(t.name for t in threading.enumerate()),
        "os_threads": len(os.listdir("/proc/self/task")),
        "sockets": sockets(),
        "temp": sorted(os.listdir(tempfile.gettempdir())),
        "children": children(),
        "signals": handlers(),
    }

packages, excluded = sys.argv[1].split(","), set(sys.argv[2].split(",")) - {""}
before = state()
imported = []
for name in packages:
    package = importlib.import_module(name)
    imported.append(name)
    for info in pkgutil.walk_packages(package.__path__, prefix=name + "."):
        if info.name in excluded or any(info.name.startswith(e + ".") for e in excluded):
            continue
        importlib.import_module(info.name)
        imported.append(info.name)
after = state()
print(json.dumps({"before": before, "after": after, "imported": imported, "pid": os.getpid()}))
"""


def probe(tmp_path: Path, metrics_dir: Path | None) -> dict:
    """Import every module but the excluded ones in a fresh interpreter, with an empty
    temporary directory of its own; its state before and after."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["TMPDIR"] = str(temp)
    if metrics_dir is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(PACKAGES), ",".join(EXCLUDED)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def changes(report: dict) -> dict:
    before, after = report["before"], report["after"]
    found = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    if "signals" in found:  # name only the signals whose handler changed
        found["signals"] = {
            name: (before["signals"].get(name), handler)
            for name, handler in after["signals"].items()
            if before["signals"].get(name) != handler
        }
    return found


def test_importing_every_module_builds_nothing(tmp_path):
    report = probe(tmp_path, metrics_dir=None)
    assert changes(report) == {}
    # The walk reached the packages' modules, the app modules included.
    for module in ("nodes.celery", "scheduler.celery", "nodes.lifecycle", "nodes.agent.rules"):
        assert module in report["imported"]


def test_importing_every_module_leaves_a_metrics_directory_alone(tmp_path):
    """A node's container sets PROMETHEUS_MULTIPROC_DIR for its worker; a command that
    imports the modules there (``celery -A nodes inspect``) must not empty it."""
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    live = metrics / "counter_4242.db"
    live.write_bytes(b"a live worker's samples")
    report = probe(tmp_path, metrics_dir=metrics)
    assert changes(report) == {}
    assert live.read_bytes() == b"a live worker's samples"
    # Files of the probe's own pid may appear: prometheus-client backs each metric
    # declared at import (nodes/metrics.py, gateway/metrics.py) with a file per process.
    pid = str(report["pid"])
    assert {p.name for p in metrics.iterdir() if pid not in p.name} == {"counter_4242.db"}


def _imports_key_names(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        names = {alias.name for alias in node.names}
        return node.module == "shared.keys" or (node.module == "shared" and "keys" in names)
    if isinstance(node, ast.Import):
        return any(alias.name == "shared.keys" for alias in node.names)
    return False


def test_only_shared_names_the_redis_keys():
    """TaskStore and NodeRegistry own the service's Redis state: no module outside
    ``shared/`` imports the key names (so none can write those keys behind them)."""
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for package in ("gateway", "scheduler", "nodes")
        for path in sorted((ROOT / package).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if _imports_key_names(node)
    ]
    assert offenders == []
