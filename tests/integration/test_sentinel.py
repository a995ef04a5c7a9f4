"""Redis behind Sentinel, for real: a master, a replica and three sentinels on loopback.

The task store's client and the Celery broker are built from Settings exactly as the
services build them; the master is then SIGKILLed, and both must find the promoted
replica through the sentinels and carry on (docs/redis-ha.md).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from browsing.processes import free_port
from shared.config import Settings
from shared.kombu_redis import SentinelTransport
from shared.records import TaskStatus, TaskStore
from shared.request import TaskRequest
from shared.services import celery_app, publish_options, redis_client, sentinel

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)

MASTER = "browsing-ha"
PASSWORD = "master-pass-51c2"  # requirepass of the master and the replica
SENTINEL_PASSWORD = "sentinel-pass-9e07"  # requirepass of the sentinels
DOWN_AFTER_MS = 500
QUEUE = "sentinel.test"
WORKER_QUEUE = "sentinel.worker"
ROOT = Path(__file__).resolve().parents[2]
# A Celery worker built as the services build theirs; its one task writes through the
# task store's kind of client, so both of its Redis clients must follow the failover.
WORKER_APP = """
from shared.config import load_settings
from shared.services import celery_app, redis_client

settings = load_settings()
app = celery_app("sentinel-worker", settings)
client = redis_client(settings)


@app.task(name="test.mark")
def mark(key):
    client.set(key, "done")
"""


def wait_for(what: str, check: Callable[[], Any], timeout_s: float) -> Any:  # noqa: ANN401
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except redis.RedisError as exc:
            last = exc
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last error: {last!r})")


@dataclass
class Group:
    master_port: int
    replica_port: int
    sentinel_ports: list[int]
    procs: dict[int, subprocess.Popen]

    def server(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, password=PASSWORD, socket_timeout=2, decode_responses=True)

    def settings(self) -> Settings:
        return Settings(
            # The host is never used: the sentinels name the master.
            redis_url=f"redis://:{PASSWORD}@sentinel-managed:1/0",
            redis_sentinels=",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports),
            redis_sentinel_master=MASTER,
            redis_sentinel_password=SENTINEL_PASSWORD,
        )

    def env(self) -> dict[str, str]:
        settings = self.settings()
        return {
            "BROWSING_REDIS_URL": settings.redis_url,
            "BROWSING_REDIS_SENTINELS": settings.redis_sentinels,
            "BROWSING_REDIS_SENTINEL_MASTER": settings.redis_sentinel_master,
            "BROWSING_REDIS_SENTINEL_PASSWORD": settings.redis_sentinel_password,
        }

    def kill(self, port: int) -> None:
        proc = self.procs.pop(port)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=5)


def _start(args: list[str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)


def _server_args(port: int, workdir: Path, *extra: str) -> list[str]:
    data = workdir / str(port)
    data.mkdir()
    return [
        "redis-server",
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(data),
        "--save", "",
        "--appendonly", "no",
        "--requirepass", PASSWORD,
        "--masterauth", PASSWORD,
        *extra,
    ]  # fmt: skip


@pytest.fixture()
def group(tmp_path: Path) -> Iterator[Group]:
    master, replica = free_port(), free_port()
    sentinels = [free_port() for _ in range(3)]
    procs: dict[int, subprocess.Popen] = {}
    g = Group(master, replica, sentinels, procs)
    try:
        procs[master] = _start(_server_args(master, tmp_path), tmp_path / "master.log")
        procs[replica] = _start(
            _server_args(replica, tmp_path, "--replicaof", "127.0.0.1", str(master)),
            tmp_path / "replica.log",
        )
        # Each sentinel is told its id and its peers' (what a sentinel writes into its own
        # file once it has met them): found through hello messages, every 2 s, the group
        # took about 10 s to form.
        ids = {port: f"{port:040x}" for port in sentinels}
        for port in sentinels:
            conf = tmp_path / f"sentinel-{port}.conf"  # sentinels rewrite their own file
            peers = "".join(
                f"sentinel known-sentinel {MASTER} 127.0.0.1 {other} {ids[other]}\n"
                for other in sentinels
                if other != port
            )
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
                f"requirepass {SENTINEL_PASSWORD}\n"
                f"sentinel myid {ids[port]}\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {master} 2\n"
                f"sentinel auth-pass {MASTER} {PASSWORD}\n"
                f"sentinel sentinel-pass {SENTINEL_PASSWORD}\n"
                f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {MASTER} 2000\n"
                f"sentinel known-replica {MASTER} 127.0.0.1 {replica}\n" + peers
            )
            procs[port] = _start(
                ["redis-server", str(conf), "--sentinel"], tmp_path / f"sentinel-{port}.log"
            )

        def ready() -> bool:
            if g.server(replica).info("replication").get("master_link_status") != "up":
                return False
            for port in sentinels:
                s = redis.Redis(port=port, password=SENTINEL_PASSWORD, socket_timeout=2)
                state = s.sentinel_master(MASTER)
                if state["num-slaves"] < 1 or state["num-other-sentinels"] < 2:
                    return False
            return True

        wait_for("the replica and the sentinels to see each other", ready, 15)
        yield g
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait(timeout=5)


def _round_trip(app: Any, body: str) -> str:  # noqa: ANN401 - a Celery app
    """Publish a task message as the services do, and read it back off its queue."""
    app.send_task("test.echo", args=[body], queue=QUEUE, **publish_options())
    with app.connection_for_read() as conn:
        queue = conn.SimpleQueue(QUEUE)
        try:
            message = queue.get(timeout=5)
            message.ack()
            return message.payload[0][0]
        finally:
            queue.close()


@pytest.fixture()
def worker(group: Group, tmp_path: Path) -> Iterator[subprocess.Popen]:
    (tmp_path / "sentinel_app.py").write_text(WORKER_APP)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BROWSING_")},
        **group.env(),
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}",
    }
    args = [sys.executable, "-m", "celery", "-A", "sentinel_app", "worker", "-Q", WORKER_QUEUE]
    args += ["--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle"]
    with (tmp_path / "worker.log").open("wb") as log:
        proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def test_store_and_broker_follow_a_failover(
    group: Group, worker: subprocess.Popen, tmp_path: Path
) -> None:
    settings = group.settings()
    assert settings.redis_sentinel_password not in repr(settings)
    client = redis_client(settings)
    store = TaskStore(client, record_ttl_s=600)
    app = celery_app("sentinel-test", settings)
    with app.connection_for_write() as conn:  # the project's channel, on kombu's Sentinel
        assert type(conn.transport) is SentinelTransport

    store.create("web:before", owner="alice", request=TaskRequest(task="x", timeout_ms=60_000))
    assert _round_trip(app, "before") == "before"
    app.send_task("test.mark", args=["worker:before"], queue=WORKER_QUEUE, **publish_options())
    wait_for("the worker to run a task", lambda: client.get("worker:before"), 30)
    # The master the sentinels name, not the URL's host.
    assert client.connection_pool.get_master_address() == ("127.0.0.1", group.master_port)
    assert group.server(group.master_port).exists("browsing:task:web:before")
    # A wrong master name fails clearly, never falling back to the URL.
    wrong = settings.replace(redis_sentinel_master="no-such-master")
    with pytest.raises(redis.ConnectionError, match="No master found for 'no-such-master'"):
        redis_client(wrong).ping()
    # A write is safe from a failover only once a replica has it (docs/redis-ha.md).
    assert client.wait(1, 2000) == 1

    group.kill(group.master_port)
    killed = time.monotonic()

    def new_master() -> bool:
        return sentinel(settings).discover_master(MASTER) == ("127.0.0.1", group.replica_port)

    wait_for("the sentinels to promote the replica", new_master, 15)
    promoted_s = time.monotonic() - killed

    def store_writes() -> bool:
        store.create("web:after", owner="alice", request=TaskRequest(task="y", timeout_ms=60_000))
        return True

    # The same client, never rebuilt: its pool asks the sentinels again.
    wait_for("the store to write again", store_writes, 10)
    store_s = time.monotonic() - killed
    assert _round_trip(app, "after") == "after"
    broker_s = time.monotonic() - killed
    app.send_task("test.mark", args=["worker:after"], queue=WORKER_QUEUE, **publish_options())
    # The worker's consumer lost its connection with the master, and reconnects by itself.
    wait_for("the worker to run a task again", lambda: client.get("worker:after"), 30)
    worker_s = time.monotonic() - killed
    assert worker.poll() is None
    print(
        f"\nfailover: replica promoted {promoted_s:.2f} s after the kill; "
        f"store writing at {store_s:.2f} s, broker round trip at {broker_s:.2f} s, "
        f"a worker's task done at {worker_s:.2f} s"
    )

    replica = group.server(group.replica_port)
    assert replica.info("replication")["role"] == "master"
    for task_id in ("web:before", "web:after"):  # on the promoted replica, read by the store
        assert replica.exists(f"browsing:task:{task_id}")
        record = store.get(task_id)
        assert record is not None and record.status is TaskStatus.QUEUED
    assert client.connection_pool.get_master_address() == ("127.0.0.1", group.replica_port)
    # The worker's banner and logs name the broker without either password.
    log = (tmp_path / "worker.log").read_text()
    assert "sentinel://:**@127.0.0.1:" in log
    assert PASSWORD not in log and SENTINEL_PASSWORD not in log
