"""``browsing up`` (``make run``): a supervised local cluster in the foreground."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from browsing.state import (
    OPERATOR_SETTINGS,
    ClusterState,
    data_dir,
    default_data_dir,
    read_state,
    remove_state,
    state_path,
    write_state,
)

EXIT_START_FAILED = 1


def _say(line: str) -> None:
    print(line, flush=True)


def _warn(line: str) -> None:
    print(f"browsing up: {line}", file=sys.stderr, flush=True)


def _interrupt_once(*_: object) -> None:
    """Interrupt the start; a second Ctrl-C (or a SIGTERM sent to the whole process
    group) must not interrupt the stop that cleans up after it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def up(args: argparse.Namespace) -> int:
    from browsing.cluster import LocalCluster
    from browsing.processes import start_time
    from browsing.supervisor import Supervisor

    cluster = LocalCluster(
        node_queues=tuple(q.strip() for q in args.nodes.split(",") if q.strip()),
        port=args.port,
        node_concurrency=args.concurrency,
        workdir=args.workdir,
        data_dir=data_dir(args.data_dir),
    )
    path = state_path(cluster.data_dir)
    other = read_state(path) if cluster.data_dir is not None else None
    if other is not None:  # two Redis servers would write one append-only file
        _warn(
            f"another `browsing up` (process {other.pid}, {other.gateway_url}) uses the data "
            f"directory {cluster.data_dir}; stop it, or give this one --data-dir DIR"
        )
        return EXIT_START_FAILED
    # While starting, Ctrl-C or SIGTERM interrupts the start (and stops what it began);
    # once up, either one ends the supervision below.
    signal.signal(signal.SIGINT, _interrupt_once)
    signal.signal(signal.SIGTERM, _interrupt_once)
    _say("starting the local cluster ...")
    try:
        cluster.start()
    except KeyboardInterrupt:
        cluster.stop()
        return 130
    except (RuntimeError, TimeoutError) as exc:  # a child exited, or never became ready
        _warn(f"the local cluster did not start: {exc}; logs in {cluster.workdir}")
        return EXIT_START_FAILED
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    state = ClusterState(
        pid=os.getpid(),
        started=start_time(os.getpid()) or 0,
        gateway_url=cluster.base_url,
        env={k: cluster.env[k] for k in OPERATOR_SETTINGS if cluster.env.get(k)},
        workdir=str(cluster.workdir),
        data_dir=None if cluster.data_dir is None else str(cluster.data_dir),
        nodes=list(cluster.node_queues),
    )
    try:
        write_state(path, state)
    except OSError as exc:
        _warn(f"no state file for operator commands: {exc}")
        path = None
    try:
        _print_ready(cluster, path)
        return_code = Supervisor(cluster, log=_warn).run(stop)
    finally:
        _say("stopping ...")
        cluster.stop()
        if path is not None:
            remove_state(path, state.pid)
    return return_code


def _print_ready(cluster: Any, state_file: Path | None) -> None:
    _say(f"ready: {cluster.base_url} api_key={cluster.api_key} logs={cluster.workdir}")
    _say(f"console: open {cluster.base_url}/ in a browser and sign in with the api_key above")
    if cluster.data_dir is not None and "redis" in cluster.procs:
        _say(f"data: task records, keys and drain marks kept in {cluster.data_dir}")
    if state_file is not None:
        _say(
            "operators: `browsing nodes`, `browsing keys create USER` in another terminal "
            f"find this cluster through {state_file}" + _hint_for(cluster.data_dir)
        )
    site = _first_allowed_site(cluster.env.get("BROWSING_EGRESS_ALLOW", ""))
    _say(
        f"try: curl -sS -X POST {cluster.base_url}/api/v1/browsing/sync "
        f"-H 'Authorization: Bearer {cluster.api_key}' -H 'Content-Type: application/json' "
        """-d '{"task": "Open %s/ and summarize the page"}'""" % (site or "https://example.com")
    )
    _say(_egress_line(cluster.env.get("BROWSING_EGRESS_ALLOW", "")))
    _say("a process that exits is restarted; Ctrl-C stops everything")


def _egress_line(allow: str) -> str:
    """What the nodes may reach: the refusal and how to lift it, or, when the operator
    has already allowed entries, which ones."""
    refused = "egress: the nodes refuse loopback and private addresses, this machine's included"
    entries = ", ".join(e.strip() for e in allow.split(",") if e.strip())
    if entries:
        return f"{refused}, except BROWSING_EGRESS_ALLOW: {entries}"
    return (
        f"{refused}; to browse a site on this machine, start it and allow its port, e.g. "
        "BROWSING_EGRESS_ALLOW=127.0.0.1:8000 make run (comma-separated host:port entries)"
    )


def _hint_for(data: Path | None) -> str:
    """What another terminal needs to find the state file in a data directory that is
    not the one it would look in: the default, since this terminal's BROWSING_DATA_DIR
    (which chose ``data``) is not another's."""
    if data is None or data == default_data_dir():
        return ""
    return f" (with BROWSING_DATA_DIR={data})"


def _first_allowed_site(allow: str) -> str | None:
    """``http://host:port`` of the first ``host:port`` entry of BROWSING_EGRESS_ALLOW."""
    for entry in allow.split(","):
        entry = entry.strip()
        host, _, port = entry.rpartition(":")
        if host and port.isdigit() and "/" not in entry:
            return f"http://{host}:{port}"
    return None


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "up", help="start a local cluster (Redis, S3, scheduler, nodes, gateway)"
    )
    parser.add_argument(
        "--port", type=int, default=None, help="gateway port (default $BROWSING_PORT or 8080)"
    )
    parser.add_argument("--nodes", default="node.de.01,node.us.01", help="node queues to start")
    parser.add_argument("--concurrency", type=int, default=2, help="browser processes per node")
    parser.add_argument("--workdir", default=None, help="where logs go (default: a temp dir)")
    parser.add_argument(
        "--data-dir",
        default=None,
        help="where the private Redis keeps its data across restarts (default "
        "$BROWSING_DATA_DIR or ~/.local/share/browsing-service; 'none' keeps nothing)",
    )
    parser.set_defaults(func=up)
