"""``browsing up`` (``make run``): a local cluster in the foreground."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from shared.config import load_settings


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/browsing-service``, or ``~/.local/share/browsing-service``."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "browsing-service"


def _data_dir(given: str | None) -> Path | None:
    chosen = given or load_settings().data_dir or str(default_data_dir())
    return None if chosen == "none" else Path(chosen).expanduser()


def up(args: argparse.Namespace) -> int:
    from browsing.cluster import LocalCluster

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
