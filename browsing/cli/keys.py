"""``browsing keys create USER``, ``browsing keys revoke KEY_ID`` and ``browsing keys
limits USER``: API keys, and the per-user weight and limits all of a user's keys share
(shared/users.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from browsing.cli.operators import operator_settings, reaching_redis
from shared.errors import ConfigError

# option -> UserPolicy field
LIMIT_OPTIONS = {
    "weight": "share of free slots while other users wait too (1 to 1000)",
    "max_active": "tasks assigned or running at once; 0: no limit",
    "max_queued": "tasks waiting for a node; 0: no limit",
    "rate": "submits per second (a token bucket); 0: no limit",
    "burst": "submits the rate lets through at once; 0: one second's worth",
}


def _overrides(args: argparse.Namespace) -> dict[str, str]:
    return {name: value for name in LIMIT_OPTIONS if (value := getattr(args, name)) is not None}


def _check(user: str, values: dict[str, str]) -> None:
    """Refuse a bad user name or value before anything is written."""
    from shared.apikeys import USER_PATTERN
    from shared.users import UserPolicy

    if not USER_PATTERN.match(user):
        raise ConfigError("user names are 1-64 characters of letters, digits and _ . @ -")
    UserPolicy().with_values(values, where=f"limits of {user}")


def _shown(name: str, value: float, bucket: int) -> str:
    if value or name == "weight":
        return f"{value:g}"
    return f"0 (one second's worth: {bucket})" if name == "burst" else "0 (no limit)"


def print_policy(policies: Any, user: str, stream: Any) -> None:
    """The user's effective policy, one field a line, each with where it comes from."""
    policy = policies.get(user)
    origins = policies.origins(user)
    print(f"{'user':<12}{user}", file=stream)
    for name in LIMIT_OPTIONS:
        value = _shown(name, getattr(policy, name), policy.bucket)
        print(f"{name:<12}{value:<28}{origins[name]}", file=stream)


def keys(args: argparse.Namespace) -> int:
    from shared.apikeys import KeyStore
    from shared.services import redis_client
    from shared.users import UserPolicies

    settings = operator_settings()
    client = redis_client(settings)
    store = KeyStore(client)
    if args.action == "revoke":
        with reaching_redis(settings):
            revoked = store.revoke(args.user)
        if revoked:
            print(f"revoked key {args.user}")
            return 0
        print(f"no key with id {args.user}", file=sys.stderr)
        return 1
    overrides = _overrides(args)
    _check(args.user, overrides)
    policies = UserPolicies(client, settings, cache_s=0)
    with reaching_redis(settings):
        if args.action == "create":
            print(store.create(args.user, admin=args.admin))
            if overrides:
                policies.set(args.user, overrides)
                print_policy(policies, args.user, sys.stderr)  # stdout holds the key alone
            return 0
        if args.clear:
            policies.clear(args.user)
        if overrides:
            policies.set(args.user, overrides)
        print_policy(policies, args.user, sys.stdout)
    return 0


def _add_limit_options(parser: argparse.ArgumentParser) -> None:
    # Read as text and checked by UserPolicy, so that a bad value is one line on stderr.
    for name, text in LIMIT_OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, dest=name, metavar="R" if name == "rate" else "N", help=text)


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("keys", help="manage API keys (stored hashed) and users' limits")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser(
        "create",
        help="create a key for USER and print it once; the options store USER's own "
        "weight and limits, shared by all of USER's keys",
    )
    create.add_argument("user")
    create.add_argument(
        "--admin",
        action="store_true",
        help="the key may also use the operators' API (/api/v1/admin) and console pages",
    )
    _add_limit_options(create)
    revoke = actions.add_parser("revoke", help="revoke a key by its id (the part after bk_)")
    revoke.add_argument("user", metavar="KEY_ID")
    limits = actions.add_parser(
        "limits",
        help="show USER's weight and limits and where each comes from; the options "
        "store new values for USER",
    )
    limits.add_argument("user")
    _add_limit_options(limits)
    limits.add_argument(
        "--clear",
        action="store_true",
        help="drop USER's stored values first (back to BROWSING_USER_LIMITS and the defaults)",
    )
    parser.set_defaults(func=keys)
