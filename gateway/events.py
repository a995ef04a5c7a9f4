"""Server-Sent Events of one task (GET /api/v1/browsing/events): its status changes, its
agent steps as nodes record them, and last the final status body.

Each stream is one greenlet under gunicorn's gevent worker, and holds no Redis
connection while it waits: one listener per process (the same fan-out as /sync's,
gateway/waiters.py) subscribes to the events and completion channels and wakes the
streams of the task named; a woken stream reads what is new in one transaction
(shared/events.py) on a pooled connection and gives it back at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import redis

from gateway import metrics
from gateway.views import SCREENSHOT_URL, status_body
from gateway.waiters import CompletionListener
from shared.clock import iso_utc
from shared.events import END_ID, RUNNING, STATUS_NAMES, Cursor, EventLog, StepEvent
from shared.records import TaskStore

log = logging.getLogger(__name__)

RETRY_MS = 1000  # how long a client waits before it reconnects (the SSE ``retry`` field)
MIN_KEEPALIVE_S = 0.1


class EventListener(CompletionListener):
    """The process's one subscription for event streams: a message on either channel
    names a task, whose streams then read what is new."""

    def __init__(self, events: EventLog) -> None:
        super().__init__(events)  # type: ignore[arg-type]  # it only calls .completions()


def _frame(event_id: str, name: str, data: dict[str, Any]) -> str:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event_id}\nevent: {name}\ndata: {body}\n\n"


def step_data(task_id: str, step: StepEvent) -> dict[str, Any]:
    screenshot = None
    if step.screenshot:
        url = SCREENSHOT_URL.format(task_id=task_id, name=step.screenshot)
        screenshot = f"{url}?attempt={step.attempt}"
    return {
        "task_id": task_id,
        "attempt": step.attempt,
        "index": step.index,
        "action": step.action,
        "url": step.url,
        "outcome": "ok" if step.ok else "failed",
        "error": step.error,
        "duration_ms": step.duration_ms,
        "screenshot": screenshot,
        "node_uid": step.node,
        "at": iso_utc(step.at_ms),
    }


def stream(
    task_id: str,
    cursor: Cursor,
    *,
    events: EventLog,
    store: TaskStore,
    listener: EventListener,
    keepalive_s: float,
) -> Iterator[str]:
    """The text of the task's event stream after ``cursor``, ending with the final
    status; runs until then, or until the client goes away (a write fails and the
    server closes this generator)."""
    wake = listener.register(task_id)  # before reading, so no change can be missed
    metrics.EVENT_STREAMS.inc()
    keepalive_s = max(keepalive_s, MIN_KEEPALIVE_S)
    try:
        yield f"retry: {RETRY_MS}\n\n"
        if cursor.ended:
            return
        sent, after = cursor.status, cursor.step_id
        while True:
            wake.clear()
            try:
                snapshot = events.read(task_id, after)
            except redis.RedisError as exc:
                # The client reconnects (``retry``) with the last id it got.
                log.warning("event stream lost Redis: %r", exc)
                return
            if snapshot is None:  # the record expired meanwhile
                return
            out = []
            for level in sorted(snapshot.times):
                if level > sent:
                    data = {
                        "task_id": task_id,
                        "status": STATUS_NAMES[level],
                        "at": iso_utc(snapshot.times[level]),
                    }
                    out.append(_frame(f"0-{level}", "status", data))
                    sent = level
            for entry_id, step in snapshot.steps:
                sent = RUNNING
                out.append(_frame(entry_id, "step", step_data(task_id, step)))
                after = entry_id
            if snapshot.steps:
                metrics.STEP_EVENTS.inc(len(snapshot.steps))
            if snapshot.more:
                yield "".join(out)
                continue
            if snapshot.terminal:
                record = store.get(task_id)
                if record is not None:
                    body = status_body(record)
                    out.append(_frame(END_ID, "status", {**body, "at": body.get("finished_at")}))
                yield "".join(out)
                return
            if out:
                yield "".join(out)
            if not wake.wait(keepalive_s):
                yield ": keepalive\n\n"
    finally:
        listener.unregister(task_id, wake)
        metrics.EVENT_STREAMS.dec()
