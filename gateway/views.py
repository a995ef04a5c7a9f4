"""The JSON shapes of task status and results."""

from __future__ import annotations

import json
from typing import Any

from gateway.files import shown_listing, with_urls
from shared.clock import iso_utc
from shared.records import Attempt, TaskRecord
from shared.request import TaskRequest
from shared.webhooks import DeliveryState

# The route of ``gateway.api.screenshot``, which serves these files.
SCREENSHOT_URL = "/api/v1/browsing/screenshots/{task_id}/{name}"


def _iso(ms: int | None) -> str | None:
    return iso_utc(ms) if ms else None


def _attempt_info(a: Attempt) -> dict[str, Any]:
    duration = a.finished_ms - a.started_ms if a.finished_ms and a.started_ms else None
    return {
        "attempt": a.number,
        "node_uid": a.node,
        "country": a.country,
        "egress": a.egress or None,
        "egress_refused": a.egress_refused,
        "outcome": a.state.value,
        "replaces": a.replaces or None,
        "error": a.error,
        "assigned_at": _iso(a.assigned_ms),
        "started_at": _iso(a.started_ms),
        "finished_at": _iso(a.finished_ms),
        "duration_ms": duration,
        "stop_latency_ms": a.stopped_ms - a.finished_ms if a.stopped_ms and a.finished_ms else None,
        "llm": a.llm,
        "planner": (a.agent or {}).get("planner"),
    }


def task_info(record: TaskRecord) -> dict[str, Any]:
    """Which node produced the result, and every attempt of a fanout race."""
    producer = record.winning_attempt or (record.attempts[-1] if record.attempts else None)
    requested = record.request.fanout
    return {
        "node_uid": producer.node if producer else None,
        "country": producer.country if producer else None,
        "egress": (producer.egress or None) if producer else None,
        "egress_refused": producer.egress_refused if producer else None,
        "fanout": {
            "requested": requested,
            "actual": sum(1 for a in record.attempts if not a.replaces),
        },
        "attempts": [_attempt_info(a) for a in record.attempts],
        "session": session_info(record, producer),
        "llm": producer.llm if producer else None,
        **agent_info(producer),
    }


def agent_info(producer: Attempt | None) -> dict[str, Any]:
    """``planner`` (rules, llm or hybrid), ``plan`` (the hybrid planner's: which planner
    ran each clause, and its steps) and ``replay`` (the steps written in the rules
    grammar: ``script``, ``replayable``, ``why`` not), from the successful attempt."""
    agent = (producer.agent if producer else None) or {}
    return {key: agent.get(key) for key in ("planner", "plan", "replay")}


def session_info(record: TaskRecord, producer: Attempt | None) -> dict[str, Any] | None:
    """What the task did with its session's browser state (README, "Sessions that
    remember"); None without a session_key. ``persist`` is None until a node says."""
    request = record.request
    if request.session_key is None:
        return None
    off = {"persist": False, "loaded": False, "loaded_state_saved_at": None, "saved": False}
    off |= {"expires_at": None, "error": None}
    if not request.session_persist:
        return {**off, "reason": "the task asked for none (session_persist: false)"}
    note = (producer.session if producer else None) or {}
    if note.get("persist") is False:
        return {**off, "reason": note.get("reason")}
    won = producer is not None and record.winner == producer.number
    saved = won and bool(note.get("object"))
    return {
        "persist": note.get("persist"),
        "reason": None,
        "loaded": bool(note.get("loaded")),
        "loaded_state_saved_at": _iso(note.get("loaded_saved_ms")),
        "saved": saved,
        "expires_at": _iso(note.get("expires_ms")) if saved else None,
        "error": note.get("save_error") or note.get("load_error"),
    }


def screenshot_urls(record: TaskRecord) -> list[dict[str, str]]:
    """The shown attempt's screenshots (``TaskRecord.shown_attempt``), as the contract
    lists them."""
    shown = record.shown_attempt
    files = shown.files if shown is not None else ()
    return [{"url": SCREENSHOT_URL.format(task_id=record.task_id, name=f)} for f in files]


def payload(record: TaskRecord) -> str:
    """The payload as the contract shows it: the winning node's result document, with
    the winner's screenshot files listed as URLs after ``result``, JSON-encoded as nodes
    did when they built the URLs themselves. A record a node wrote that way (it holds
    ``screenshots`` already) is passed through unchanged. A failed task's has no result
    (null), the screenshots its failed attempt took, the last of the page as the failure
    left it, and the files it downloaded and its trace where there are any."""
    stored = record.payload
    if not record.success or stored is None:
        failure: dict[str, Any] = {"result": None, "screenshots": screenshot_urls(record)}
        listing = shown_listing(record) if not record.success else None
        failure |= {k: v for k, v in (listing or {}).items() if k not in failure}
        with_urls(record.task_id, failure)  # its downloaded files and trace, if any
        return json.dumps(failure, ensure_ascii=False)
    try:
        document = json.loads(stored)
    except ValueError:
        return stored
    if not isinstance(document, dict) or "screenshots" in document:
        return stored
    body = {"result": document.pop("result", None), "screenshots": screenshot_urls(record)}
    body |= document
    with_urls(record.task_id, body)  # downloaded files and the trace (gateway/files.py)
    return json.dumps(body, ensure_ascii=False)


def result_fields(record: TaskRecord) -> dict[str, Any]:
    """``payload`` whichever way the task ended (the contract's /sync answer has it,
    and adds ``error`` to a failure's)."""
    body: dict[str, Any] = {
        "success": bool(record.success),
        "payload": payload(record),
        "execution_time_ms": (record.finished_ms or record.created_ms) - record.created_ms,
    }
    if not record.success:
        body["error"] = record.error or "failed"
    return body


def request_body(req: TaskRequest) -> dict[str, Any]:
    """What the task was asked, in the request's own form (a body POST /async takes
    again: the console's "run again"); the webhook's URL is in ``webhook``, its secret
    nowhere. The newer fields are there when the task set them."""
    body: dict[str, Any] = {
        "task": req.task,
        "screenshots": req.screenshots.to_dict(),
        "filter": req.filter.to_dict() or None,
        "session_key": req.session_key,
        "timeout": req.timeout_ms,
        "fanout": req.fanout,
        "template": req.template,
    }
    if not req.session_persist:
        body["session_persist"] = False
    if req.record_trace:
        body["record"] = {"trace": True}
    if req.uploads:
        body["uploads"] = [upload.id for upload in req.uploads]
    if req.output_schema is not None:
        body["output_schema"] = req.output_schema
    return body


def status_body(record: TaskRecord, *, queue_position: int | None = None) -> dict[str, Any]:
    """``queue_position``: while the task is queued, about how many tasks will be bound
    to nodes before it (``TaskStore.queue_position``)."""
    body: dict[str, Any] = {
        "task_id": record.task_id,
        "status": record.status.value,
        "created_at": _iso(record.created_ms),
        "assigned_at": _iso(record.assigned_ms),
        "started_at": _iso(record.started_ms),
    }
    if record.status.value == "queued":
        body["queue_position"] = queue_position
    if record.status.terminal:
        body["finished_at"] = _iso(record.finished_ms)
        body.update(result_fields(record))
    body["info"] = task_info(record)  # while running too: which node has it
    return body


def sync_body(record: TaskRecord) -> dict[str, Any]:
    return {
        "task_id": record.task_id,
        "status": record.status.value,
        **result_fields(record),
        "info": task_info(record),
    }


def webhook_body(record: TaskRecord, state: DeliveryState) -> dict[str, Any] | None:
    """A task's webhook and how its delivery went; never its secret. ``state``: one of
    pending (the task has not finished, or the first try is under way), retrying,
    delivered, stopped (the receiver answered 410), gave_up, refused (egress policy) or
    expired."""
    hook = record.request.webhook
    if hook is None:
        return None
    if state.result is not None:
        phase = state.result
    elif state.attempts:
        phase = "retrying"
    else:
        phase = "pending"
    return {
        "url": hook.url,
        "signed_with": "request_secret" if hook.secret is not None else "user_secret",
        "state": phase,
        "delivered": state.result == "delivered",
        "attempts": state.attempts,
        "last_status": state.last_status,
        "last_error": state.last_error,
        "next_try_at": _iso(state.next_try_ms) if phase == "retrying" else None,
        "delivered_at": _iso(state.delivered_ms),
    }
