"""A whole local cluster in child processes: Redis, S3, scheduler, nodes, gateway.

``make run`` (``browsing up``) and the integration tests both use this, so the tests
exercise the same processes a user starts.
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import redis

from browsing.processes import (
    descendants,
    free_port,
    identify,
    kill_all,
    redis_answers,
    wait_until,
)
from shared.config import load_settings
from shared.errors import ConfigError
from shared.registry import NodeRegistry

# moto is an extra (`pip install -e '.[local]'`): production images do not carry it.
LOCAL_EXTRA_HINT = "pip install -e '.[local]' in the repository (make run does this)"


def require_moto() -> None:
    """moto's S3 server, or a clear error saying how to install it."""
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask_cors") is None:
        raise ConfigError(
            "the local cluster's S3 server needs moto, which is not installed: "
            f"{LOCAL_EXTRA_HINT}, or point BROWSING_S3_ENDPOINT_URL at an S3 endpoint"
        )


@dataclass
class LocalCluster:
    """Starts what is missing; ``stop()`` ends every process it started."""

    node_queues: tuple[str, ...] = ("node.de.01", "node.us.01")
    port: int | None = None
    node_concurrency: int = 2
    workdir: Path | None = None
    env_overrides: dict[str, str] = field(default_factory=dict)
    node_env: dict[str, dict[str, str]] = field(default_factory=dict)  # per node queue
    reuse_services: bool = True  # use BROWSING_REDIS_URL / BROWSING_S3_ENDPOINT_URL if set
    redis_password: str = field(default="", repr=False)  # the private Redis asks for it
    # Where the private Redis keeps its append-only file; None: it keeps nothing on disk.
    data_dir: Path | None = None

    procs: dict[str, subprocess.Popen] = field(default_factory=dict, init=False)
    argvs: dict[str, list[str]] = field(default_factory=dict)  # how each was started
    envs: dict[str, dict[str, str]] = field(default_factory=dict, init=False, repr=False)
    metrics_ports: dict[str, int] = field(default_factory=dict, init=False)
    env: dict[str, str] = field(default_factory=dict, init=False)
    api_key: str = field(default="", init=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def redis_url(self) -> str:
        return self.env["BROWSING_REDIS_URL"]

    def _spawn(
        self, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        assert self.workdir is not None
        log = open(self.workdir / f"{name}.log", "ab")
        # Own session: a Ctrl-C at the terminal reaches `browsing up` only, which stops us in order.
        env = env or self.env
        proc = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.procs[name] = proc
        self.argvs[name] = list(argv)
        self.envs[name] = env
        return proc

    def restart(self, name: str) -> subprocess.Popen:
        """Start a process again as it was first started: same command, environment and
        ports (Redis comes back on its port, with its append-only file if it has one)."""
        return self._spawn(name, self.argvs[name], self.envs[name])

    def log_path(self, name: str) -> Path:
        assert self.workdir is not None
        return self.workdir / f"{name}.log"

    def start(self, timeout_s: float = 90) -> LocalCluster:
        self.workdir = Path(self.workdir or tempfile.mkdtemp(prefix="browsing-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, **self.env_overrides}
        # Each process keeps its metrics files in a directory of its own.
        self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.port = self.port or int(self.env.get("BROWSING_PORT") or 8080)
        self.env["BROWSING_PORT"] = str(self.port)
        self._check_port_free()
        if not self._reusing_s3():
            require_moto()
        try:
            # Independent children start together: moto's S3 boots while Redis does, and
            # the nodes (the slowest: each pool child warms up Chromium) start as soon as
            # Redis answers; they use S3 only for a task's screenshots, and S3 answers
            # before the scheduler (whose sweeper lists the bucket) and the gateway start.
            s3_url = self._spawn_s3()
            self._start_redis()
            self._configure_keys()
            for queue in self.node_queues:
                self.start_node(queue)
            if s3_url:
                self._wait_s3(s3_url)
            self.start_scheduler()
            self.start_gateway(timeout_s)
            for queue in self.node_queues:
                self.wait_node_ready(queue, timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _check_port_free(self) -> None:
        """Before anything starts: a gateway port another server holds would leave this
        cluster's gateway failing to bind, while the other server answered its readiness
        check (and the key printed would be refused there)."""
        host = load_settings(self.env).bind
        assert self.port is not None
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, self.port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    return  # an address of another network namespace: its gateway's to bind
                raise ConfigError(
                    f"port {self.port} on {host} is in use ({exc.strerror}): another "
                    "`browsing up` or another server holds it; choose another with --port "
                    "or BROWSING_PORT"
                ) from exc

    def _start_redis(self) -> None:
        url = self.env.get("BROWSING_REDIS_URL")
        if self.reuse_services and url and redis_answers(url):
            return
        binary = shutil.which("redis-server")
        if binary is None:
            raise ConfigError("redis-server is not installed (apt-get install redis-server)")
        assert self.workdir is not None
        for tries_left in (2, 1, 0):  # on a port another server took meanwhile: again
            port = free_port()
            self._spawn(
                "redis",
                [
                    binary,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    *self._persistence_args(),
                    "--maxmemory-policy",
                    "noeviction",
                    "--dir",
                    str(self._redis_dir()),
                    "--maxclients",
                    "10000",
                    *(["--requirepass", self.redis_password] if self.redis_password else []),
                ],
            )
            auth = f":{self.redis_password}@" if self.redis_password else ""
            url = f"redis://{auth}127.0.0.1:{port}/0"
            try:
                self._wait_redis(url)
                break
            except RuntimeError:  # it exited: its port was taken before it could bind it
                if not tries_left:
                    raise
        self.env["BROWSING_REDIS_URL"] = url

    def _redis_dir(self) -> Path:
        if self.data_dir is None:
            assert self.workdir is not None
            return self.workdir
        path = Path(self.data_dir) / "redis"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _persistence_args(self) -> list[str]:
        """With a data directory: an append-only file, fsynced every second, so task
        records, keys and drain marks survive a crash of Redis or of the whole cluster
        (at most the last second is lost)."""
        if self.data_dir is None:
            return ["--appendonly", "no"]
        return ["--appendonly", "yes", "--appendfsync", "everysec"]

    def stop_redis(self) -> None:
        """Stop the private redis-server after saving its data (for failure tests); the
        next ``start_redis_again`` brings it back on the same port with that data, as a
        Redis with persistence comes back."""
        proc = self.procs["redis"]
        with contextlib.suppress(redis.ConnectionError):  # it hangs up as it exits
            redis.Redis.from_url(self.redis_url).shutdown(save=True)
        proc.wait(15)

    def start_s3_again(self) -> None:
        """Start the moto S3 server again on its port (empty: moto keeps nothing)."""
        self.restart("s3")
        self._wait_s3(self.env["BROWSING_S3_ENDPOINT_URL"])

    def start_redis_again(self) -> None:
        self.restart("redis")
        self._wait_redis(self.redis_url)

    def _wait_redis(self, url: str) -> None:
        """Until the redis-server started here answers on its port: the one answering
        must be that process, not another cluster's Redis that took the port first (this
        one then fails to bind, and the two clusters would share a database)."""
        proc = self.procs["redis"]

        def ours() -> bool:
            if not redis_answers(url):
                return False
            pid = int(redis.Redis.from_url(url, socket_timeout=2).info("server")["process_id"])
            return pid == proc.pid

        wait_until("redis-server", ours, 15, proc)

    def _wait_s3(self, url: str) -> None:
        wait_until(
            "moto S3 server",
            lambda: urllib.request.urlopen(url + "/moto-api/", timeout=2),
            30,
            self.procs["s3"],
        )

    def _reusing_s3(self) -> bool:
        return self.reuse_services and bool(self.env.get("BROWSING_S3_ENDPOINT_URL"))

    def _spawn_s3(self) -> str:
        """Start moto's S3 server and put its address in the environment; return that
        address for the caller to wait on ("" when an existing S3 is reused)."""
        if self._reusing_s3():
            return ""
        port = free_port()
        self._spawn("s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)])
        url = f"http://127.0.0.1:{port}"
        self.env["BROWSING_S3_ENDPOINT_URL"] = url
        self.env.setdefault("BROWSING_S3_ACCESS_KEY_ID", "local")
        self.env.setdefault("BROWSING_S3_SECRET_ACCESS_KEY", "local-secret")
        return url

    def _configure_keys(self) -> None:
        static = self.env.get("BROWSING_API_KEYS", "")
        if not static:
            static = f"local:{secrets.token_urlsafe(24)}"
            self.env["BROWSING_API_KEYS"] = static
            # The one running the cluster is its operator: the console's operator pages
            # and /api/v1/admin take the printed key too.
            self.env.setdefault("BROWSING_ADMIN_USERS", "local")
        self.api_key = static.split(",")[0].partition(":")[2]

    def scheduler_argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "scheduler",
            "worker",
            "-Q",
            "scheduler",
            "--pool",
            "solo",
            "-n",
            "scheduler@%h",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]

    def gateway_argv(self) -> list[str]:
        conf = Path(__file__).resolve().parent.parent / "gateway" / "gunicorn_conf.py"
        return [sys.executable, "-m", "gunicorn", "-c", str(conf), "gateway:create_app()"]

    def node_argv(self, queue: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "nodes",
            "worker",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
            "-c",
            str(self.node_concurrency),
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]

    def start_gateway(self, timeout_s: float = 60) -> None:
        proc = self._spawn("gateway", self.gateway_argv())
        wait_until(
            "gateway",
            lambda: urllib.request.urlopen(self.base_url + "/healthz", timeout=2),
            timeout_s,
            proc,
        )

    def _metrics_env(self, name: str) -> dict[str, str]:
        port = self.metrics_ports.setdefault(name, free_port())
        return {"BROWSING_METRICS_PORT": str(port)}

    def metrics_url(self, name: str) -> str:
        """Where a process serves /metrics: the gateway on its own port, others apart."""
        if name == "gateway":
            return f"{self.base_url}/metrics"
        return f"http://127.0.0.1:{self.metrics_ports[name]}/metrics"

    def start_scheduler(self) -> subprocess.Popen:
        env = {**self.env, **self._metrics_env("scheduler")}
        return self._spawn("scheduler", self.scheduler_argv(), env)

    def start_node(self, queue: str) -> subprocess.Popen:
        env = {**self.env, **self.node_env.get(queue, {}), **self._metrics_env(queue)}
        return self._spawn(queue, self.node_argv(queue), env)

    def wait_node_ready(self, uid: str, timeout_s: float = 60) -> None:
        """Until the node heartbeats and every one of its processes has its browser up."""
        registry = NodeRegistry(redis.Redis.from_url(self.redis_url, decode_responses=True))
        dead_after_ms = load_settings(self.env).node_dead_after_s * 1000

        def ready() -> bool:
            node = registry.get(uid)
            return (
                node is not None
                and node.live(int(time.time() * 1000), int(dead_after_ms))
                and node.browsers >= node.capacity
            )

        wait_until(f"node {uid}", ready, timeout_s, self.procs.get(uid))

    def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout_s: float = 20) -> None:
        """Signal a process; SIGTERM lets Celery and gunicorn stop their children cleanly.
        Then kill whatever is left of its tree, Chromium included: Playwright starts
        Chromium in a process group of its own, so a group kill alone would miss it."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        tree = identify([proc.pid, *descendants(proc.pid)])
        with contextlib.suppress(ProcessLookupError):
            if sig == signal.SIGKILL:  # a crash: everything dies at once, like a lost host
                kill_all(tree, signal.SIGKILL)
            else:
                os.kill(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout_s)
        # What is left of the tree; once the process is reaped its pid is free for
        # reuse, so only processes still known by pid and start time are killed.
        late = identify(descendants(proc.pid)) if proc.poll() is None else []
        kill_all(tree + late, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

    def process_tree(self) -> list[int]:
        """Every process the cluster runs, children and Chromium included."""
        return [pid for proc in self.procs.values() for pid in (proc.pid, *descendants(proc.pid))]

    def stop(self) -> None:
        """Stop every process, in three waves: the gateway and the nodes together (each
        takes seconds: Celery's warm shutdown closes every child's Chromium), then the
        scheduler and S3, then Redis, which they all use; then anything else started."""
        nodes = [q for q in self.procs if q.startswith("node")]
        for wave in (["gateway", *nodes], ["scheduler", "s3"], ["redis"], list(self.procs)):
            self._stop_together(wave)

    def _stop_together(self, names: list[str]) -> None:
        names = [name for name in names if name in self.procs]
        if len(names) <= 1:
            for name in names:
                self.stop_process(name)
            return
        with ThreadPoolExecutor(len(names)) as pool:
            # list(): an error in one stop is raised here, after every stop has run.
            list(pool.map(self.stop_process, names))

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
