"""The baselines of bench/submit.py: a bare Flask JSON endpoint with the gateway's shape
(parse a JSON body, answer a task id) and none of its work; and the same endpoint plus
the least a durable submit must do, one Redis transaction writing the record (what the
gateway's TaskStore.create sends), on the cluster's Redis (BROWSING_REDIS_URL)."""

from __future__ import annotations

import json
import os
import time
import uuid

import redis
from flask import Flask, jsonify, request

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


@app.post("/api/v1/browsing/async")
def submit() -> object:
    body = request.get_json(force=True)
    return jsonify({"task_id": f"web:{uuid.uuid4().hex}", "task": bool(body.get("task"))})


@app.post("/durable/async")
def submit_durable() -> object:
    body = request.get_json(force=True)
    task_id = f"web:{uuid.uuid4().hex}"
    now = int(time.time() * 1000)
    pipe = _redis.pipeline(transaction=True)
    pipe.hset(f"bench:task:{task_id}", mapping={"request": json.dumps(body), "created_ms": now})
    pipe.zadd("bench:deadlines", {task_id: now + 300_000})
    pipe.zadd("bench:queued", {task_id: now})
    pipe.execute()
    return jsonify({"task_id": task_id})


@app.get("/healthz")
def healthz() -> object:
    return jsonify({"status": "ok"})
