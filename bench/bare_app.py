"""The baseline of bench/submit.py: a bare Flask JSON endpoint with the gateway's shape
(parse a JSON body, answer a task id) and none of its work."""

from __future__ import annotations

import uuid

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/api/v1/browsing/async")
def submit() -> object:
    body = request.get_json(force=True)
    return jsonify({"task_id": f"web:{uuid.uuid4().hex}", "task": bool(body.get("task"))})


@app.get("/healthz")
def healthz() -> object:
    return jsonify({"status": "ok"})
