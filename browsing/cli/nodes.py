"""``browsing nodes``: list the nodes; ``drain UID``, ``undrain UID``, and ``forget UID``
(a dead node that was retired).

By default it reads and writes the node registry in Redis (BROWSING_REDIS_URL, or the
running local cluster's). With ``--url`` it goes through a gateway's operators' API
(/api/v1/admin) instead, with an admin key, so an operator needs no access to Redis."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from typing import Any

from browsing.cli.operators import operator_settings, reaching_redis, without_password
from browsing.client import API_KEY_ENV, BrowsingClient, ClientError

NOT_FOUND = 404


def _through_redis(args: argparse.Namespace) -> list[dict[str, Any]] | None:
    """The nodes (or None after an action on an unknown node), from Redis."""
    from shared.errors import NotFoundError
    from shared.fleet import forget_node, node_body
    from shared.registry import NodeRegistry
    from shared.services import redis_client

    settings = operator_settings()
    registry = NodeRegistry(redis_client(settings))
    with reaching_redis(settings):
        if args.action in ("drain", "undrain"):
            return [] if registry.set_drained(args.uid, args.action == "drain") else None
        now_ms = int(datetime.now(timezone.utc).timestamp() * 1000)
        if args.action == "forget":
            try:
                forget_node(
                    registry, args.uid, now_ms=now_ms, dead_after_s=settings.node_dead_after_s
                )
            except NotFoundError:
                return None
            return []
        dead_ms = int(settings.node_dead_after_s * 1000)
        listed = [node_body(n, now_ms=now_ms, dead_after_ms=dead_ms) for n in registry.all()]
    if not listed:  # say where it looked: a Redis with no nodes is often the wrong one
        print(
            f"no node is registered in the Redis at {without_password(settings.redis_url)} "
            "(a local cluster started with BROWSING_DATA_DIR is found with the same "
            "variable; another cluster's Redis: BROWSING_REDIS_URL)",
            file=sys.stderr,
        )
    return listed


def _through_gateway(args: argparse.Namespace) -> list[dict[str, Any]] | None:
    """The same, through the gateway's operators' API."""
    client = BrowsingClient(args.url, getattr(args, "api_key", None))
    if not client.api_key:
        raise ClientError(
            0,
            f"no API key: set {API_KEY_ENV} or pass --api-key (an admin key: operators "
            "make one with `browsing keys create USER --admin`)",
        )
    if args.action in ("drain", "undrain", "forget"):
        try:
            if args.action == "forget":
                client.forget_node(args.uid)
            else:
                client.set_drained(args.uid, args.action == "drain")
        except ClientError as exc:
            if exc.status == NOT_FOUND and "is registered" in exc.message:
                return None  # the API's "no node X is registered", not a wrong URL
            raise
        return []
    return client.nodes()


def nodes(args: argparse.Namespace) -> int:
    url = getattr(args, "url", None)
    if url is None and getattr(args, "api_key", None) is not None:
        raise ClientError(0, "--api-key goes with --url: without a gateway, Redis is read")
    if url == "":
        raise ClientError(0, "--url needs the gateway's URL, e.g. http://127.0.0.1:8080")
    found = _through_gateway(args) if url else _through_redis(args)
    if found is None:
        print(f"no node {args.uid}", file=sys.stderr)
        return 1
    if args.action:
        done = {"drain": "drained", "undrain": "accepting tasks", "forget": "forgotten"}
        print(f"{args.uid}: {done[args.action]}")
        return 0
    print(
        f"{'UID':<16}{'COUNTRY':<9}{'CAPACITY':<10}{'ACTIVE':<8}{'BROWSERS':<10}{'STATE':<10}"
        "LAST HEARTBEAT"
    )
    for n in found:
        print(
            f"{n['uid']:<16}{n['country']:<9}{n['capacity']:<10}{n['active']:<8}"
            f"{n['browsers']:<10}{n['state']:<10}{n['last_heartbeat'] or 'never'}"
        )
    return 0


def add_parser(sub: Any) -> None:
    # On `nodes` and on each action, so that `--url` may come before or after it; the
    # actions' copies leave what `nodes` parsed alone unless given (SUPPRESS).
    gateway = argparse.ArgumentParser(add_help=False)
    gateway.add_argument(
        "--url",
        default=argparse.SUPPRESS,
        help="use this gateway's operators' API (an admin key) instead of Redis",
    )
    gateway.add_argument(
        "--api-key",
        default=argparse.SUPPRESS,
        help=f"admin API key for --url (default ${API_KEY_ENV})",
    )
    parser = sub.add_parser(
        "nodes", parents=[gateway], help="list, drain, undrain or forget browsing nodes"
    )
    actions = parser.add_subparsers(dest="action")
    helps = {
        "drain": "bind no new task to the node; what it runs finishes",
        "undrain": "let the node take tasks again",
        "forget": "remove a dead node that was retired from the list (and the metrics)",
    }
    for action, text in helps.items():
        p = actions.add_parser(action, parents=[gateway], help=text)
        p.add_argument("uid")
    parser.set_defaults(func=nodes)
