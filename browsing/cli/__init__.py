"""The ``browsing`` command: run tasks against a gateway, run a local cluster, manage
API keys and nodes."""

from __future__ import annotations

import argparse
import os
import sys

from browsing.cli import keys, listing, mcp, nodes, tasks, up
from browsing.cli.exits import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_USAGE
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
        code = int(args.func(args))
        sys.stdout.flush()  # a reader gone shows here, not as a traceback at exit
        return code
    except ClientError as exc:
        print(f"browsing: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader stopped early (`browsing tasks list | head`): no traceback. What is
        # still buffered goes nowhere, and the exit code is the shell's for SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except BrowsingError as exc:
        print(f"browsing: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # a file the command writes: no room, no permission
        print(f"browsing: {exc}", file=sys.stderr)
        return EXIT_USAGE
