"""`make run` (`browsing up`): comes up, serves the spec's async example, tells operator
commands where it is, and stops cleanly."""

from __future__ import annotations

import os
import re
import shlex
import signal
import stat
import subprocess
import sys
import time

from browsing.cluster import LocalCluster
from browsing.processes import descendants, free_port, identify, kill_all, start_time
from tests.conftest import Api, alive, allow, chromium_count
from tests.support.launcher import ROOT, browsing, browsing_up, user_env


def _read_until(proc: subprocess.Popen, pattern: str, timeout_s: float) -> re.Match:
    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no line matching {pattern!r}; output so far: {''.join(seen)}")


def _service_ports(workdir) -> list[int]:
    """The ports of the Redis and S3 servers `browsing up` started, from their logs."""
    redis_log = (workdir / "redis.log").read_text(errors="replace")
    s3_log = (workdir / "s3.log").read_text(errors="replace")
    ports = re.findall(r"port=(\d+)", redis_log)[:1] + re.findall(r"127\.0\.0\.1:(\d+)", s3_log)[:1]
    assert len(ports) == 2, "both services' ports are in their logs"
    return [int(p) for p in ports]


def test_browsing_up_serves_the_async_example_and_stops_cleanly(sites, tmp_path):
    env = user_env(tmp_path)
    env["BROWSING_EGRESS_ALLOW"] = allow(sites)  # as README says to allow a local site
    port = free_port()
    proc = browsing_up(env, "--port", str(port), "--workdir", str(tmp_path))
    state_file = tmp_path / "xdg-data" / "browsing-service" / "cluster.json"
    try:
        ready = _read_until(proc, r"^ready: (http://\S+) api_key=(\S+)", 120)
        base_url, key = ready.group(1), ready.group(2)
        assert base_url == f"http://127.0.0.1:{port}"
        console = _read_until(proc, r"^console: open (\S+) in a browser", 5)
        assert console.group(1) == base_url + "/"
        page = Api(base_url, None).get("/", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "<title>Browsing console</title>" in page.text
        me = Api(base_url, key).get("/api/v1/browsing/me").json()
        assert me == {"user": "local", "admin": True}  # the operator pages take the key
        operators = _read_until(proc, r"^operators: .* find this cluster through (\S+)$", 5)
        assert operators.group(1) == str(state_file)
        assert stat.S_IMODE(state_file.stat().st_mode) == 0o600  # it names the Redis

        # Another terminal, with no BROWSING_* variable: the operator commands find the
        # cluster through the state file.
        other = {k: v for k, v in env.items() if not k.startswith("BROWSING_")}
        listed = browsing(other, "nodes")
        assert listed.returncode == 0, listed.stderr
        rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[1:]}
        assert set(rows) == {"node.de.01", "node.us.01"}, listed.stdout
        assert all(row[5] == "eligible" for row in rows.values()), listed.stdout
        created = browsing(other, "keys", "create", "dave")
        assert created.returncode == 0, created.stderr
        dave = Api(base_url, created.stdout.strip())
        assert dave.get("/api/v1/browsing/templates").status_code == 200

        curl = _read_until(proc, r"^try: (curl .*)$", 5).group(1)
        assert f"Open {sites}/ and summarize the page" in curl
        egress = _read_until(proc, r"^egress: .*except BROWSING_EGRESS_ALLOW: (\S+)$", 5)
        assert egress.group(1) == allow(sites)
        out = subprocess.run(shlex.split(curl), capture_output=True, text=True, timeout=120)
        assert '"success":true' in out.stdout.replace(" ", ""), out.stdout + out.stderr

        # The cluster's own ports stay out of reach: the gateway, Redis, S3.
        api = Api(base_url, key)
        for target in (port, *_service_ports(tmp_path)):
            refused = api.post(
                "/api/v1/browsing/sync", {"task": f"Open http://127.0.0.1:{target}/healthz"}
            ).json()
            assert refused["success"] is False and refused["error"] == (
                f"egress refused: 127.0.0.1:{target} is a loopback address "
                "(BROWSING_EGRESS_ALLOW can allow it)"
            ), refused

        # The spec's async curl example, host and URL swapped for local ones.
        task_id = api.submit(
            {
                "task": f"Open {sites}/index.html and return a screenshot of the page.",
                "filter": {"country_iso": "DE"},
                "screenshots": {"mode": "final_only", "full_page": True},
            }
        )
        done = api.wait(task_id, 60)
        assert done["status"] == "completed", done
        url = __import__("json").loads(done["payload"])["screenshots"][0]["url"]
        png = api.get(url)
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    finally:
        tree = descendants(proc.pid)
        browsers = chromium_count(tree)
        # Idle keep-alive connections would hold gunicorn's graceful stop for 10 s.
        Api.close_all()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0
    assert browsers >= 2  # a warm Chromium per node; without them the check below is hollow
    leaked = alive(tree)
    assert not leaked, f"browsing up left processes behind: {leaked}"
    assert not state_file.exists()


def test_an_answering_redis_is_reused_and_a_dead_one_replaced(cluster, tmp_path):
    reuse = LocalCluster(
        workdir=tmp_path / "a", env_overrides={"BROWSING_REDIS_URL": cluster.redis_url}
    )
    reuse.workdir.mkdir(parents=True)
    reuse.env = {**os.environ, **reuse.env_overrides}
    reuse._start_redis()
    assert "redis" not in reuse.procs and reuse.redis_url == cluster.redis_url

    dead_url = f"redis://127.0.0.1:{free_port()}/0"
    own = LocalCluster(workdir=tmp_path / "b", env_overrides={"BROWSING_REDIS_URL": dead_url})
    own.workdir.mkdir(parents=True)
    own.env = {**os.environ, **own.env_overrides}
    try:
        own._start_redis()
        assert "redis" in own.procs and own.redis_url != dead_url
    finally:
        own.stop()


def test_the_private_redis_keeps_its_data_across_a_crash_and_a_restart(tmp_path):
    """`browsing up`'s Redis, with a data directory: a record written before Redis is
    killed (SIGKILL) is there after it comes back, and after a new cluster starts on the
    same directory, as a restarted `make run` does."""
    import redis

    from shared.records import TaskStore
    from shared.request import TaskRequest

    def private_redis(workdir) -> LocalCluster:
        cluster = LocalCluster(workdir=workdir, data_dir=tmp_path / "data", reuse_services=False)
        cluster.workdir.mkdir(parents=True)
        cluster.env = dict(os.environ)
        cluster._start_redis()
        return cluster

    first = private_redis(tmp_path / "a")
    try:
        client = redis.Redis.from_url(first.redis_url, decode_responses=True)
        TaskStore(client, record_ttl_s=3600).create(
            "web:" + "a" * 32, owner="alice", request=TaskRequest(task="x", timeout_ms=60_000)
        )
        client.set("browsing:drain:node.de.01", "1")
        time.sleep(1.5)  # appendfsync everysec: what is a second old is on disk
        first.stop_process("redis", signal.SIGKILL)
        first.start_redis_again()
        record = TaskStore(client, record_ttl_s=3600).get("web:" + "a" * 32)
        assert record is not None and record.owner == "alice"
    finally:
        first.stop()
    second = private_redis(tmp_path / "b")
    try:
        client = redis.Redis.from_url(second.redis_url, decode_responses=True)
        assert TaskStore(client, record_ttl_s=3600).get("web:" + "a" * 32) is not None
        assert client.get("browsing:drain:node.de.01") == "1"
    finally:
        second.stop()
    assert (tmp_path / "data" / "redis").is_dir()


def test_the_launcher_never_kills_a_reused_pid(tmp_path):
    """stop_process kills what is left of a tree after reaping it; a pid reused since by
    another process (known by its start time) is left alone."""
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        started = start_time(bystander.pid)
        assert identify([bystander.pid]) == [(bystander.pid, started)]
        kill_all([(bystander.pid, started - 1)], signal.SIGKILL)  # the pid's old owner
        time.sleep(0.2)
        assert bystander.poll() is None  # still running: it is not that process
        kill_all([(bystander.pid, started)], signal.SIGKILL)
        assert bystander.wait(5) == -signal.SIGKILL
    finally:
        if bystander.poll() is None:
            bystander.kill()
            bystander.wait(5)


def test_browsing_up_without_moto_says_how_to_install_it(tmp_path):
    hide_moto = (
        "import sys; sys.modules['moto'] = None; "  # what find_spec sees when it is missing
        "from browsing.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", hide_moto, "up", "--workdir", str(tmp_path), "--data-dir", "none"],
        env=user_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "moto, which is not installed: pip install -e '.[local]'" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    assert not list(tmp_path.glob("*.log")), "nothing was started"


def test_browsing_up_on_a_port_in_use_says_so_and_starts_nothing(tmp_path):
    """Before, it printed a ready line whose key the other server refused, then stopped
    after its gateway failed to bind five times."""
    import socket

    port = free_port()
    with socket.socket() as other:
        other.bind(("127.0.0.1", port))
        other.listen()
        proc = browsing_up(
            user_env(tmp_path),
            "--port",
            str(port),
            "--data-dir",
            "none",
            "--workdir",
            str(tmp_path),
        )
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, out
    assert f"browsing: port {port} on 127.0.0.1 is in use" in out, out
    assert "--port or BROWSING_PORT" in out and "ready:" not in out
    assert not (tmp_path / "gateway.log").exists()  # nothing was started
