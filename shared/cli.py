"""The ``browsing`` command: run tasks against a gateway, run a local cluster, manage
API keys and nodes."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from shared.client import (
    API_KEY_ENV,
    DEFAULT_URL,
    URL_ENV,
    BrowsingClient,
    ClientError,
    decoded_payload,
    screenshot_names,
)
from shared.config import load_settings
from shared.errors import BrowsingError

EXIT_FAILED = 1  # the task ran and failed
EXIT_USAGE = 2  # a usage error, or the gateway refused or could not be reached
EXIT_INTERRUPTED = 130
SCREENSHOT_MODES = ("final_only", "every_step", "on_navigation")
SCREENSHOT_ALIASES = {"final": "final_only", "steps": "every_step", "navigation": "on_navigation"}
TTY_REDRAW_S = 0.2
BAR_WIDTH = 30


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/browsing-service``, or ``~/.local/share/browsing-service``."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "browsing-service"


def _data_dir(given: str | None) -> Path | None:
    chosen = given or load_settings().data_dir or str(default_data_dir())
    return None if chosen == "none" else Path(chosen).expanduser()


def _up(args: argparse.Namespace) -> int:
    from shared.cluster import LocalCluster

    cluster = LocalCluster(
        node_queues=tuple(q.strip() for q in args.nodes.split(",") if q.strip()),
        port=args.port,
        node_concurrency=args.concurrency,
        workdir=args.workdir,
        data_dir=_data_dir(args.data_dir),
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print("starting the local cluster ...", flush=True)
    try:
        cluster.start()
    except KeyboardInterrupt:
        cluster.stop()
        return 130
    print(f"ready: {cluster.base_url} api_key={cluster.api_key} logs={cluster.workdir}", flush=True)
    if cluster.data_dir is not None and "redis" in cluster.procs:
        print(f"data: task records, keys and drain marks kept in {cluster.data_dir}", flush=True)
    site = _first_allowed_site(cluster.env.get("BROWSING_EGRESS_ALLOW", ""))
    print(
        f"try: curl -sS -X POST {cluster.base_url}/api/v1/browsing/sync "
        f"-H 'Authorization: Bearer {cluster.api_key}' -H 'Content-Type: application/json' "
        """-d '{"task": "Open %s/ and summarize the page"}'""" % (site or "https://example.com"),
        flush=True,
    )
    print(
        "egress: the nodes refuse loopback and private addresses, this machine's included; "
        "to browse a site on this machine, start it and allow its port, e.g. "
        "BROWSING_EGRESS_ALLOW=127.0.0.1:8000 make run (comma-separated host:port entries)",
        flush=True,
    )
    try:
        while not stop.wait(1):
            dead = [name for name, p in cluster.procs.items() if p.poll() is not None]
            if dead:
                print(f"process exited: {', '.join(dead)}; stopping", file=sys.stderr)
                return_code = 1
                break
        else:
            return_code = 0
    finally:
        print("stopping ...", flush=True)
        cluster.stop()
    return return_code


def _first_allowed_site(allow: str) -> str | None:
    """``http://host:port`` of the first ``host:port`` entry of BROWSING_EGRESS_ALLOW."""
    for entry in allow.split(","):
        entry = entry.strip()
        host, _, port = entry.rpartition(":")
        if host and port.isdigit() and "/" not in entry:
            return f"http://{host}:{port}"
    return None


def _keys(args: argparse.Namespace) -> int:
    from shared.apikeys import KeyStore
    from shared.services import redis_client

    store = KeyStore(redis_client(load_settings()))
    if args.action == "create":
        print(store.create(args.user))
        return 0
    if store.revoke(args.user):
        print(f"revoked key {args.user}")
        return 0
    print(f"no key with id {args.user}", file=sys.stderr)
    return 1


def _nodes(args: argparse.Namespace) -> int:
    from shared.registry import NodeRegistry
    from shared.services import redis_client

    settings = load_settings()
    registry = NodeRegistry(redis_client(settings))
    if args.action in ("drain", "undrain"):
        if not registry.set_drained(args.uid, args.action == "drain"):
            print(f"no node {args.uid}", file=sys.stderr)
            return 1
        print(f"{args.uid}: {'drained' if args.action == 'drain' else 'accepting tasks'}")
        return 0
    now_ms = int(datetime.now(timezone.utc).timestamp() * 1000)
    dead_ms = int(settings.node_dead_after_s * 1000)
    print(
        f"{'UID':<16}{'COUNTRY':<9}{'CAPACITY':<10}{'ACTIVE':<8}{'BROWSERS':<10}{'STATE':<10}"
        "LAST HEARTBEAT"
    )
    for n in registry.all():
        state = (
            "dead"
            if not n.live(now_ms, dead_ms)
            else "drained"
            if n.drained
            else ("eligible" if n.ready else "starting")
        )
        seen = (
            datetime.fromtimestamp(n.heartbeat_ms / 1000, tz=timezone.utc).isoformat(
                timespec="seconds"
            )
            if n.heartbeat_ms
            else "never"
        )
        print(
            f"{n.uid:<16}{n.country:<9}{n.capacity:<10}{n.inflight:<8}{n.browsers:<10}"
            f"{state:<10}{seen}"
        )
    return 0


class StatusLine:
    """A task's progress on ``stream``: the status transitions and the elapsed seconds,
    rewritten in place on a terminal (a thread keeps the seconds ticking), one line per
    transition otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.steps: list[str] = []
        self.node: str | None = None
        self._width = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)

    def __enter__(self) -> StatusLine:
        if self.tty:
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker.is_alive():
            self._ticker.join()
        with self._lock:
            if self.tty and self._width:
                self.stream.write("\n")
                self.stream.flush()
                self._width = 0

    def note(self, text: str) -> None:
        """A line of its own, above the progress line."""
        with self._lock:
            if self.tty and self._width:
                self.stream.write("\r" + " " * self._width + "\r")
            self.stream.write(text + "\n")
            self._draw()

    def change(self, step: str, node: str | None = None) -> None:
        with self._lock:
            self.steps.append(step)
            self.node = node or self.node
            if self.tty:
                self._draw()
            else:
                where = f" on {node}" if node else ""
                self.stream.write(f"[{self._elapsed_s():7.1f} s] {step}{where}\n")
                self.stream.flush()

    def on_status(self, body: dict[str, Any]) -> None:
        status = str(body.get("status"))
        node = (body.get("info") or {}).get("node_uid")
        self.change(status, node if status != "queued" else None)

    def _elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def _tick(self) -> None:
        while not self._stop.wait(TTY_REDRAW_S):
            with self._lock:
                self._draw()

    def _draw(self) -> None:
        if not self.tty or not self.steps:
            return
        where = f" on {self.node}" if self.node else ""
        line = f"{' -> '.join(self.steps)}{where}  {self._elapsed_s():.1f} s"
        room = shutil.get_terminal_size().columns - 1  # a wrapped line cannot be redrawn
        if len(line) > room:
            line = "..." + line[len(line) - room + 3 :]
        self.stream.write("\r" + line + " " * max(0, self._width - len(line)))
        self.stream.flush()
        self._width = len(line)


class DownloadBars:
    """One text progress bar per file on ``stream``: redrawn as chunks arrive on a
    terminal, written once per finished file otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.current: tuple[str, int, int | None] | None = None

    def update(self, name: str, done: int, total: int | None) -> None:
        if self.current is not None and self.current[0] != name:
            self.finish()
        self.current = (name, done, total)
        if self.tty:
            self.stream.write("\r" + self._bar(*self.current))
            self.stream.flush()

    def finish(self) -> None:
        if self.current is not None:
            self.stream.write(("\r" if self.tty else "") + self._bar(*self.current) + "\n")
            self.stream.flush()
            self.current = None

    @staticmethod
    def _bar(name: str, done: int, total: int | None) -> str:
        if not total:
            return f"{name} {done / 1024:.1f} KiB"
        filled = BAR_WIDTH * min(done, total) // total
        return (
            f"{name} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
            f"{done / 1024:.1f}/{total / 1024:.1f} KiB"
        )


def _client(args: argparse.Namespace) -> BrowsingClient:
    client = BrowsingClient(args.url, args.api_key)
    if not client.api_key:
        raise ClientError(
            0,
            f"no API key: set {API_KEY_ENV} or pass --api-key "
            "(an operator creates one with `browsing keys create USER`)",
        )
    return client


def _print_result(body: dict[str, Any]) -> int:
    """The result on stdout (the error on stderr); the exit code it deserves."""
    if body.get("status") != "completed" or not body.get("success"):
        print(f"failed: {body.get('error') or body.get('status')}", file=sys.stderr)
        return EXIT_FAILED
    payload = decoded_payload(body)
    result = payload.get("result") if isinstance(payload, dict) else payload
    print(result if isinstance(result, str) else json.dumps(result, indent=2, ensure_ascii=False))
    names = screenshot_names(body)
    if names:
        print("screenshots: " + " ".join(names))
        print(f"download them: browsing screenshots {body['task_id']} -o DIR", file=sys.stderr)
    if isinstance(payload, dict) and payload.get("screenshots_error"):
        print(payload["screenshots_error"], file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
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
        "template": args.template,
        "timeout_ms": args.timeout,
    }
    task_id = None
    try:
        with StatusLine(sys.stderr) as line:
            if args.sync:
                line.change("waiting for the result (sync)")
                try:
                    body = client.run_sync(args.task, **options)
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
            else:
                task_id = client.submit(args.task, **options)
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


def _status(args: argparse.Namespace) -> int:
    body = _client(args).status(args.task_id)
    if args.json:
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0
    info = body.get("info") or {}
    fields = [(k, body.get(k)) for k in ("task_id", "status", "created_at", "assigned_at")]
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


def _add_client_commands(sub: Any) -> None:
    gateway = argparse.ArgumentParser(add_help=False)
    gateway.add_argument("--url", help=f"gateway URL (default ${URL_ENV} or {DEFAULT_URL})")
    gateway.add_argument(
        "--api-key", help=f"API key (default ${API_KEY_ENV}; other users can see arguments)"
    )

    run = sub.add_parser("run", parents=[gateway], help="run a browsing task and show its result")
    run.add_argument("task", help='the instruction, e.g. "Open https://example.com"')
    run.add_argument("--sync", action="store_true", help="use /sync instead of /async + polling")
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
    run.add_argument("--session", metavar="KEY", help="session_key: keep these tasks on one node")
    run.add_argument("--template", help="browsing template stem (see `browsing templates`)")
    run.add_argument("--timeout", type=int, metavar="MS", help="task timeout in milliseconds")
    run.add_argument("--json", action="store_true", help="print the final status body as JSON")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="browsing", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start a local cluster (Redis, S3, scheduler, nodes, gateway)")
    up.add_argument(
        "--port", type=int, default=None, help="gateway port (default $BROWSING_PORT or 8080)"
    )
    up.add_argument("--nodes", default="node.de.01,node.us.01", help="node queues to start")
    up.add_argument("--concurrency", type=int, default=2, help="browser processes per node")
    up.add_argument("--workdir", default=None, help="where logs go (default: a temp dir)")
    up.add_argument(
        "--data-dir",
        default=None,
        help="where the private Redis keeps its data across restarts (default "
        "$BROWSING_DATA_DIR or ~/.local/share/browsing-service; 'none' keeps nothing)",
    )
    up.set_defaults(func=_up)

    keys = sub.add_parser("keys", help="manage API keys stored (hashed) in Redis")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    create = keys_sub.add_parser("create", help="create a key for USER and print it once")
    create.add_argument("user")
    revoke = keys_sub.add_parser("revoke", help="revoke a key by its id (the part after bk_)")
    revoke.add_argument("user", metavar="KEY_ID")
    keys.set_defaults(func=_keys)

    nodes = sub.add_parser("nodes", help="list, drain or undrain browsing nodes")
    nodes_sub = nodes.add_subparsers(dest="action")
    for action in ("drain", "undrain"):
        p = nodes_sub.add_parser(action)
        p.add_argument("uid")
    nodes.set_defaults(func=_nodes)
    _add_client_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ClientError as exc:
        print(f"browsing: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrowsingError as exc:
        print(f"browsing: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
