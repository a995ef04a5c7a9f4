"""`browsing up` supervises its cluster: a crashed child is restarted with back-off, what
it left is killed, a crash loop stops everything; operator commands find the cluster
through its state file."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from browsing.cluster import LocalCluster
from browsing.processes import descendants, free_port, identify, start_time
from browsing.state import (
    ClusterState,
    find_cluster,
    operator_env,
    remove_state,
    state_path,
    write_state,
)
from browsing.supervisor import RestartPolicy, Supervisor
from tests.conftest import Api, allow, chromium_count
from tests.support.launcher import Output, browsing_up, child_of, left_of, until, user_env


def test_browsing_up_restarts_what_crashes_and_stops_on_a_crash_loop(sites, tmp_path):
    env = user_env(tmp_path)
    env["BROWSING_EGRESS_ALLOW"] = allow(sites)
    env["BROWSING_NODE_HEARTBEAT_INTERVAL_S"] = "0.5"
    env["BROWSING_NODE_DEAD_AFTER_S"] = "4"
    data = tmp_path / "data"
    proc = browsing_up(
        env,
        "--port",
        str(free_port()),
        "--workdir",
        str(tmp_path / "logs"),
        "--data-dir",
        str(data),
    )
    out = Output(proc)
    launcher = proc.pid
    try:
        ready = out.wait_for(r"^ready: (http://\S+) api_key=(\S+)", 120)
        api = Api(ready.group(1), ready.group(2))

        # A node killed (SIGKILL, its main process only) while it runs a task: restarted,
        # what it left (pool processes, Chromium) killed, and the task completes.
        task_id = api.submit(
            {"task": f"Open {sites}/index.html. Wait 6 seconds. Return the title."}
        )
        running = until(
            lambda: (
                (b := api.status(task_id))["status"] == "running"
                and b["info"]["attempts"][-1]["started_at"]
                and b
            ),
            60,
        )
        node = running["info"]["attempts"][-1]["node_uid"]
        victim = child_of(launcher, f"-Q {node} ")
        assert victim is not None
        old_tree = identify([victim, *descendants(victim)])
        assert chromium_count([pid for pid, _ in old_tree]) >= 1  # else the check is hollow
        os.kill(victim, signal.SIGKILL)
        out.wait_for(rf"^browsing up: {re.escape(node)} exited \(killed by SIGKILL\); "
                     r"restart 1 in 0\.5 s$", 30)  # fmt: skip
        until(lambda: not left_of(old_tree), 10)
        until(lambda: child_of(launcher, f"-Q {node} ", {victim}), 30)
        done = api.wait(task_id, 120)
        assert done["status"] == "completed" and done["success"] is True, done
        assert done["info"]["attempts"][0]["outcome"] == "failed", done["info"]
        assert len(done["info"]["attempts"]) >= 2

        # Redis killed: restarted on its port with its append-only file; the record of the
        # task above survives, and new tasks run.
        time.sleep(1.5)  # appendfsync everysec: what is a second old is on disk
        redis_pid = child_of(launcher, "redis-server")
        assert redis_pid is not None
        os.kill(redis_pid, signal.SIGKILL)
        out.wait_for(r"^browsing up: redis exited \(killed by SIGKILL\); restart 1 in 0\.5 s$", 30)
        synced = until(
            lambda: (
                (
                    r := api.post("/api/v1/browsing/sync", {"task": f"Open {sites}/index.html"})
                ).status_code
                == 200
                and r.json()["success"]
                and r.json()
            ),
            90,
        )
        assert synced["status"] == "completed"
        assert api.status(task_id)["status"] == "completed"

        # The scheduler killed: restarted, and the next task is dispatched.
        scheduler = child_of(launcher, "-A scheduler")
        assert scheduler is not None
        os.kill(scheduler, signal.SIGKILL)
        out.wait_for(r"^browsing up: scheduler exited \(killed by SIGKILL\); restart 1 in 0\.5", 30)
        until(lambda: child_of(launcher, "-A scheduler", {scheduler}), 30)
        after = api.wait(api.submit({"task": f"Open {sites}/index.html"}), 90)
        assert after["status"] == "completed" and after["success"] is True, after

        # The gateway killed five times within a minute: a crash loop stops everything.
        tree = identify([launcher, *descendants(launcher)])
        killed: set[int] = set()
        for _ in range(5):
            gateway = until(lambda: child_of(launcher, "gunicorn", killed), 30)
            os.kill(gateway, signal.SIGKILL)
            killed.add(gateway)
        code = proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    for restart, delay in ((1, "0.5"), (2, "1"), (3, "2"), (4, "4")):
        out.wait_for(
            rf"^browsing up: gateway exited \(killed by SIGKILL\); restart {restart} in {delay} s$",
            1,
        )
    out.wait_for(
        r"^browsing up: gateway crashed 5 times within 60 s \(last: killed by SIGKILL\); "
        r"stopping the cluster",
        1,
    )
    assert code == 1
    assert not left_of(tree), f"browsing up left processes behind: {left_of(tree)}"
    assert not (data / "cluster.json").exists()


def test_restarts_back_off_reset_after_a_stable_run_and_a_crash_loop_stops(tmp_path):
    """The policy, on real processes with a controlled clock: 0.5, 1, 2 s; back to 0.5 s
    after 30 s up; the fifth crash within 60 s is a crash loop."""
    now = [0.0]
    cluster = LocalCluster(workdir=tmp_path)
    cluster._spawn("child", ["sleep", "60"], dict(os.environ))
    lines: list[str] = []
    supervisor = Supervisor(cluster, log=lines.append, clock=lambda: now[0])

    def crash() -> None:
        proc = cluster.procs["child"]
        proc.kill()
        proc.wait(5)
        supervisor.check()

    def restarted_after(delay_s: float) -> None:
        before = cluster.procs.get("child")
        now[0] += delay_s - 0.01
        supervisor.check()
        assert "child" not in cluster.procs, "restarted before its delay"
        now[0] += 0.01
        supervisor.check()
        assert cluster.procs["child"] is not before and cluster.procs["child"].poll() is None

    try:
        for restart, delay in ((1, 0.5), (2, 1), (3, 2)):
            crash()
            assert (
                lines[-1] == f"child exited (killed by SIGKILL); restart {restart} in {delay:g} s"
            )
            restarted_after(delay)
        now[0] += RestartPolicy().stable_after_s
        supervisor.check()
        crash()
        assert lines[-1] == "child exited (killed by SIGKILL); restart 4 in 0.5 s"
        restarted_after(0.5)
        with pytest.raises(Exception, match=r"child crashed 5 times within 60 s"):
            crash()
    finally:
        cluster.stop()


def test_a_child_that_cannot_be_started_again_backs_off_and_ends_in_a_crash_loop(tmp_path):
    # Its program is gone (an OSError from the restart): each failed start counts as a
    # crash, with the same back-off, instead of a retry at the same delay forever.
    now = [0.0]
    cluster = LocalCluster(workdir=tmp_path)
    program = tmp_path / "child.sh"
    program.write_text("#!/bin/sh\nsleep 60\n")
    program.chmod(0o755)
    cluster._spawn("child", [str(program)], dict(os.environ))
    lines: list[str] = []
    supervisor = Supervisor(cluster, log=lines.append, clock=lambda: now[0])
    try:
        program.unlink()
        cluster.procs["child"].kill()
        cluster.procs["child"].wait(5)
        supervisor.check()
        assert lines[-1] == "child exited (killed by SIGKILL); restart 1 in 0.5 s"
        with pytest.raises(Exception, match=r"child crashed 5 times within 60 s \(last: could"):
            for delay in (0.5, 1, 2, 4):
                now[0] += delay
                supervisor.check()
                assert lines[-1].startswith("child could not be started: ")
                assert lines[-1].endswith(f"in {delay * 2:g} s")
    finally:
        cluster.stop()


def test_what_a_crashed_child_leaves_behind_is_killed_before_its_restart(tmp_path):
    cluster = LocalCluster(workdir=tmp_path)
    cluster._spawn("child", ["sh", "-c", "sleep 60 & sleep 60 & wait"], dict(os.environ))
    supervisor = Supervisor(cluster, log=lambda line: None)
    try:
        main = cluster.procs["child"]
        sleepers = until(lambda: len(descendants(main.pid)) == 2 and descendants(main.pid), 10)
        supervisor.check()  # it knows the tree
        orphans = identify(sleepers)
        main.kill()
        main.wait(5)
        assert left_of(orphans), "the sleepers outlive their shell: else this test is hollow"
        supervisor.check()
        until(lambda: not left_of(orphans), 5)
    finally:
        cluster.stop()


def _state(pid: int, redis_url: str, data: Path) -> ClusterState:
    return ClusterState(
        pid=pid,
        started=start_time(pid) or 0,
        gateway_url="http://127.0.0.1:1",
        env={"BROWSING_REDIS_URL": redis_url},
        workdir=str(data),
        data_dir=str(data),
        nodes=["node.de.01"],
    )


def test_operator_commands_use_a_live_launcher_s_state_file_only(tmp_path):
    data = tmp_path / "data"
    path = data / "cluster.json"
    env = {"BROWSING_DATA_DIR": str(data), "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    write_state(path, _state(os.getpid(), "redis://:pw@127.0.0.1:7/0", data))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert find_cluster(env) is not None
    assert operator_env(env)["BROWSING_REDIS_URL"] == "redis://:pw@127.0.0.1:7/0"
    explicit = {**env, "BROWSING_REDIS_URL": "redis://elsewhere:6379/0"}
    assert operator_env(explicit)["BROWSING_REDIS_URL"] == "redis://elsewhere:6379/0"
    # An empty variable is no setting; a Sentinel setup is the operator's own Redis.
    blank = {**env, "BROWSING_REDIS_URL": ""}
    assert operator_env(blank)["BROWSING_REDIS_URL"] == "redis://:pw@127.0.0.1:7/0"
    sentinels = {**env, "BROWSING_REDIS_SENTINELS": "s1:26379"}
    assert "BROWSING_REDIS_URL" not in operator_env(sentinels)
    # A second `browsing up` on this data directory is refused before it starts anything.
    second = subprocess.run(
        [sys.executable, "-m", "browsing.cli", "up", "--data-dir", str(data)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1, second.stderr
    assert f"another `browsing up` (process {os.getpid()}" in second.stderr
    assert "starting" not in second.stdout
    remove_state(path, os.getpid() + 1)  # not that launcher's: kept
    assert path.exists()
    remove_state(path, os.getpid())
    assert not path.exists()

    # A launcher that is gone (killed, so it could not remove its file): ignored.
    gone = subprocess.Popen(["sleep", "60"])
    stale = _state(gone.pid, "redis://127.0.0.1:8/0", data)
    gone.kill()
    gone.wait(5)
    path.write_text(json.dumps(stale.__dict__))
    assert find_cluster(env) is None
    assert "BROWSING_REDIS_URL" not in operator_env(env)


def test_without_a_data_directory_the_state_file_is_in_the_runtime_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    path = state_path(None)
    assert path == tmp_path / "run" / "browsing-service" / "cluster.json"
    write_state(path, _state(os.getpid(), "redis://127.0.0.1:9/0", tmp_path))
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # found by a command whose data directory has no state file
    env = {"BROWSING_DATA_DIR": str(tmp_path / "empty")}
    assert operator_env(env)["BROWSING_REDIS_URL"] == "redis://127.0.0.1:9/0"
    # a second launcher does not take a live launcher's file
    with pytest.raises(FileExistsError):
        write_state(path, _state(os.getppid(), "redis://127.0.0.1:10/0", tmp_path))
