"""``browsing nodes``: list the nodes; ``drain UID`` and ``undrain UID``."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from typing import Any

from browsing.cli.operators import operator_settings, reaching_redis


def nodes(args: argparse.Namespace) -> int:
    from shared.fleet import node_state  # the same words as GET /api/v1/admin/nodes
    from shared.registry import NodeRegistry
    from shared.services import redis_client

    settings = operator_settings()
    registry = NodeRegistry(redis_client(settings))
    if args.action in ("drain", "undrain"):
        with reaching_redis(settings):
            found = registry.set_drained(args.uid, args.action == "drain")
        if not found:
            print(f"no node {args.uid}", file=sys.stderr)
            return 1
        print(f"{args.uid}: {'drained' if args.action == 'drain' else 'accepting tasks'}")
        return 0
    now_ms = int(datetime.now(timezone.utc).timestamp() * 1000)
    dead_ms = int(settings.node_dead_after_s * 1000)
    with reaching_redis(settings):
        listed = registry.all()
    print(
        f"{'UID':<16}{'COUNTRY':<9}{'CAPACITY':<10}{'ACTIVE':<8}{'BROWSERS':<10}{'STATE':<10}"
        "LAST HEARTBEAT"
    )
    for n in listed:
        state = node_state(n, now_ms=now_ms, dead_after_ms=dead_ms)
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


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("nodes", help="list, drain or undrain browsing nodes")
    actions = parser.add_subparsers(dest="action")
    for action in ("drain", "undrain"):
        p = actions.add_parser(action)
        p.add_argument("uid")
    parser.set_defaults(func=nodes)
