"""The Python client (browsing/client.py) and the ``browsing`` task commands, against a real
local cluster, as a user would run them."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from browsing.client import (
    BrowsingClient,
    ClientError,
    decoded_payload,
    screenshot_names,
)
from browsing.cluster import free_port
from tests.conftest import ALICE, BOB

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STATUSES = ("queued", "assigned", "running", "completed", "failed")
TASK_ID = re.compile(r"task (web:[0-9a-f]{32})")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE, data[:16]
    return struct.unpack(">II", data[16:24])


def browsing_argv() -> list[str]:
    """The console script a user runs, or the module when the package is not installed."""
    script = Path(sys.executable).parent / "browsing"
    return [str(script)] if script.exists() else [sys.executable, "-m", "browsing.cli"]


def cli_env(url: str | None, key: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROWSING_")}
    if url is not None:
        env["BROWSING_URL"] = url
    if key is not None:
        env["BROWSING_API_KEY"] = key
    return env


def browsing(*args: str, url: str | None, key: str | None) -> subprocess.CompletedProcess:
    return subprocess.run(
        browsing_argv() + list(args),
        env=cli_env(url, key),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture()
def client(cluster) -> BrowsingClient:
    return BrowsingClient(cluster.base_url, ALICE)


# -- the client class -----------------------------------------------------------------


def test_client_submits_and_waits_for_the_title(client, sites):
    task_id = client.submit(f"Open {sites}/index.html and return the title")
    assert task_id.startswith("web:")
    seen: list[str] = []
    body = client.wait(
        task_id, timeout_s=90, poll_s=0.1, on_change=lambda b: seen.append(b["status"])
    )
    assert body["status"] == "completed" and body["success"] is True, body
    assert decoded_payload(body) == {"result": "Agent Test Home", "screenshots": []}
    assert seen[-1] == "completed" and set(seen) <= set(STATUSES)
    assert all(a != b for a, b in zip(seen, seen[1:], strict=False)), seen  # called on changes only


def test_client_full_page_screenshot_in_germany(client, sites, tmp_path):
    """test_tasks' async spec example, through the client."""
    task_id = client.submit(
        f"Open {sites}/tall.html and return a screenshot of the page.",
        country_iso="DE",
        screenshots="final_only",
        full_page=True,
    )
    status = client.wait(task_id, timeout_s=90)
    assert status["status"] == "completed" and status["success"] is True, status
    assert status["info"]["node_uid"] == "node.de.01" and status["info"]["country"] == "DE"
    assert screenshot_names(status) == ["screenshot-01.png"]
    progress: list[tuple[str, int, int | None]] = []
    saved = client.download_screenshots(
        task_id, tmp_path / "shots", progress=lambda *p: progress.append(p)
    )
    assert saved == [tmp_path / "shots" / "screenshot-01.png"]
    data = saved[0].read_bytes()
    width, height = png_size(data)
    assert width == 1280 and height > 800 * 3  # the whole tall page, not the viewport
    assert progress[0] == ("screenshot-01.png", 0, len(data))
    assert progress[-1] == ("screenshot-01.png", len(data), len(data))
    assert list((tmp_path / "shots").iterdir()) == saved  # no partial file left


def test_client_sync_viewport_screenshot(client, sites, tmp_path):
    """test_tasks' viewport example, through the client."""
    result = client.run_sync(
        f"Open {sites}/tall.html and return a screenshot of the page.",
        screenshots="final_only",
        full_page=False,
    )
    assert result["success"] is True, result
    (name,) = screenshot_names(result)
    path = client.download_screenshot(result["task_id"], name, tmp_path / name)
    assert path.stat().st_size > 0
    assert png_size(path.read_bytes()) == (1280, 800)


def test_client_errors_carry_status_and_message(cluster, client, sites):
    with pytest.raises(ClientError) as bad_key:
        BrowsingClient(cluster.base_url, "not-a-key").submit("Open x")
    assert bad_key.value.status == 401 and bad_key.value.message == "invalid API key"
    assert bad_key.value.body == {"error": "invalid API key"}

    with pytest.raises(ClientError) as unknown:
        client.status("web:" + "0" * 32)
    assert unknown.value.status == 404 and "not found" in unknown.value.message

    task_id = client.submit(f"Open {sites}/index.html and return the title")
    bob = BrowsingClient(cluster.base_url, BOB)
    for call in (
        lambda: bob.status(task_id),
        lambda: bob.cancel(task_id),
        lambda: bob.download_screenshot(task_id, "screenshot-01.png", "/nonexistent/x.png"),
    ):
        with pytest.raises(ClientError) as forbidden:
            call()
        assert forbidden.value.status == 403, forbidden.value
        assert "different user" in str(forbidden.value)
    client.wait(task_id, timeout_s=90)

    with pytest.raises(ClientError) as finished:
        client.cancel(task_id)
    assert finished.value.status == 409
    assert "default" in client.templates()


def test_client_cancels_a_running_task(client, sites):
    task_id = client.submit(f"Open {sites}/index.html. Wait 20 seconds. Return the title.")
    assert client.cancel(task_id)["status"] == "failed"
    body = client.wait(task_id, timeout_s=30)
    assert body["status"] == "failed" and body["error"] == "cancelled", body


def test_client_names_the_url_it_cannot_reach():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ClientError) as exc:
        BrowsingClient(url, ALICE, timeout_s=5).templates()
    assert exc.value.status == 0
    assert url in exc.value.message


# -- the browsing command ---------------------------------------------------------------


def test_cli_run_then_screenshots_then_status(cluster, sites, tmp_path):
    url = cluster.base_url
    run = browsing(
        "run", f"Open {sites}/index.html and return the title", "--screenshots", "final",
        url=url, key=ALICE,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["Agent Test Home", "screenshots: screenshot-01.png"]
    task_id = TASK_ID.search(run.stderr).group(1)
    progress = re.findall(r"^\[\s*[\d.]+ s\] (\w+)", run.stderr, re.MULTILINE)
    assert progress and progress[-1] == "completed" and set(progress) <= set(STATUSES)
    assert "Traceback" not in run.stderr

    shots = browsing("screenshots", task_id, "-o", str(tmp_path / "out"), url=url, key=ALICE)
    assert shots.returncode == 0, shots.stderr
    saved = Path(shots.stdout.strip())
    assert saved == tmp_path / "out" / "screenshot-01.png"
    data = saved.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 0
    assert re.search(r"screenshot-01\.png \[#{30}\] [\d.]+/[\d.]+ KiB", shots.stderr), shots.stderr
    # -o naming a file, not a folder: one line and exit 2, not a traceback.
    blocked = browsing("screenshots", task_id, "-o", str(saved), url=url, key=ALICE)
    assert (blocked.returncode, blocked.stdout) == (2, ""), blocked.stderr
    assert blocked.stderr.strip() == (
        f"browsing: cannot save screenshots in '{saved}': File exists"
    ), blocked.stderr

    status = browsing("status", task_id, "--json", url=url, key=ALICE)
    assert status.returncode == 0, status.stderr
    body = json.loads(status.stdout)
    assert body["task_id"] == task_id and body["status"] == "completed"

    human = browsing("status", task_id, url=url, key=ALICE)
    assert (
        human.returncode == 0 and "completed" in human.stdout and "Agent Test Home" in human.stdout
    )


def test_cli_run_sync_redraws_one_line_on_a_terminal(cluster, sites):
    """On a terminal the progress line is rewritten with \\r, not repeated."""
    master, replica = os.openpty()
    proc = subprocess.Popen(
        browsing_argv()
        + ["run", f"Open {sites}/index.html and return the title", "--sync", "--json"],
        env=cli_env(cluster.base_url, ALICE),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=replica,
        text=True,
    )
    os.close(replica)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO once the child closed its end
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        stdout, _ = proc.communicate(timeout=180)
    finally:
        reader.join(10)
        os.close(master)
    terminal = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, terminal
    body = json.loads(stdout)
    assert (
        body["status"] == "completed" and json.loads(body["payload"])["result"] == "Agent Test Home"
    )
    assert re.search(r"\r[^\n]", terminal), terminal  # the tty turns \n into \r\n; this is more
    assert "waiting for the result (sync) -> completed" in terminal


def test_cli_failed_task_exits_1(cluster):
    run = browsing(
        "run", "Open https://example.com", "--country", "FR", url=cluster.base_url, key=ALICE
    )
    assert run.returncode == 1, run.stderr
    assert "failed: no live browsing node matches country_iso=FR" in run.stderr


def test_cli_refused_request_exits_2(cluster):
    run = browsing("status", "web:" + "0" * 32, url=cluster.base_url, key=BOB)
    assert run.returncode == 2
    assert run.stderr.strip() == f"browsing: task web:{'0' * 32} not found (HTTP 404)"


def test_cli_templates(cluster):
    run = browsing("templates", url=cluster.base_url, key=ALICE)
    assert run.returncode == 0 and "default" in run.stdout.split()


def test_cli_output_to_a_reader_that_went_away_is_no_traceback(cluster):
    # `browsing tasks list | head`: the reader is gone before the command writes.
    read, write = os.pipe()
    os.close(read)
    proc = subprocess.run(
        browsing_argv() + ["templates"],
        env=cli_env(cluster.base_url, ALICE),
        cwd=ROOT,
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
    )
    os.close(write)
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    assert proc.returncode == 141  # 128 + SIGPIPE, as shell tools end


def test_cli_without_api_key_exits_2():
    run = browsing("status", "web:x", url=f"http://127.0.0.1:{free_port()}", key=None)
    assert run.returncode == 2
    assert "no API key: set BROWSING_API_KEY or pass --api-key" in run.stderr
    assert "Traceback" not in run.stderr


def test_cli_unreachable_gateway_is_one_line():
    url = f"http://127.0.0.1:{free_port()}"
    run = browsing("run", "Open https://example.com", url=url, key=ALICE)
    assert run.returncode == 2
    assert run.stdout == ""
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith(f"browsing: cannot reach the browsing gateway at {url}/")
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("command", [("nodes",), ("keys", "create", "erin")])
def test_operator_command_with_an_unreachable_redis_is_one_line(command):
    """No traceback, and the password in the Redis URL is not shown."""
    env = cli_env(None, None)
    env["BROWSING_REDIS_URL"] = f"redis://:hunter2-pw@127.0.0.1:{free_port()}/0"
    run = subprocess.run(
        browsing_argv() + list(command), env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2
    assert run.stdout == ""
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("browsing: cannot reach Redis at redis://:***@127.0.0.1:"), line
    assert "`browsing up`" in line and "BROWSING_REDIS_URL" in line
    assert "hunter2-pw" not in run.stderr


def test_cli_url_and_api_key_options_override_the_environment(cluster):
    run = browsing(
        "templates", "--url", cluster.base_url, "--api-key", ALICE,
        url=f"http://127.0.0.1:{free_port()}", key="not-a-key",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr


def test_cli_sync_goes_on_polling_when_the_gateway_stops_waiting(cluster, sites):
    """The test cluster's /sync waits 8 s; the command then polls the task to its end."""
    run = browsing(
        "run", f"Open {sites}/index.html. Wait 10 seconds. Return the title.", "--sync",
        url=cluster.base_url, key=ALICE,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "Agent Test Home"
    assert "task still running after 8 s" in run.stderr
    assert re.search(r"^\[\s*[\d.]+ s\] completed on node\.", run.stderr, re.MULTILINE), run.stderr


# -- queue position and per-user limits ---------------------------------------------------


def test_cli_run_prints_the_queue_position_counting_down(cluster, sites):
    """node.us.01 runs two tasks at once (plus BROWSING_NODE_PREFETCH bound to it): of
    five of alice's tasks for it, the last ones wait, and her next task waits behind them."""
    client = BrowsingClient(cluster.base_url, ALICE)
    hold = {"task": f"Open {sites}/index.html. Wait 2 seconds.", "node_uid": "node.us.01"}
    held = [client.submit(**hold) for _ in range(5)]
    ahead = client.status(held[-1])["queue_position"]
    assert isinstance(ahead, int) and ahead >= 1
    run = browsing(
        "run", f"Open {sites}/index.html and return the title", "--node", "node.us.01",
        url=cluster.base_url, key=ALICE,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "Agent Test Home"
    steps = re.findall(r"^\[\s*[\d.]+ s\] (.+)$", run.stderr, re.MULTILINE)
    positions = [int(p) for p in re.findall(r"^queued \(position (\d+)\)$", "\n".join(steps), re.M)]
    assert steps[0].startswith("queued (position "), run.stderr
    assert positions[0] <= ahead + 1, run.stderr  # fewer if a held task was bound meanwhile
    assert len(positions) >= 2 and positions == sorted(set(positions), reverse=True), run.stderr
    assert steps[-1] == "completed on node.us.01", run.stderr
    for task_id in held:
        assert client.wait(task_id, 60)["status"] == "completed"


def test_a_refused_submit_is_429_with_retry_after_in_the_client_and_the_cli(cluster, sites):
    """A user allowed one submit per 100 s: the second is refused with Retry-After."""
    env = {**cli_env(None, None), "BROWSING_REDIS_URL": cluster.redis_url}
    created = subprocess.run(
        browsing_argv() + ["keys", "create", "gina", "--rate", "0.01", "--burst", "1"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    key = created.stdout.strip()
    client = BrowsingClient(cluster.base_url, key)
    first = client.submit(f"Open {sites}/index.html")
    with pytest.raises(ClientError) as refused:
        client.submit(f"Open {sites}/index.html")
    assert refused.value.status == 429
    assert 98 <= refused.value.retry_after <= 100, refused.value.retry_after
    assert "limit rate=0.01" in refused.value.message
    assert refused.value.body == {"error": refused.value.message}

    run = browsing("run", f"Open {sites}/index.html", url=cluster.base_url, key=key)
    assert run.returncode == 2
    assert run.stdout == ""
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("browsing: too many requests: "), line
    assert re.search(r"\(HTTP 429, retry after \d+ s\)$", line), line
    assert client.wait(first, 60)["status"] == "completed"
