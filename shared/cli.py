"""The ``browsing`` command: run a local cluster, manage API keys and nodes."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import datetime, timezone

from shared.config import load_settings
from shared.errors import BrowsingError


def _up(args: argparse.Namespace) -> int:
    from shared.cluster import LocalCluster

    cluster = LocalCluster(
        node_queues=tuple(q.strip() for q in args.nodes.split(",") if q.strip()),
        port=args.port,
        node_concurrency=args.concurrency,
        workdir=args.workdir,
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
    print(
        f"try: curl -sS -X POST {cluster.base_url}/api/v1/browsing/sync "
        f"-H 'Authorization: Bearer {cluster.api_key}' -H 'Content-Type: application/json' "
        """-d '{"task": "Open %s/healthz and summarize the page"}'""" % cluster.base_url,
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BrowsingError as exc:
        print(f"browsing: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
