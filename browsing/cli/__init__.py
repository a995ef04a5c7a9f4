"""The ``browsing`` command: run tasks against a gateway, run a local cluster, manage
API keys and nodes."""

from __future__ import annotations

import argparse
import sys

from browsing.cli import keys, listing, mcp, nodes, tasks, up
from browsing.cli.exits import EXIT_INTERRUPTED, EXIT_USAGE
from browsing.client import ClientError
from shared.errors import BrowsingError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="browsing", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up.add_parser(sub)
    keys.add_parser(sub)
    nodes.add_parser(sub)
    tasks.add_parsers(sub)
    tasks.add_webhook_parser(sub)
    mcp.add_parser(sub)
    listing.add_parser(sub)
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
        return EXIT_USAGE
