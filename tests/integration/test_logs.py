"""The processes of a real cluster log JSON lines, and a task's lines carry its id."""

from __future__ import annotations

import json

from tests.conftest import poll


def json_lines(path) -> list[dict]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def test_a_task_s_log_lines_are_json_and_carry_its_task_id(cluster, api, sites):
    body = {"task": f"Open {sites}/index.html and return the title", "fanout": 2}
    task_id = api.post("/api/v1/browsing/sync", body).json()["task_id"]
    nodes = ("node.de.01", "node.us.01")

    def ended(node: str) -> list[dict]:
        return [
            e
            for e in json_lines(cluster.log_path(node))
            if e.get("task_id") == task_id and e["msg"] == "attempt ended"
        ]

    # The loser's last line may trail the winner's result.
    poll(lambda: all(ended(node) for node in nodes), timeout_s=10, what="both attempts ended")
    logged = json_lines(cluster.log_path("scheduler"))
    scheduler = [e for e in logged if e.get("task_id") == task_id]
    assert any(e["msg"] == "dispatched" for e in scheduler), scheduler
    for node in nodes:
        path = cluster.log_path(node)
        # Any line that mentions the task is a JSON object that names it in task_id.
        for line in path.read_text(errors="replace").splitlines():
            if task_id in line:
                assert json.loads(line)["task_id"] == task_id, line
