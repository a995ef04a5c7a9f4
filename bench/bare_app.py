"""The baselines of bench/submit.py: a bare Flask JSON endpoint with the gateway's shape
(parse a JSON body, answer a task id) and none of its work; and the same endpoint plus
the least a durable submit must do, one Redis transaction writing the record (the
fields and sorted-set entries TaskStore.create writes, as a plain MULTI/EXEC), on the
cluster's Redis (BROWSING_REDIS_URL); and that plus the Celery message to the
scheduler, per request, with no batching.

bench/dispatch.py uses the durable endpoint as the first step of its raw two-hop chain:
with ``"chain": REPLY_KEY`` in the body it also sends bench/dispatch.py's hop task to the
scheduler's stand-in worker, as the gateway enqueues a task for the scheduler."""

from __future__ import annotations

import functools
import json
import os
import time
import uuid

import redis
from flask import Flask, jsonify, request

# bench/dispatch.py's raw chain: its workers run these.
HOP_QUEUE, HOP_TASK = "bench.hop", "bench.dispatch.hop"
BASELINE_QUEUE, BASELINE_TASK = "bench.dispatch", "bench.dispatch.started"

app = Flask(__name__)
_redis = (
    redis.Redis(
        connection_pool=redis.BlockingConnectionPool.from_url(
            os.environ["BROWSING_REDIS_URL"], max_connections=500, timeout=20
        )
    )
    if os.environ.get("BROWSING_REDIS_URL")
    else None
)


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
    now = int(time.time() * 1000)
    pipe = _redis.pipeline(transaction=True)
    pipe.hset(f"bench:task:{task_id}", mapping={"request": json.dumps(body), "created_ms": now})
    pipe.zadd("bench:deadlines", {task_id: now + 300_000})
    pipe.zadd("bench:queued", {task_id: now})
    pipe.execute()
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
    record's transaction, then a Celery message to the cluster's scheduler (which finds no
    record of ours under the name and drops it after reading)."""
    from shared.services import DISPATCH_MANY_TASK, SCHEDULER_QUEUE

    body = request.get_json(force=True)
    task_id = _write_record(body)
    _publish(DISPATCH_MANY_TASK, [[task_id]], SCHEDULER_QUEUE)
    return jsonify({"task_id": task_id})


@app.get("/healthz")
def healthz() -> object:
    return jsonify({"status": "ok"})
