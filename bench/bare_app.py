"""The baselines of bench/submit.py: a bare Flask JSON endpoint with the gateway's shape
(parse a JSON body, answer a task id) and none of its work; and the same endpoint plus
the least a durable submit must do, the task's record written by the service's own
``TaskStore.create`` (one script call), on the cluster's Redis (BROWSING_REDIS_URL); and
that plus the Celery message to the scheduler, per request, with no batching.

The records are written to another database of the cluster's Redis (``BASELINE_DB``), so
the cluster's scheduler never reads them (a message to it for such a task finds no
record); they also name a node that does not exist (``filter.node_uid``), should one be
read anyway.

bench/dispatch.py uses the durable endpoint as the first step of its raw two-hop chain:
with ``"chain": REPLY_KEY`` in the body it also sends bench/dispatch.py's hop task to the
scheduler's stand-in worker, as the gateway enqueues a task for the scheduler."""

from __future__ import annotations

import functools
import os
import uuid

import redis
from flask import Flask, jsonify, request

from shared.records import TaskStore
from shared.request import NodeFilter, TaskRequest

# bench/dispatch.py's raw chain: its workers run these.
HOP_QUEUE, HOP_TASK = "bench.hop", "bench.dispatch.hop"
BASELINE_QUEUE, BASELINE_TASK = "bench.dispatch", "bench.dispatch.started"

app = Flask(__name__)
NO_NODE = NodeFilter(node_uid="bench-baseline-no-such-node")


# The baseline's records go to another database of the same Redis server: the same
# script on the same server costs the same, and the cluster's scheduler never sees them.
# In the cluster's database its maintenance loop would fail them all, 100 a second, for
# the rest of the run, and take the CPU the sides measured after them need.
BASELINE_DB = 15


@functools.cache
def _store() -> TaskStore:
    params = redis.connection.parse_url(os.environ["BROWSING_REDIS_URL"])
    params["db"] = BASELINE_DB
    pool = redis.BlockingConnectionPool(
        max_connections=500, timeout=20, decode_responses=True, **params
    )
    return TaskStore(redis.Redis(connection_pool=pool), record_ttl_s=3600)


@functools.cache
def _celery() -> object:
    from shared.config import Settings
    from shared.services import celery_app

    return celery_app("bench-bare", Settings(redis_url=os.environ["BROWSING_REDIS_URL"]))


def _publish(name: str, args: list, queue: str) -> None:
    """A Celery message, with the options the service publishes with."""
    from shared.services import publish_options

    _celery().send_task(name, args=args, queue=queue, **publish_options())


@app.post("/api/v1/browsing/async")
def submit() -> object:
    body = request.get_json(force=True)
    return jsonify({"task_id": f"web:{uuid.uuid4().hex}", "task": bool(body.get("task"))})


def _write_record(body: dict) -> str:
    task_id = f"web:{uuid.uuid4().hex}"
    request = TaskRequest(task=str(body.get("task")), filter=NO_NODE, timeout_ms=300_000)
    _store().create(task_id, owner="bench", request=request)
    return task_id


@app.post("/durable/async")
def submit_durable() -> object:
    body = request.get_json(force=True)
    task_id = _write_record(body)
    if body.get("chain"):
        _publish(HOP_TASK, [body["chain"]], HOP_QUEUE)
    return jsonify({"task_id": task_id})


@app.post("/enqueued/async")
def submit_enqueued() -> object:
    """The submit ARCHITECTURE.md sets out, from raw parts, one request at a time: the
    record, then a Celery message to the cluster's scheduler (which fails the task at
    once: no node matches it)."""
    from shared.services import DISPATCH_MANY_TASK, SCHEDULER_QUEUE

    body = request.get_json(force=True)
    task_id = _write_record(body)
    _publish(DISPATCH_MANY_TASK, [[task_id]], SCHEDULER_QUEUE)
    return jsonify({"task_id": task_id})


@app.get("/healthz")
def healthz() -> object:
    return jsonify({"status": "ok"})
