"""The Celery task a node consumes from its queue."""

from __future__ import annotations

import time

from nodes import app, metrics
from nodes.attempt import run_attempt
from nodes.lifecycle import runtime
from shared.services import BROWSE_TASK


@app.task(name=BROWSE_TASK, ignore_result=True)
def browse(task_id: str, attempt: int) -> str:
    started = time.perf_counter()
    outcome = "failed"
    try:
        outcome = run_attempt(runtime, task_id, attempt)
        return outcome
    finally:
        label = outcome.partition(":")[0]
        metrics.ATTEMPTS.labels(label).inc()
        if label != "dropped":
            metrics.ATTEMPT_DURATION.labels(label).observe(time.perf_counter() - started)
        runtime.prewarm()  # after the result is reported, before the next message
