"""Fixtures, by tier:

- ``redis_url``, ``s3_url``: a private redis-server and a moto S3 server, real servers
  over the network, for tests of the store and of storage;
- ``app`` and ``client``: the gateway's Flask app built by ``create_app()`` on those two,
  called through Flask's test client, for the HTTP contract (auth, validation, errors);
- ``cluster`` (with ``api``, ``bob``, ``anonymous``): the whole local cluster (Redis,
  moto S3, scheduler, nodes with Chromium, gateway under gunicorn), for what needs a
  task to cross the processes.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
import urllib.request
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis
import requests

from browsing.cluster import LocalCluster, free_port

T = TypeVar("T")

ALICE = "alice-test-key-0123456789"
BOB = "bob-test-key-9876543210"
REDIS_PASSWORD = "redis-pass-4f1c9e"
S3_SECRET = "s3-secret-7d2b80"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """When a test that used a cluster fails, show the warnings its processes logged, so a
    failure in CI can be understood without the cluster's files."""
    outcome = yield
    report = outcome.get_result()
    if report.passed or report.when != "call":
        return
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, LocalCluster) and value.workdir is not None:
            lines = []
            for log in sorted(value.workdir.glob("*.log")):
                for line in log.read_text(errors="replace").splitlines():
                    if any(w in line for w in ("WARNING", "ERROR", "Error", "Traceback")):
                        lines.append(f"{log.stem}: {line}")
            report.sections.append(("cluster warnings", "\n".join(lines[-60:]) or "(none)"))


# The longest groups, in the order ``make test`` hands them out first (longest first), so
# the two workers end together instead of one running the netns burst alone at the end.
LONG_GROUPS = (
    "session-cluster",
    "tests.integration.test_scheduler",
    "tests.integration.test_netns",
    "tests.integration.test_fair_cluster",
    "tests.integration.test_failures",
    "tests.integration.test_sessions",
    "tests.integration.test_keys_cli",
    "tests.integration.test_binding_faults",
    "tests.integration.test_supervised_cluster",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Groups for ``make test``'s two workers (pytest-xdist, ``--dist loadgroup``): a
    module's tests stay together, so its module-scoped cluster starts once; and every
    module that uses the session's ``cluster`` goes to one group, so that cluster starts
    once. The long groups come first. Without xdist the marks do nothing, and only the
    order changes.

    First among the hooks (tryfirst): xdist's worker reads the marks in its own
    collection hook, which otherwise ran before this one, saw none, and spread a
    module's tests over both workers, each with a cluster of its own and only part of
    the module's earlier tests (test_sessions' bob had no session on the other one)."""
    on_cluster = {item.module.__name__ for item in items if _uses_session_cluster(item)}
    groups: dict[str, int] = {}
    for item in items:
        module = item.module.__name__
        group = "session-cluster" if module in on_cluster else module
        item.add_marker(pytest.mark.xdist_group(group))
        groups.setdefault(group, len(groups))
        item.stash[_GROUP] = group
    rank = {g: LONG_GROUPS.index(g) if g in LONG_GROUPS else len(LONG_GROUPS) for g in groups}
    items.sort(key=lambda item: (rank[item.stash[_GROUP]], groups[item.stash[_GROUP]]))


_GROUP = pytest.StashKey[str]()


def _uses_session_cluster(item: pytest.Item) -> bool:
    """Whether the test uses this file's ``cluster``, not a module's own of that name."""
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.get("cluster", ()) if info is not None else ()
    return bool(defs) and defs[-1].func is cluster.__wrapped__


def alive(pids: list[int]) -> list[str]:
    """The command lines of those pids still running (zombies count as gone)."""
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ")[:80].decode(errors="replace")
            out.append(f"{pid}: {cmdline}")
        except OSError:
            continue
    return out


def stop_cluster(cluster: LocalCluster) -> None:
    """Stop a test cluster, as ``cluster.stop()`` does, in less time.

    First the tests' idle keep-alive connections are closed: gunicorn's gevent worker waits
    its whole ``graceful_timeout`` (10 s) for any open connection before it exits. Then
    ``cluster.stop()`` stops the gateway and every node at once, the services they all
    use last."""
    Api.close_all()
    cluster.stop()


@contextlib.contextmanager
def running(cluster: LocalCluster) -> Iterator[LocalCluster]:
    """Start a module's own cluster, stop it after, and fail if a process outlived it."""
    tree: list[int] = []
    try:
        cluster.start()
        yield cluster
    finally:
        tree = cluster.process_tree()
        stop_cluster(cluster)
    assert not alive(tree), f"processes left behind: {alive(tree)}"


def allow(*base_urls: str) -> str:
    """``BROWSING_EGRESS_ALLOW`` for the test's own local sites: one ``host:port`` entry
    each, so the nodes reach those ports and nothing else on this machine."""
    return ",".join(url.split("://", 1)[-1].split("/", 1)[0] for url in base_urls)


def assert_no_secret_in_logs(cluster: LocalCluster, secrets: tuple[str, ...]) -> None:
    """Every log line the cluster's processes wrote is free of every secret."""
    assert cluster.workdir is not None
    logs = sorted(cluster.workdir.glob("*.log"))
    assert logs, "the cluster wrote no logs: this check would see nothing"
    for log in logs:
        text = log.read_text(errors="replace")
        for secret in secrets:
            assert secret not in text, f"{log.name} shows a secret"


def attempts_ended(cluster: LocalCluster, node: str, task_id: str) -> list[str]:
    """The outcomes in a node's "attempt ended" log lines for a task (nodes/task.py): an
    attempt that ran to an end, or was dropped unrun, logs one."""
    found = []
    for line in cluster.log_path(node).read_text(errors="replace").splitlines():
        if '"attempt ended"' in line and task_id in line:
            entry = json.loads(line)
            if entry.get("task_id") == task_id:
                found.append(entry["outcome"])
    return found


def chromium_count(pids: list[int]) -> int:
    return sum("chromium" in line for line in alive(pids))


class Api:
    """A thin HTTP client for the gateway, as a user would call it."""

    _made: weakref.WeakSet[Api] = weakref.WeakSet()

    def __init__(self, base_url: str, key: str | None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if key is not None:
            self.session.headers["Authorization"] = f"Bearer {key}"
        Api._made.add(self)

    @classmethod
    def close_all(cls) -> None:
        """Close every client's idle connections (a client stays usable: it reconnects).

        Each pool is closed by hand: ``Session.close()`` only forgets its pools (urllib3 2
        closes a pool when it is collected), and a response still held by a test keeps
        its pool, and so an idle connection, alive."""
        for api in list(cls._made):
            for adapter in api.session.adapters.values():
                pools = getattr(adapter, "poolmanager", None)
                for key in list(pools.pools.keys()) if pools is not None else ():
                    if (pool := pools.pools.get(key)) is not None:
                        pool.close()
            api.session.close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def post(self, path: str, body: object = None, **kw) -> requests.Response:
        return self.session.post(self.url(path), json=body, timeout=kw.pop("timeout", 120), **kw)

    def get(self, path: str, **kw) -> requests.Response:
        return self.session.get(self.url(path), timeout=kw.pop("timeout", 30), **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return self.session.delete(self.url(path), timeout=kw.pop("timeout", 30), **kw)

    def submit(self, body: dict) -> str:
        resp = self.post("/api/v1/browsing/async", body)
        assert resp.status_code == 200, resp.text
        return resp.json()["task_id"]

    def status(self, task_id: str) -> dict:
        resp = self.get("/api/v1/browsing/status", params={"task_id": task_id})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def wait(self, task_id: str, timeout_s: float = 60) -> dict:
        import time

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            body = self.status(task_id)
            if body["status"] in ("completed", "failed"):
                return body
            time.sleep(0.1)
        raise AssertionError(f"task {task_id} did not finish in {timeout_s} s: {body}")


def poll(
    check: Callable[[], T], timeout_s: float = 10.0, interval_s: float = 0.05, what: str = ""
) -> T:
    """``check()``'s first truthy value, asked every ``interval_s`` until ``timeout_s``;
    then an AssertionError with its last value. For waits on a condition, instead of a
    fixed sleep that is either too long or, on a loaded machine, too short."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value or time.monotonic() >= deadline:
            break
        time.sleep(interval_s)
    assert value, f"{what or check} not true after {timeout_s:g} s: {value!r}"
    return value


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A private redis-server on a free port, keeping nothing on disk; yields its URL."""
    port = free_port()
    argv = [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
            "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir),
            "--maxmemory-policy", "noeviction"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        poll(lambda: _answers(lambda: redis.Redis.from_url(url).ping()), 15, what="redis")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto S3 server on a free port, as the cluster runs it; yields its URL."""
    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        poll(lambda: _answers(lambda: urllib.request.urlopen(url + "/moto-api/", timeout=2)), 60,
             interval_s=0.1, what="moto S3 server")  # fmt: skip
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _answers(call: Callable[[], object]) -> bool:
    try:
        call()
        return True
    except (OSError, redis.RedisError):
        return False


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis of the module's own: a module may flush it."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="session")
def s3_url() -> Iterator[str]:
    """A real S3 (moto) server for the session; each test uses buckets of its own."""
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def s3_env(s3_url: str) -> dict[str, str]:
    """The ``BROWSING_*`` variables that point the service at ``s3_url``."""
    return {
        "BROWSING_S3_ENDPOINT_URL": s3_url,
        "BROWSING_S3_ACCESS_KEY_ID": "local",
        "BROWSING_S3_SECRET_ACCESS_KEY": S3_SECRET,
    }


@pytest.fixture(scope="module")
def gateway_env(redis_url: str, s3_env: dict[str, str]) -> dict[str, str]:
    """The environment of a gateway on ``redis_url`` and ``s3_url``, with alice and bob."""
    return {
        **s3_env,
        "BROWSING_REDIS_URL": redis_url,
        "BROWSING_API_KEYS": f"alice:{ALICE},bob:{BOB}",
    }


@pytest.fixture(scope="module")
def app(gateway_env: dict[str, str]):  # noqa: ANN201 - a Flask app
    """The gateway's Flask app, in this process, on a real Redis and S3. Tasks submitted
    to it are recorded and queued for a scheduler, which nothing runs."""
    from gateway import create_app
    from shared.config import load_settings

    return create_app(load_settings(gateway_env))


@pytest.fixture()
def client(app):  # noqa: ANN001, ANN201 - Flask's test client
    return app.test_client()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory, sites: str) -> Iterator[LocalCluster]:
    workdir = tmp_path_factory.mktemp("cluster")
    (workdir / "tmp").mkdir()
    c = LocalCluster(
        port=free_port(),
        workdir=workdir,
        reuse_services=False,
        redis_password=REDIS_PASSWORD,
        env_overrides={
            "BROWSING_API_KEYS": f"alice:{ALICE},bob:{BOB}",
            "BROWSING_S3_SECRET_ACCESS_KEY": S3_SECRET,
            "BROWSING_NODE_HEARTBEAT_INTERVAL_S": "0.5",
            "BROWSING_NODE_DEAD_AFTER_S": "4",
            "BROWSING_GATEWAY_WORKERS": "1",
            "BROWSING_SYNC_TIMEOUT_S": "8",
            # A step waits this long for an element that never comes (15 s by default):
            # the tests that look for a missing one wait it out.
            "BROWSING_ACTION_TIMEOUT_MS": "8000",
            "BROWSING_EGRESS_ALLOW": allow(sites),
            # The cluster's temporary files apart from other tests' (test_uploads_cluster).
            "TMPDIR": str(workdir / "tmp"),
        },
    )
    c.start()
    try:
        yield c
    finally:
        tree = c.process_tree()
        browsers = chromium_count(tree)
        stop_cluster(c)
    assert browsers >= 2, "each node keeps a warm Chromium"
    leaked = alive(tree)
    assert not leaked, f"processes left behind: {leaked}"
    assert_no_secret_in_logs(c, (ALICE, BOB, REDIS_PASSWORD, S3_SECRET))


@pytest.fixture(scope="session")
def sites() -> Iterator[str]:
    from tests.sites.server import serve_sites

    with serve_sites() as base_url:
        yield base_url


@pytest.fixture()
def api(cluster: LocalCluster) -> Api:
    return Api(cluster.base_url, ALICE)


@pytest.fixture()
def bob(cluster: LocalCluster) -> Api:
    return Api(cluster.base_url, BOB)


@pytest.fixture()
def anonymous(cluster: LocalCluster) -> Api:
    return Api(cluster.base_url, None)
