"""The Celery apps as operators run them: ``celery -A nodes ...`` in a node's container,
against a real redis-server and a real node worker."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from browsing.cluster import free_port
from shared.registry import NodeRegistry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def redis_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    argv = [shutil.which("redis-server"), "--port", str(port), "--save", "", "--appendonly",
            "no", "--dir", str(tmp_path)]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(100):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "nodes", *args]


def test_inspect_in_a_node_s_container_leaves_the_worker_s_metrics_alone(redis_url, tmp_path):
    """A node container sets PROMETHEUS_MULTIPROC_DIR for its worker, which empties it
    when it starts; ``celery -A nodes inspect`` run beside it must not empty it again."""
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_1.db").write_bytes(b"a previous run's samples")
    env = {**os.environ, "BROWSING_REDIS_URL": redis_url, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    log = open(tmp_path / "node.log", "wb")  # noqa: SIM115 - the worker writes it
    worker = subprocess.Popen(
        celery(
            "worker",
            "-Q",
            "node.de.01",
            "-n",
            "node.de.01@%h",
            "-c",
            "1",
            "--without-gossip",
            "--without-mingle",
        ),  # fmt: skip
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        registry = NodeRegistry(redis.Redis.from_url(redis_url, decode_responses=True))
        deadline = time.monotonic() + 90
        while not any(n.ready for n in registry.all()):
            assert worker.poll() is None, (tmp_path / "node.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "node.log").read_text()[-3000:]
            time.sleep(0.2)
        # The worker emptied the directory as it started, then wrote its own samples.
        live = {p.name: p.read_bytes() for p in metrics.iterdir()}
        assert "counter_1.db" not in live
        assert any(str(worker.pid) in name for name in live), live

        out = subprocess.run(
            celery("inspect", "ping", "--timeout", "5"),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert "node.de.01@" in out.stdout  # the worker answered the inspect
        after = {p.name: p.read_bytes() for p in metrics.iterdir()}
        assert after == live
    finally:
        with_group = os.getpgid(worker.pid) if worker.poll() is None else None
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
        if with_group is not None:  # Chromium and the pool process, if any outlived it
            try:
                os.killpg(with_group, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()
