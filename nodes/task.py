"""The Celery task a node consumes from its queue."""

from __future__ import annotations

import logging
import time

from celery import Celery

from nodes import metrics
from nodes.attempt import run_attempt
from nodes.runtime import NodeRuntime
from shared.logs import task_logging
from shared.services import BROWSE_TASK

log = logging.getLogger(__name__)


def browse(runtime: NodeRuntime, task_id: str, attempt: int) -> str:
    started = time.perf_counter()
    outcome = "failed"
    try:
        with task_logging(task_id):
            outcome = run_attempt(runtime, task_id, attempt)
            log.info("attempt ended", extra={"attempt": attempt, "outcome": outcome})
        return outcome
    finally:
        label = outcome.partition(":")[0]
        metrics.ATTEMPTS.labels(label).inc()
        if label != "dropped":
            metrics.ATTEMPT_DURATION.labels(label).observe(time.perf_counter() - started)
        runtime.prewarm()  # after the result is reported, before the next message


def register(app: Celery, runtime: NodeRuntime) -> None:
    """Register the browse task on ``app``, running its attempts with ``runtime``."""

    @app.task(name=BROWSE_TASK, ignore_result=True)
    def browse_task(task_id: str, attempt: int) -> str:
        return browse(runtime, task_id, attempt)
