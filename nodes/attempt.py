"""Run one attempt of a task on this node: fence, browse, upload, report."""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from typing import Any

import redis

from nodes import metrics
from nodes.agent import AgentResult, run_agent
from nodes.agent.llm.usage import LLMUsage
from nodes.artifacts import AttemptArtifacts
from nodes.browser import context_options
from nodes.egress import describe_egress
from nodes.runtime import NodeRuntime
from nodes.sessionstate import SessionRun
from nodes.steps import StepReporter
from nodes.uploads import staged_uploads
from shared.errors import AgentError, DeadlineExceeded, StorageError
from shared.storage import screenshot_name
from shared.templates import load_template

log = logging.getLogger(__name__)

REFUSED_TARGETS_SHOWN = 5
BROWSER_CRASHED = "the browser crashed during the task; the node starts a new one for the next"
# A report that Redis did not take is tried again after this long, doubling up to the max.
REPORT_RETRY_FIRST_S = 0.25
REPORT_RETRY_MAX_S = 5.0


def egress_refused_since(runtime: NodeRuntime, mark: int) -> str:
    """``info.egress_refused`` of an attempt as JSON: how many connections the policy
    refused and the first few distinct ``host:port``; "" when none was."""
    if runtime.refusals is None:
        return ""
    count, refused = runtime.refusals.since(mark)
    if not count:
        return ""
    first = list(dict.fromkeys(r.target for r in refused))[:REFUSED_TARGETS_SHOWN]
    return json.dumps({"count": count, "first": first})


def llm_spent(usage: LLMUsage, template: str) -> str:
    """``info.llm`` of an attempt as JSON ("" when no model was called), counted in
    the node's metrics on the way."""
    info = usage.as_info()
    if info is None:
        return ""
    labels = {"model": usage.model, "template": template}
    metrics.LLM_CALLS.labels(**labels).inc(usage.calls)
    for kind in ("prompt", "completion"):
        metrics.LLM_TOKENS.labels(kind=kind, **labels).inc(info[f"{kind}_tokens"])
    return json.dumps(info)


def run_attempt(runtime: NodeRuntime, task_id: str, attempt: int) -> str:
    """The attempt's outcome: 'won', 'failed', 'fenced', 'cancelled', or
    'dropped:<why>' when fencing refused to run it."""
    assert runtime.identity is not None
    node = runtime.identity.uid
    store = runtime.store
    # New for each delivery: a resend of this claim is 'ok' again, while a second
    # delivery of the same message (the same Celery id) is refused (claim.lua).
    claim_id = uuid.uuid4().hex
    egress = describe_egress(runtime.settings.node_proxy)
    verdict = store.claim(task_id, attempt, node, egress, claim_id=claim_id)
    if verdict != "ok":
        log.info("attempt dropped", extra={"task_id": task_id, "attempt": attempt, "why": verdict})
        return f"dropped:{verdict}"
    steps = StepReporter(runtime, task_id, attempt)
    steps.started()
    with contextlib.ExitStack() as staging:  # the task's uploads, removed when it ends
        outcome = _run_claimed(runtime, task_id, attempt, steps, staging)
    if outcome not in ("won", "failed"):
        # A failed attempt keeps its pictures: the task shows them if its failure is the
        # task's (TaskRecord.shown_attempt), and its step events named all but the last.
        steps.discard_uploads()
    return outcome


def _run_claimed(
    runtime: NodeRuntime,
    task_id: str,
    attempt: int,
    steps: StepReporter,
    staging: contextlib.ExitStack,
) -> str:
    assert runtime.identity is not None
    node = runtime.identity.uid
    store = runtime.store
    record = store.get(task_id)
    assert record is not None
    request = record.request
    deadline = time.monotonic() + (record.deadline_ms - store.now_ms()) / 1000

    watcher = runtime.cancels
    mark = runtime.refusals.mark() if runtime.refusals is not None else 0
    session: SessionRun | None = None
    artifacts = None
    usage = LLMUsage()
    try:
        template = load_template(request.template)
        files = staging.enter_context(
            staged_uploads(runtime.storage, record.owner, request.uploads)
        )
        options = context_options(template)
        if request.session_key is not None:  # its saved browser state (nodes/sessionstate.py)
            session = SessionRun.begin(runtime.sessions, record, attempt, node)
            if session is not None and session.storage_state is not None:
                options["storage_state"] = session.storage_state
        context, page = runtime.take_context(options)
        try:
            # Downloads and the trace (nodes/artifacts.py), once this process's browser
            # is up; inside the try, so that the context is closed if this fails.
            artifacts = AttemptArtifacts.open(
                watch_dir=runtime.downloads_dir,
                max_bytes=runtime.settings.max_download_bytes,
                trace=request.record_trace,
            )
            if artifacts.trace is not None:
                artifacts.trace.start(context)
            try:
                with watcher.watch(task_id, attempt, context):
                    result = run_agent(
                        context,
                        request.task,
                        policy=request.screenshots,
                        deadline=deadline,
                        should_stop=watcher.cancelled,
                        on_step=steps.on_step,
                        on_screenshot=steps.on_screenshot,
                        action_timeout_ms=runtime.settings.action_timeout_ms,
                        page=page,
                        template=template,
                        refusals=runtime.refusals,
                        files=files,
                        downloads=artifacts.downloads,
                        usage=usage,
                        output_schema=request.output_schema,
                    )
            finally:
                # While the context is open, whichever way the run ended: a failed
                # run's trace is the one its user most wants. Not once cancelled.
                if artifacts.trace is not None and not watcher.cancelled():
                    try:
                        artifacts.trace.stop()
                    except Exception:  # never in place of the run's own error
                        log.warning("trace not stopped", exc_info=True)
            if session is not None and not watcher.cancelled():
                session.capture(context)
        finally:
            context.close()
    except Exception as exc:
        if watcher.cancelled():
            if artifacts is not None:
                artifacts.close()
            # Whatever the agent was doing failed because its context was closed under it.
            store.mark_stopped(task_id, attempt)
            return "cancelled"
        # What the failed run downloaded and recorded is kept, as its screenshots are.
        stored = failure_artifacts(runtime, task_id, attempt, artifacts)
        refused = egress_refused_since(runtime, mark)
        if runtime.browser is not None and not runtime.browser.is_connected():
            # Whatever step was running failed because Chromium went away under it.
            error = BROWSER_CRASHED
        elif isinstance(exc, DeadlineExceeded) and time.monotonic() >= deadline:
            # The task's timeout, as the scheduler words it: counted from the task's
            # creation, not from this attempt's start. (A step that gave up early, as a
            # wait longer than the time left, says so in its own words.)
            error = f"timed out after {request.timeout_ms} ms"
        elif isinstance(exc, AgentError):
            error = exc.message
        else:
            log.exception("attempt crashed", extra={"task_id": task_id, "attempt": attempt})
            error = f"node {node} failed: {exc}"
        return report(
            runtime,
            deadline,
            task_id,
            attempt,
            success=False,
            error=error,
            files=steps.names(),  # the failed task shows them (its payload)
            artifacts=stored,
            egress_refused=refused,
            llm=llm_spent(usage, request.template),
        )
    assert artifacts is not None
    try:
        if watcher.cancelled():
            store.mark_stopped(task_id, attempt)
            return "cancelled"
        refused = egress_refused_since(runtime, mark)
        if session is not None:
            session.stage()
        outcome = report_success(
            runtime,
            deadline,
            task_id,
            attempt,
            result,
            refused,
            steps.uploaded,
            artifacts,
            llm=llm_spent(usage, request.template),
        )
        if session is not None:
            session.settle(outcome)
        return outcome
    finally:
        artifacts.close()


def failure_artifacts(
    runtime: NodeRuntime, task_id: str, attempt: int, artifacts: AttemptArtifacts | None
) -> str:
    """A failed attempt's downloaded files and trace, stored as a success's are; the
    document listing them as JSON ("" for none), which its report keeps. Never fails:
    the failure's own report matters more."""
    if artifacts is None:
        return ""
    try:
        listed = artifacts.upload(runtime.storage, task_id, attempt)
    except Exception:
        log.warning("a failed attempt's artifacts were not stored", exc_info=True)
        listed = {}
    finally:
        artifacts.close()
    return json.dumps(listed, ensure_ascii=False) if listed else ""


def report(runtime: NodeRuntime, deadline: float, task_id: str, attempt: int, **outcome) -> str:
    """``TaskStore.finish``, tried again while Redis is away (a restart, a failover, a
    network blip) until the task's deadline and the reaper's grace have passed: the
    result exists, and losing it would fail the task later as "timed out".

    A try may have been run by Redis although its answer never came back (redis-py
    itself also sends a command again after a timeout or a dropped connection). A
    repeated report is answered as the first was and changes nothing (finish.lua): a
    success that won is 'won' again, so ``report_success`` keeps the winner's
    screenshots; a failure is 'failed' again. A report from another attempt or node, or
    one this attempt did not end with, is still fenced."""
    assert runtime.identity is not None
    give_up = deadline + runtime.settings.reaper_grace_s
    delay_s = REPORT_RETRY_FIRST_S
    while True:
        try:
            return runtime.store.finish(task_id, attempt, runtime.identity.uid, **outcome)
        except redis.RedisError as exc:
            if time.monotonic() + delay_s > give_up:
                raise
            log.warning(
                "could not report the attempt; trying again",
                extra={"task_id": task_id, "attempt": attempt, "error": str(exc)},
            )
            time.sleep(delay_s)
            delay_s = min(delay_s * 2, REPORT_RETRY_MAX_S)


def report_success(
    runtime: NodeRuntime,
    deadline: float,
    task_id: str,
    attempt: int,
    result: AgentResult,
    refused: str,
    uploaded: set[str] | frozenset[str] = frozenset(),
    artifacts: AttemptArtifacts | None = None,
    *,
    llm: str = "",
) -> str:
    """``uploaded``: the file names stored already, at their steps (nodes/steps.py);
    ``artifacts``: the attempt's downloaded files and trace, uploaded here too; ``llm``:
    the attempt's ``info.llm`` as JSON, or ""."""
    assert runtime.identity is not None
    storage = runtime.storage
    names = [screenshot_name(i) for i in range(1, len(result.screenshots) + 1)]
    keys = [storage.key(task_id, attempt, name) for name in names]
    note = None
    try:
        for name, key, shot in zip(names, keys, result.screenshots, strict=True):
            if name in uploaded:
                continue
            with metrics.S3_UPLOAD.time():
                storage.put_png(key, shot.png)
            metrics.SCREENSHOTS.inc()
            metrics.SCREENSHOT_BYTES.inc(len(shot.png))
    except StorageError as exc:
        # The result is worth more than its pictures: keep it and say what was lost.
        log.error("screenshot upload failed", extra={"task_id": task_id, "error": exc.message})
        names, note = [], f"screenshots lost: {exc.message}"
    # The record keeps the file names (the attempt's ``files``); the gateway, which owns
    # the routes, lists them in the payload as URLs when it answers.
    body: dict[str, Any] = {"result": result.result}
    if result.data is not None:
        body["data"] = result.data
    if note:
        body["screenshots_error"] = note
    if artifacts is not None:
        body.update(artifacts.upload(storage, task_id, attempt))
    payload = json.dumps(body, ensure_ascii=False)
    outcome = report(
        runtime,
        deadline,
        task_id,
        attempt,
        success=True,
        payload=payload,
        files=tuple(names),
        egress_refused=refused,
        llm=llm,
        agent=json.dumps(result.info, ensure_ascii=False) if result.info else "",
    )
    if artifacts is not None:
        keys = keys + artifacts.keys
    if outcome != "won" and keys:
        try:
            storage.delete_keys(keys)  # a loser's files are never exposed; don't keep them
        except StorageError:
            log.warning("could not delete a losing attempt's files", exc_info=True)
    return outcome
