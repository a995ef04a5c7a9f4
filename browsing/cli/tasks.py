"""The task commands: run, status, screenshots, cancel and templates, through the
gateway as any user calls it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from browsing.cli.exits import EXIT_FAILED, EXIT_INTERRUPTED
from browsing.cli.progress import DownloadBars, StatusLine
from browsing.client import (
    API_KEY_ENV,
    DEFAULT_URL,
    URL_ENV,
    BrowsingClient,
    ClientError,
    decoded_payload,
    screenshot_names,
)
from shared.request import SCREENSHOT_MODES

SCREENSHOT_ALIASES = {"final": "final_only", "steps": "every_step", "navigation": "on_navigation"}


def _client(args: argparse.Namespace) -> BrowsingClient:
    client = BrowsingClient(args.url, args.api_key)
    if not client.api_key:
        raise ClientError(
            0,
            f"no API key: set {API_KEY_ENV} or pass --api-key "
            "(an operator creates one with `browsing keys create USER`)",
        )
    return client


def output_schema_option(value: str) -> dict[str, Any]:
    """``--output-schema``: a JSON Schema object inline, or ``@FILE`` to read it from."""
    try:
        if value.startswith("@"):
            with open(value[1:], encoding="utf-8") as handle:
                value = handle.read()
        schema = json.loads(value)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {value[1:]}: {exc.strerror}") from exc
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from exc
    if not isinstance(schema, dict):
        raise argparse.ArgumentTypeError("a JSON Schema must be a JSON object")
    return schema


def _print_result(body: dict[str, Any]) -> int:
    """The result on stdout (the error on stderr); the exit code it deserves."""
    if body.get("status") != "completed" or not body.get("success"):
        print(f"failed: {body.get('error') or body.get('status')}", file=sys.stderr)
        names = screenshot_names(body) if body.get("status") == "failed" else []
        if names:  # the failed attempt's, the last of the page as the failure left it
            print("screenshots: " + " ".join(names), file=sys.stderr)
            print(f"download them: browsing screenshots {body['task_id']} -o DIR", file=sys.stderr)
        failure = decoded_payload(body) if body.get("status") == "failed" else None
        if isinstance(failure, dict):  # what it downloaded before failing, and its trace
            _print_artifacts(failure, out=sys.stderr)
        return EXIT_FAILED
    payload = decoded_payload(body)
    result = payload.get("result") if isinstance(payload, dict) else payload
    print(result if isinstance(result, str) else json.dumps(result, indent=2, ensure_ascii=False))
    if isinstance(payload, dict) and "data" in payload:  # with --output-schema
        print("data: " + json.dumps(payload["data"], ensure_ascii=False))
    names = screenshot_names(body)
    if names:
        print("screenshots: " + " ".join(names))
        print(f"download them: browsing screenshots {body['task_id']} -o DIR", file=sys.stderr)
    if isinstance(payload, dict) and payload.get("screenshots_error"):
        print(payload["screenshots_error"], file=sys.stderr)
    if isinstance(payload, dict):
        _print_artifacts(payload)
    return 0


def _print_artifacts(payload: dict[str, Any], out: Any = None) -> None:
    """The files the page downloaded and the trace, with their URLs (README, "Downloads
    and traces"), on ``out`` (stdout; a failure's on stderr); what was stopped or lost
    on stderr."""
    out = out or sys.stdout
    for entry in payload.get("files") or ():
        if isinstance(entry, dict):
            print(
                f"file: {entry.get('name')} ({entry.get('size')} bytes) {entry.get('url')}",
                file=out,
            )
    trace = payload.get("trace")
    if isinstance(trace, dict):
        print(f"trace: {trace.get('url')} ({trace.get('size')} bytes)", file=out)
    for problem in ("files_error", "trace_error"):
        if payload.get(problem):
            print(f"{problem}: {payload[problem]}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    if args.follow and args.sync:
        args.usage_error("--follow and --sync do not go together")
    if args.full_page is not None and args.screenshots is None:
        args.usage_error("--full-page/--no-full-page need --screenshots MODE")
    client = _client(args)
    options = {
        "screenshots": SCREENSHOT_ALIASES.get(args.screenshots, args.screenshots),
        "full_page": args.full_page,
        "country_iso": args.country,
        "node_uid": args.node,
        "fanout": args.fanout,
        "session_key": args.session,
        "session_persist": False if args.no_session_persist else None,
        "template": args.template,
        "timeout_ms": args.timeout,
        "webhook_url": args.webhook,
        "webhook_secret": args.webhook_secret,
        "record_trace": True if args.trace else None,
        "output_schema": args.output_schema,
    }
    task_id = None
    try:
        with StatusLine(sys.stderr) as line:
            if args.sync:
                line.change("waiting for the result (sync)")
                try:
                    body = client.run_sync(
                        args.task, idempotency_key=args.idempotency_key, **options
                    )
                    task_id = body["task_id"]
                    line.note(f"task {task_id}")
                    line.on_status(body)
                except ClientError as exc:
                    if (
                        exc.status != 504
                        or not isinstance(exc.body, dict)
                        or not exc.body.get("task_id")
                    ):
                        raise
                    task_id = exc.body["task_id"]  # the gateway stopped waiting; we go on
                    line.note(f"task {task_id}: {exc.message}")
                    body = client.wait(task_id, on_change=line.on_status)
            elif args.follow:
                task_id = client.submit(args.task, idempotency_key=args.idempotency_key, **options)
                line.note(f"task {task_id}")
                body = _follow(client, task_id, line)
            else:
                task_id = client.submit(args.task, idempotency_key=args.idempotency_key, **options)
                line.note(f"task {task_id}")
                body = client.wait(task_id, on_change=line.on_status)
    except KeyboardInterrupt:
        if task_id is not None:
            print(
                f"\ninterrupted; task {task_id} goes on: browsing status {task_id}",
                file=sys.stderr,
            )
        return EXIT_INTERRUPTED
    if args.json:
        if args.sync:
            body = client.status(task_id)  # the full status body, as without --sync
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0 if body.get("status") == "completed" and body.get("success") else EXIT_FAILED
    return _print_result(body)


def step_line(step: dict[str, Any]) -> str:
    """One agent step as `run --follow` prints it."""
    text = f"step {step.get('index')}"
    if step.get("attempt") != 1:
        text += f" (attempt {step.get('attempt')})"
    text += f": {step.get('action')}"
    if step.get("outcome") == "ok":
        text += f" -> {step.get('url')}"
    else:
        text += f" -> failed: {step.get('error')}"
    if step.get("screenshot"):
        text += f" [{step['screenshot'].rpartition('/')[2].partition('?')[0]}]"
    return text


def _follow(client: BrowsingClient, task_id: str, line: StatusLine) -> dict[str, Any]:
    """The task's events as they come (GET /events): each status change on the status
    line, each step on a line of its own; the final status body."""
    for event in client.events(task_id):
        if event.event == "step":
            line.note(step_line(event.data))
        elif event.event == "status":
            line.on_status(event.data)
            if event.final:  # the status body, as /status gives it, plus when
                return {k: v for k, v in event.data.items() if k != "at"}
    return client.status(task_id)  # the stream ended early (the record expired?)


def _status(args: argparse.Namespace) -> int:
    body = _client(args).status(args.task_id)
    if args.json:
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0
    info = body.get("info") or {}
    fields = [(k, body.get(k)) for k in ("task_id", "status", "queue_position")]
    fields += [(k, body.get(k)) for k in ("created_at", "assigned_at")]
    fields += [(k, body.get(k)) for k in ("started_at", "finished_at", "execution_time_ms")]
    fields.append(("node", info.get("node_uid") and f"{info['node_uid']} ({info['country']})"))
    for key, value in fields:
        if value is not None:
            print(f"{key + ':':<19}{value}")
    if body.get("status") in ("completed", "failed"):
        _print_result(body)
    return 0


def _screenshots(args: argparse.Namespace) -> int:
    client = _client(args)
    bars = DownloadBars(sys.stderr)
    try:
        saved = client.download_screenshots(args.task_id, args.out_dir, progress=bars.update)
    finally:
        bars.finish()
    if not saved:
        status = client.status(args.task_id).get("status")
        print(f"task {args.task_id} has no screenshots (status: {status})", file=sys.stderr)
        return EXIT_FAILED
    for path in saved:
        print(path)
    return 0


def _cancel(args: argparse.Namespace) -> int:
    body = _client(args).cancel(args.task_id)
    print(f"{body['task_id']}: {body['status']} ({body.get('error')})")
    return 0


def _templates(args: argparse.Namespace) -> int:
    for name in _client(args).templates():
        print(name)
    return 0


def add_parsers(sub: Any) -> None:
    """run, status, screenshots, cancel, templates: a user's commands, against a gateway."""
    gateway = argparse.ArgumentParser(add_help=False)
    gateway.add_argument("--url", help=f"gateway URL (default ${URL_ENV} or {DEFAULT_URL})")
    gateway.add_argument(
        "--api-key", help=f"API key (default ${API_KEY_ENV}; other users can see arguments)"
    )

    run = sub.add_parser("run", parents=[gateway], help="run a browsing task and show its result")
    run.add_argument("task", help='the instruction, e.g. "Open https://example.com"')
    run.add_argument("--sync", action="store_true", help="use /sync instead of /async + polling")
    run.add_argument(
        "--follow", action="store_true", help="print the agent's steps live (the events stream)"
    )
    run.add_argument(
        "--screenshots",
        metavar="MODE",
        choices=SCREENSHOT_MODES + tuple(SCREENSHOT_ALIASES),
        help=f"{', '.join(SCREENSHOT_MODES)} (or final, steps, navigation)",
    )
    run.add_argument(
        "--full-page",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whole page or viewport (default: whole page)",
    )
    where = run.add_mutually_exclusive_group()
    where.add_argument("--country", metavar="ISO", help="only nodes of this country, e.g. DE")
    where.add_argument("--node", metavar="UID", help="only this node, e.g. node.de.01")
    run.add_argument("--fanout", type=int, metavar="N", help="race the task on N nodes (1..10)")
    run.add_argument(
        "--session",
        metavar="KEY",
        help="session_key: these tasks run one at a time on one node, each starting from "
        "the browser state (cookies, localStorage) the previous one left",
    )
    run.add_argument(
        "--no-session-persist",
        action="store_true",
        help="with --session: neither load nor save the session's browser state",
    )
    run.add_argument("--template", help="browsing template stem (see `browsing templates`)")
    run.add_argument("--timeout", type=int, metavar="MS", help="task timeout in milliseconds")
    run.add_argument("--json", action="store_true", help="print the final status body as JSON")
    run.add_argument(
        "--trace", action="store_true", help="keep a Playwright trace of the task (trace.zip)"
    )
    run.add_argument(
        "--output-schema",
        type=output_schema_option,
        metavar="JSON|@FILE",
        help="a JSON Schema the result's data must match (printed as a data: line)",
    )
    run.add_argument(
        "--webhook", metavar="URL", help="POST the final status to URL (signed; see README)"
    )
    run.add_argument(
        "--webhook-secret",
        metavar="WHSEC",
        help="sign the webhook with this whsec_ secret instead of your own "
        "(other users can see arguments)",
    )
    run.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="run again with the same KEY and task: the first task's result, no new task",
    )
    run.set_defaults(func=_run, usage_error=run.error)

    status = sub.add_parser("status", parents=[gateway], help="show a task's status and result")
    status.add_argument("task_id", metavar="ID")
    status.add_argument("--json", action="store_true", help="print the status body as JSON")
    status.set_defaults(func=_status)

    shots = sub.add_parser("screenshots", parents=[gateway], help="download a task's screenshots")
    shots.add_argument("task_id", metavar="ID")
    shots.add_argument(
        "-o", "--out-dir", default=".", metavar="DIR", help="where to save them (default: .)"
    )
    shots.set_defaults(func=_screenshots)

    cancel = sub.add_parser("cancel", parents=[gateway], help="cancel an unfinished task")
    cancel.add_argument("task_id", metavar="ID")
    cancel.set_defaults(func=_cancel)

    templates = sub.add_parser("templates", parents=[gateway], help="list the template stems")
    templates.set_defaults(func=_templates)


def _webhook_secret(args: argparse.Namespace) -> int:
    client = _client(args)
    print(client.rotate_webhook_secret() if args.rotate else client.webhook_secret())
    return 0


def add_webhook_parser(sub: Any) -> None:
    """webhook-secret: print (or rotate) the caller's own webhook signing secret."""
    gateway = argparse.ArgumentParser(add_help=False)
    gateway.add_argument("--url", help=f"gateway URL (default ${URL_ENV} or {DEFAULT_URL})")
    gateway.add_argument("--api-key", help=f"API key (default ${API_KEY_ENV})")
    secret = sub.add_parser(
        "webhook-secret",
        parents=[gateway],
        help="print your webhook signing secret (whsec_...), which signs webhooks that give none",
    )
    secret.add_argument(
        "--rotate",
        action="store_true",
        help="make a new one; the previous one still signs for 24 hours",
    )
    secret.set_defaults(func=_webhook_secret)
