"""Hosts made of Linux network namespaces, for tests of network faults between them.

Each host is a namespace of its own with one interface, ``eth0``, whose veth peer sits in
a switch namespace on a bridge; the test process joins the same network from the root
namespace. Nothing travels over loopback between hosts: each process binds its host's
address. Faults are made with iproute2 only:

- ``cut(host)``: the host's cable pulled (its switch port down), then ``mend(host)``;
- ``partition(a, b)``: a and b silently lose each other's frames (each holds a permanent
  neighbour entry for the other pointing at a MAC address nobody has), everything else
  keeps working; ``rejoin(a, b)`` removes the entries;
- ``impaired(delay_ms, loss)``: every frame on every link delayed and some dropped, as
  ``tc qdisc add dev eth0 root netem delay 200ms loss 5%`` on each host would. Kernels
  built without netem (CONFIG_NET_SCH_NETEM, as on the project's CI VMs) cannot do that,
  so the ports leave the bridge for the time and a small layer-2 switch in userspace
  (``python -m tests.support.netns switch``, in the switch namespace) forwards frames
  between them with the delay and the loss.

Namespaces are named ``brw-<pid>-<hex>-<n>``: unique per run, and a later run deletes
those of a run whose process is gone (``sweep_stale``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from browsing.cluster import LocalCluster
from browsing.processes import wait_until

PREFIX = "brw-"
REPO = Path(__file__).resolve().parents[2]
NOBODY_MAC = "02:00:00:00:0b:ad"  # a partitioned peer's frames go here, and nowhere
SITES_PORT = 8000
REDIS_PORT = 6379
S3_PORT = 9000
GATEWAY_PORT = 8080
METRICS_PORT = 9100


def unavailable() -> str | None:
    """Why namespaces cannot be made here, or None."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed"
    probe = f"{PREFIX}probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def ip(*args: str, ns: str | None = None, check: bool = True) -> str:
    argv = ["ip", *(["-n", ns] if ns else []), *args]
    done = subprocess.run(argv, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _delete_namespace(ns: str) -> None:
    """Kill what still runs in the namespace (ours: we made it), then delete it."""
    for _ in range(3):
        pids = [int(p) for p in ip("netns", "pids", ns, check=False).split()]
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    ip("netns", "del", ns, check=False)


def sweep_stale() -> None:
    """Delete the namespaces of earlier runs whose test process is gone."""
    for line in ip("netns", "list").splitlines():
        name = line.split()[0] if line.split() else ""
        parts = name.split("-")
        if name.startswith(PREFIX) and len(parts) > 2 and parts[1].isdigit():
            if not _pid_alive(int(parts[1])):
                _delete_namespace(name)


def _free_subnet() -> ipaddress.IPv4Network:
    used = ip("-4", "route", "show")
    for third in random.sample(range(256), 256):
        net = ipaddress.IPv4Network(f"10.231.{third}.0/24")
        if f"10.231.{third}." not in used:
            return net
    raise RuntimeError("no free 10.231.x.0/24 subnet")


@dataclass(frozen=True)
class Host:
    name: str
    ns: str
    address: str
    port: str  # its veth peer in the switch namespace


@dataclass
class Network:
    """One layer-2 network: a bridge in a namespace of its own, hosts on its ports."""

    run: str = field(default_factory=lambda: f"{os.getpid()}-{secrets.token_hex(3)}")
    subnet: ipaddress.IPv4Network = field(default_factory=_free_subnet)
    hosts: dict[str, Host] = field(default_factory=dict)
    client_address: str = ""
    _client_if: str = ""
    _switch: subprocess.Popen | None = None

    @property
    def switch_ns(self) -> str:
        return f"{PREFIX}{self.run}-sw"

    def _address(self, index: int) -> str:
        return str(self.subnet.network_address + index)

    def create(self) -> Network:
        sweep_stale()
        ip("netns", "add", self.switch_ns)
        ip("link", "set", "lo", "up", ns=self.switch_ns)
        ip("link", "add", "br0", "type", "bridge", ns=self.switch_ns)
        ip("link", "set", "br0", "up", ns=self.switch_ns)
        # The test process is a host too: it reaches the others through port p0.
        self._client_if = f"brw{self.run.split('-')[1]}"
        ip(
            "link",
            "add",
            self._client_if,
            "type",
            "veth",
            "peer",
            "name",
            "p0",
            "netns",
            self.switch_ns,
        )
        ip("link", "set", "p0", "master", "br0", "up", ns=self.switch_ns)
        self.client_address = self._address(1)
        ip("addr", "add", f"{self.client_address}/24", "dev", self._client_if)
        ip("link", "set", self._client_if, "up")
        return self

    def add_host(self, name: str) -> Host:
        index = len(self.hosts) + 2
        host = Host(name, f"{PREFIX}{self.run}-{index}", self._address(index), f"p{index}")
        ip("netns", "add", host.ns)
        ip("link", "set", "lo", "up", ns=host.ns)
        sw = self.switch_ns
        ip(
            "link",
            "add",
            host.port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            host.ns,
            ns=sw,
        )
        ip("link", "set", host.port, "master", "br0", "up", ns=sw)
        ip("addr", "add", f"{host.address}/24", "dev", "eth0", ns=host.ns)
        ip("link", "set", "eth0", "up", ns=host.ns)
        self.hosts[name] = host
        return host

    def exec_prefix(self, name: str) -> list[str]:
        return ["ip", "netns", "exec", self.hosts[name].ns]

    # Faults ---------------------------------------------------------------------------
    def cut(self, name: str) -> None:
        """Pull the host's cable: its port goes down, its eth0 loses carrier."""
        ip("link", "set", self.hosts[name].port, "down", ns=self.switch_ns)

    def mend(self, name: str) -> None:
        ip("link", "set", self.hosts[name].port, "up", ns=self.switch_ns)

    def partition(self, a: str, b: str) -> None:
        """a and b stop hearing each other (silently, in both directions)."""
        for one, other in ((a, b), (b, a)):
            peer = self.hosts[other].address
            ns = self.hosts[one].ns
            ip("neigh", "replace", peer, "lladdr", NOBODY_MAC, "dev", "eth0", "nud", "permanent",
               ns=ns)  # fmt: skip

    def rejoin(self, a: str, b: str) -> None:
        for one, other in ((a, b), (b, a)):
            ip("neigh", "del", self.hosts[other].address, "dev", "eth0",
               ns=self.hosts[one].ns, check=False)  # fmt: skip

    @contextlib.contextmanager
    def impaired(self, delay_ms: int, loss: float, seed: int = 0):
        """Every frame between any two hosts (the test process included) delayed by
        ``delay_ms`` and dropped with probability ``loss``, once per crossing, as netem
        on each host's egress would do."""
        ports = ["p0", *(h.port for h in self.hosts.values())]
        argv = [
            sys.executable, "-m", "tests.support.netns", "switch",
            str(delay_ms), str(loss), str(seed), *ports,
        ]  # fmt: skip
        self._switch = subprocess.Popen(
            ["ip", "netns", "exec", self.switch_ns, *argv],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert self._switch.stdout is not None
            line = self._switch.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"userspace switch did not start: {line}")
            for port in ports:
                ip("link", "set", port, "nomaster", ns=self.switch_ns)
            yield
        finally:
            for port in ports:
                ip("link", "set", port, "master", "br0", ns=self.switch_ns, check=False)
            self._stop_switch()

    def _stop_switch(self) -> None:
        if self._switch is None:
            return
        switch, self._switch = self._switch, None
        with contextlib.suppress(ProcessLookupError):
            switch.send_signal(signal.SIGTERM)
        try:
            out, _ = switch.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            switch.kill()
            out, _ = switch.communicate()
        if out and out.strip():
            print(f"[netns] userspace switch: {out.strip().splitlines()[-1]}")

    def destroy(self) -> None:
        self._stop_switch()
        for host in self.hosts.values():
            _delete_namespace(host.ns)
        _delete_namespace(self.switch_ns)
        if self._client_if:
            ip("link", "del", self._client_if, check=False)  # gone with its peer already


@dataclass
class NetnsCluster(LocalCluster):
    """LocalCluster's processes, each started in a host of ``network`` with the same
    commands, bound to that host's address and pointed at the others by address."""

    network: Network | None = None

    def _host(self, name: str) -> Host:
        assert self.network is not None
        return self.network.hosts[name]

    @property
    def base_url(self) -> str:
        return f"http://{self._host('gateway').address}:{self.port}"

    @property
    def sites_url(self) -> str:
        return f"http://{self._host('sites').address}:{SITES_PORT}"

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None):
        assert self.network is not None
        prefix = self.network.exec_prefix(name)
        if argv[: len(prefix)] != prefix:  # start_*_again passes what was recorded
            argv = [*prefix, *argv]
        return super()._spawn(name, argv, env)

    def start(self, timeout_s: float = 90) -> NetnsCluster:
        self.workdir = Path(self.workdir) if self.workdir else None
        if self.workdir is None:
            import tempfile

            self.workdir = Path(tempfile.mkdtemp(prefix="browsing-netns-"))
        self.port = GATEWAY_PORT
        self.env_overrides = {
            **self.env_overrides,
            "BROWSING_BIND": self._host("gateway").address,
            "BROWSING_EGRESS_ALLOW": f"{self._host('sites').address}:{SITES_PORT}",
        }
        proc = self._spawn(
            "sites",
            [sys.executable, "-m", "tests.support.netns", "sites", self._host("sites").address],
            {**os.environ, "PYTHONPATH": str(REPO)},
        )
        wait_until("test sites", lambda: _http_ok(self.sites_url + "/index.html"), 30, proc)
        super().start(timeout_s)
        return self

    def _start_redis(self) -> None:
        address = self._host("redis").address
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed"
        self._spawn(
            "redis",
            [
                binary, "--port", str(REDIS_PORT), "--bind", address, "--save", "",
                *self._persistence_args(), "--maxmemory-policy", "noeviction",
                "--dir", str(self._redis_dir()),
                *(["--requirepass", self.redis_password] if self.redis_password
                  else ["--protected-mode", "no"]),  # its clients are on other hosts
            ],
        )  # fmt: skip
        auth = f":{self.redis_password}@" if self.redis_password else ""
        url = f"redis://{auth}{address}:{REDIS_PORT}/0"
        self._wait_redis(url)
        self.env["BROWSING_REDIS_URL"] = url

    def _spawn_s3(self) -> str:
        address = self._host("s3").address
        argv = [sys.executable, "-m", "moto.server", "-H", address, "-p", str(S3_PORT)]
        self._spawn("s3", argv)
        url = f"http://{address}:{S3_PORT}"
        self.env["BROWSING_S3_ENDPOINT_URL"] = url
        self.env.setdefault("BROWSING_S3_ACCESS_KEY_ID", "local")
        self.env.setdefault("BROWSING_S3_SECRET_ACCESS_KEY", "local-secret")
        return url  # LocalCluster.start waits for it

    def _metrics_env(self, name: str) -> dict[str, str]:
        self.metrics_ports[name] = METRICS_PORT
        return {
            "BROWSING_METRICS_PORT": str(METRICS_PORT),
            "BROWSING_METRICS_BIND": self._host(name).address,
        }

    def metrics_url(self, name: str) -> str:
        if name == "gateway":
            return f"{self.base_url}/metrics"
        return f"http://{self._host(name).address}:{METRICS_PORT}/metrics"

    def peers(self, name: str, port: int) -> set[str]:
        """The addresses with an established TCP connection to ``port`` on host ``name``."""
        out = subprocess.run(
            [*self.network.exec_prefix(name), "ss", "-tnH", "state", "established",
             f"( sport = :{port} )"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        return {line.split()[-1].rsplit(":", 1)[0] for line in out.splitlines() if line.strip()}


def _http_ok(url: str) -> bool:
    import urllib.request

    with urllib.request.urlopen(url, timeout=2) as resp:
        return resp.status == 200


# Run in a namespace: ``python -m tests.support.netns sites ADDRESS`` / ``switch ...`` ------
def serve_sites(address: str) -> None:
    from functools import partial
    from http.server import ThreadingHTTPServer

    from tests.sites.server import SITES_DIR, _QuietHandler

    server = ThreadingHTTPServer(
        (address, SITES_PORT), partial(_QuietHandler, directory=str(SITES_DIR))
    )
    server.daemon_threads = True
    server.serve_forever()


ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_VNET_HDR = 15  # frames come with their offload header: GSO and checksum state kept
PACKET_IGNORE_OUTGOING = 23
VNET_HDR_LEN = 10


def run_switch(delay_ms: int, loss: float, seed: int, ports: list[str]) -> None:
    """Forward frames between ``ports`` like a learning switch, each one ``delay_ms``
    late, dropping a ``loss`` share of them."""
    import selectors

    rng = random.Random(seed)
    delay_s = delay_ms / 1000
    selector = selectors.DefaultSelector()
    sockets = []
    for name in ports:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        sock.bind((name, 0))
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        sockets.append(sock)
    counts = {"forwarded": 0, "dropped": 0}

    def report(*_: object) -> None:
        print(f"{counts['forwarded']} frames forwarded, {counts['dropped']} dropped", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, report)
    where: dict[bytes, socket.socket] = {}  # MAC address -> the port it was last seen on
    pending: deque[tuple[float, socket.socket, bytes]] = deque()
    print("ready", flush=True)
    while True:
        timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else None
        for key, _ in selector.select(timeout):
            sock = key.fileobj
            while True:
                try:
                    data = sock.recv(1 << 18)
                except BlockingIOError:
                    break
                where[data[VNET_HDR_LEN + 6 : VNET_HDR_LEN + 12]] = sock
                if rng.random() < loss:
                    counts["dropped"] += 1
                    continue
                pending.append((time.monotonic() + delay_s, sock, data))
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, source, data = pending.popleft()
            out = where.get(data[VNET_HDR_LEN : VNET_HDR_LEN + 6])
            targets = [out] if out is not None else [s for s in sockets if s is not source]
            for target in targets:
                if target is source:
                    continue
                with contextlib.suppress(OSError):  # a full queue drops, as a switch would
                    target.send(data)
                    counts["forwarded"] += 1


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "sites":
        serve_sites(rest[0])
    elif command == "switch":
        run_switch(int(rest[0]), float(rest[1]), int(rest[2]), rest[3:])
    else:
        raise SystemExit(f"unknown command {command!r}")
