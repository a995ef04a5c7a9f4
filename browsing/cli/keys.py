"""``browsing keys create USER`` and ``browsing keys revoke KEY_ID``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from browsing.cli.operators import operator_settings, reaching_redis


def keys(args: argparse.Namespace) -> int:
    from shared.apikeys import KeyStore
    from shared.services import redis_client

    settings = operator_settings()
    store = KeyStore(redis_client(settings))
    with reaching_redis(settings):
        if args.action == "create":
            print(store.create(args.user))
            return 0
        if store.revoke(args.user):
            print(f"revoked key {args.user}")
            return 0
    print(f"no key with id {args.user}", file=sys.stderr)
    return 1


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("keys", help="manage API keys stored (hashed) in Redis")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key for USER and print it once")
    create.add_argument("user")
    revoke = actions.add_parser("revoke", help="revoke a key by its id (the part after bk_)")
    revoke.add_argument("user", metavar="KEY_ID")
    parser.set_defaults(func=keys)
