"""The browsing API: /async, /sync, /status, /screenshots, /files, plus /cancel and
/templates (and /uploads: gateway/uploads.py)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from gateway import files, idempotency, metrics, uploads
from gateway.events import EventListener
from gateway.events import stream as event_stream
from gateway.services import GatewayServices
from gateway.validation import MAX_JSON_DEPTH, parse_json, parse_task_request
from gateway.views import request_body, status_body, sync_body, webhook_body
from shared import logs, tasklist
from shared.artifacts import ARTIFACT_NAME, artifact_part
from shared.errors import (
    AuthError,
    BackendUnavailable,
    ConflictError,
    ForbiddenError,
    LimitExceeded,
    NotFoundError,
    UnsupportedMediaType,
    ValidationError,
)
from shared.events import BadEventId, Cursor, EventLog
from shared.records import NewTask, Replay, TaskRecord
from shared.storage import FILE_NAME
from shared.templates import template_names

bp = Blueprint("browsing", __name__, url_prefix="/api/v1/browsing")
TASK_ID = re.compile(r"^web:[0-9a-f]{32}$")
DAY_MS = 86_400_000


def services() -> GatewayServices:
    return current_app.extensions["browsing"]


uploads.register(bp)


@bp.before_request
def authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if not header:
        raise AuthError("missing API key: send 'Authorization: Bearer <key>'")
    if scheme.lower() != "bearer" or not key.strip():
        raise AuthError("malformed Authorization header: use 'Authorization: Bearer <key>'")
    caller = services().keys.authenticate(key.strip())
    if caller is None:
        raise AuthError("invalid API key")
    g.user = caller.user
    g.admin = caller.admin


def _json_body() -> Any:
    # A body declared as something else (a form, text) is refused; one declared as nothing
    # is read as JSON, as lenient clients send it.
    declared = request.mimetype
    if declared and declared != "application/json" and not declared.endswith("+json"):
        raise UnsupportedMediaType(
            f"the request body must be JSON: send 'Content-Type: application/json', "
            f"not {declared!r}"
        )
    raw = request.get_data(cache=False)
    if not raw.strip():
        raise ValidationError("invalid JSON: the request body is empty")
    try:
        return parse_json(raw)
    except RecursionError as exc:
        raise ValidationError(
            f"invalid JSON: nested more than {MAX_JSON_DEPTH} levels deep"
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(f"invalid JSON: {exc}") from exc


def _owned_task(task_id: str | None) -> TaskRecord:
    if task_id is None or task_id == "":
        raise ValidationError("missing task_id: add ?task_id=web:... to the URL")
    if TASK_ID.match(task_id):
        logs.bind(task_id)
    record = services().store.get(task_id) if TASK_ID.match(task_id) else None
    if record is None:
        raise NotFoundError(f"task {task_id} not found")
    if record.owner != g.user:
        raise ForbiddenError(f"task {task_id} belongs to a different user")
    return record


def _new_task() -> NewTask:
    svc = services()
    key = idempotency.parse_header(request.headers.get(idempotency.HEADER))
    body = _json_body()
    req = uploads.attach_uploads(parse_task_request(body, svc.settings), body, g.user)
    task_id = f"web:{uuid.uuid4().hex}"
    logs.bind(task_id)
    policy = svc.policies.get(g.user)
    if key is None:
        return NewTask.of(task_id, owner=g.user, request=req, policy=policy)
    idem = idempotency.for_request(key, req)
    return NewTask.of(
        task_id,
        owner=g.user,
        request=req,
        policy=policy,
        idempotency_hash=idem.key_hash,
        fingerprint=idem.fingerprint,
    )


LIMIT_TEXT = {
    "max_active": "you have {value} tasks assigned or running, the most allowed at once",
    "max_queued": "you have {value} tasks waiting for a node, the most allowed",
    "rate": "you are submitting faster than the {value} tasks per second allowed",
}


def _submit(task: NewTask) -> str | None:
    """Store the task's record and its dispatch message; answer 429 if the owner's
    limits refuse it (nothing is stored then), 503 if the store does not answer.
    Returns None, or, when the task's Idempotency-Key already made a task for the same
    request, that task's id (nothing stored: a replay); 422 if for another request."""
    try:
        refusal = services().submit(task)
    except TimeoutError as exc:
        raise BackendUnavailable("the task store is not answering; try again shortly") from exc
    if isinstance(refusal, Replay):
        if not refusal.matches:
            raise idempotency.mismatch(refusal.task_id)
        logs.bind(refusal.task_id)
        return refusal.task_id
    if refusal is not None:
        value = getattr(task.policy, refusal.limit)
        metrics.LIMITED.labels(refusal.limit).inc()
        text = LIMIT_TEXT[refusal.limit].format(value=f"{value:g}")
        raise LimitExceeded(
            f"too many requests: {text} (limit {refusal.limit}={value:g}); retry later",
            limit=refusal.limit,
            retry_after_s=max(1, -(-refusal.retry_after_ms // 1000)),
        )


@bp.post("/async")
def submit_async() -> Any:
    task = _new_task()
    replayed = _submit(task)
    if replayed is not None:
        return Response(
            f'{{"task_id":"{replayed}"}}\n',
            mimetype="application/json",
            headers={idempotency.REPLAYED_HEADER: "true"},
        )
    metrics.submitted("async").inc()
    # The id is "web:" and hex digits: nothing to escape. jsonify's encoder and provider
    # cost this, the busiest endpoint, as much as its validation.
    return Response(f'{{"task_id":"{task.task_id}"}}\n', mimetype="application/json")


@bp.post("/sync")
def submit_sync() -> Any:
    task = _new_task()
    task_id = task.task_id
    svc = services()
    event = svc.listener.register(task_id)  # before submitting, so the wake-up can't be missed
    metrics.SYNC_WAITERS.inc()
    headers: dict[str, str] = {}
    try:
        replayed = _submit(task)
        if replayed is not None:
            # Wait for the key's first task instead, registered before its first read.
            svc.listener.unregister(task_id, event)
            task_id, headers = replayed, {idempotency.REPLAYED_HEADER: "true"}
            event = svc.listener.register(task_id)
        else:
            metrics.submitted("sync").inc()
        wait_until = time.monotonic() + svc.settings.sync_timeout_s
        while True:
            record = svc.store.get(task_id)
            if record is not None and record.status.terminal:
                return jsonify(sync_body(record)), 200, headers
            if record is None and replayed is not None:
                raise NotFoundError(
                    f"task {task_id}, made with this {idempotency.HEADER}, is no longer kept"
                )
            remaining = wait_until - time.monotonic()
            if remaining <= 0:
                break
            event.wait(remaining)
            event.clear()
    finally:
        svc.listener.unregister(task_id, event)
        metrics.SYNC_WAITERS.dec()
    body = {
        "error": f"task still running after {svc.settings.sync_timeout_s:g} s; "
        "poll GET /api/v1/browsing/status?task_id=" + task_id,
        "task_id": task_id,
    }
    return jsonify(body), 504, headers


@bp.get("/status")
def status() -> Any:
    task_id = request.args.get("task_id")
    record = _owned_task(task_id)
    position = None
    if record.status.value == "queued":
        position = services().store.queue_position(record.task_id)
        if position is None:
            # Bound (or ended) between the two reads: answer what it is now, never
            # "queued" without a position.
            record = _owned_task(task_id)
    body = status_body(record, queue_position=position)
    body["request"] = request_body(record.request)
    return jsonify(_with_webhook(record, body))


@bp.post("/cancel")
def cancel() -> Any:
    record = _owned_task(request.args.get("task_id"))
    if record.status.terminal or not services().store.fail(record.task_id, "cancelled"):
        raise ConflictError(f"task {record.task_id} has already finished")
    record = services().store.get(record.task_id) or record
    return jsonify(_with_webhook(record, status_body(record)))


@bp.get("/me")
def me() -> Any:
    """Whose key this is, and whether it may use the admin API (the console asks at
    sign-in)."""
    return jsonify({"user": g.user, "admin": g.admin})


@bp.get("/templates")
def templates() -> Any:
    return jsonify({"templates": template_names()})


@bp.get("/screenshots/<task_id>/<file>")
def screenshot(task_id: str, file: str) -> Any:
    if not FILE_NAME.match(file):
        raise NotFoundError("screenshot not found: file names look like screenshot-01.png")
    svc = services()
    record = _owned_task(task_id)
    shown = record.shown_attempt  # the winner's, or a failed task's last failure's
    attempt = _screenshot_attempt(record)
    if attempt is None and (shown is None or file not in shown.files):
        raise NotFoundError(f"task {task_id} has no screenshot {file}")
    _within_retention(record, "screenshot")
    if attempt is None:
        assert shown is not None
        attempt = shown.number
    obj = svc.storage.open(svc.storage.key(task_id, attempt, file))
    return Response(
        obj.body,
        mimetype="image/png",
        headers={"Content-Length": str(obj.length), "Cache-Control": "private, max-age=3600"},
    )


def _within_retention(record: TaskRecord, what: str) -> None:
    """404 once a task's files are past their retention, whatever the store still holds
    (lifecycle rules run late, and moto's never)."""
    days = services().settings.screenshot_retention_days
    if services().store.now_ms() - record.created_ms > days * DAY_MS:
        raise NotFoundError(f"{what} expired: files are kept {days} days")


@bp.get("/files/<task_id>/<name>")
def artifact(task_id: str, name: str) -> Any:
    """A file the task's page downloaded, or its trace (gateway/files.py)."""
    if not ARTIFACT_NAME.match(name):
        raise NotFoundError(files.BAD_NAME)
    record = _owned_task(task_id)
    attempt, stored = files.shown_file(record, name)
    _within_retention(record, "file")
    storage = services().storage
    obj = storage.open(storage.key(task_id, attempt, artifact_part(name)), what="file")
    return files.file_response(obj, stored)


# Webhooks (README, "Webhooks").


def _with_webhook(record: TaskRecord, body: dict[str, Any]) -> dict[str, Any]:
    """A status body with the task's webhook delivery, when it has a webhook."""
    webhooks = services().webhooks
    if record.request.webhook is not None and webhooks is not None:
        body["webhook"] = webhook_body(record, webhooks.state(record.task_id))
    return body


def _secret_response(secret: str, status: int = 200) -> Any:
    response = jsonify({"secret": secret})
    response.headers["Cache-Control"] = "no-store"
    return response, status


@bp.get("/webhook-secret")
def webhook_secret() -> Any:
    """The caller's own signing secret, which signs its webhooks that give none."""
    webhooks = services().webhooks
    assert webhooks is not None
    return _secret_response(webhooks.user_secret(g.user))


@bp.post("/webhook-secret")
def rotate_webhook_secret() -> Any:
    """A new signing secret for the caller; the previous one still signs for a day."""
    svc = services()
    assert svc.webhooks is not None
    return _secret_response(svc.webhooks.rotate_user_secret(g.user, svc.store.now_ms()))


def _screenshot_attempt(record: TaskRecord) -> int | None:
    """``?attempt=N``: a screenshot of attempt N, which a step event named while the
    task ran (gateway/events.py); None without it (the shown attempt's files). Stored
    under the attempt's own prefix, it is there once the event is; the node deletes the
    files of an attempt that lost a race or was cancelled when it ends, and keeps those
    of one that failed (a node that died deletes nothing: retention does)."""
    raw = request.args.get("attempt")
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= 10_000:
        raise ValidationError(f"attempt must be a whole number from 1 to 10000, got {raw[:20]!r}")
    number = int(raw)
    if number > len(record.attempts):
        raise NotFoundError(f"task {record.task_id} has no attempt {number}")
    return number


def _event_services() -> tuple[EventLog, EventListener]:
    ext = current_app.extensions
    found = ext.get("browsing-events")
    if found is None:
        store = services().store
        log = EventLog(store.redis, record_ttl_s=store.record_ttl_s, clock=store.clock)
        found = ext.setdefault("browsing-events", (log, EventListener(log)))
    return found


@bp.get("/events")
def events() -> Any:
    """The task's live events as Server-Sent Events (gateway/events.py)."""
    record = _owned_task(request.args.get("task_id"))
    try:
        cursor = Cursor.parse(request.headers.get("Last-Event-ID"))
    except BadEventId as exc:
        raise ValidationError(
            f"malformed Last-Event-ID {str(exc)[:60]!r}: send the id of the last event "
            "this stream gave (0-1, 0-2, 0-3, <ms>-<n> or end), or none"
        ) from exc
    if cursor.ended:
        # The stream was read to its end: 204 tells a browser's EventSource to stop
        # reconnecting (a 200 that closes again would have it retry every second).
        return Response(status=204)
    log, listener = _event_services()
    body = event_stream(
        record.task_id,
        cursor,
        events=log,
        store=services().store,
        listener=listener,
        keepalive_s=services().settings.events_keepalive_s,
    )
    return Response(
        body,
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@bp.get("/tasks")
def list_tasks() -> Any:
    """The caller's own tasks, newest first, a page at a time (shared/tasklist.py)."""
    statuses = tasklist.parse_statuses(request.args.get("status"))
    limit = tasklist.parse_limit(request.args.get("limit"))
    cursor = request.args.get("cursor") or None  # empty: the first page
    page = services().task_list.page(g.user, limit=limit, cursor=cursor, statuses=statuses)
    items = [{**status_body(record), "task": record.request.task} for record in page.records]
    return jsonify({"tasks": items, "next_cursor": page.next_cursor})
