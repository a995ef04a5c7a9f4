"""``browsing tasks list``: your own tasks, newest first, through GET /tasks."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any

from browsing.cli.tasks import _client
from browsing.client import API_KEY_ENV, DEFAULT_URL, URL_ENV
from shared.records import TaskStatus

STATUSES = tuple(s.value for s in TaskStatus)
INSTRUCTION_CHARS = 60


def _line(item: dict[str, Any]) -> str:
    task = " ".join(str(item.get("task") or "").split())
    if len(task) > INSTRUCTION_CHARS:
        task = task[: INSTRUCTION_CHARS - 1] + "…"
    return f"{item['task_id']}  {item['status']:<9}  {item.get('created_at') or '':<20}  {task}"


def _list(args: argparse.Namespace) -> int:
    client = _client(args)
    statuses = args.status or None
    if args.all:
        items = list(client.iter_tasks(status=statuses))
        next_cursor = None
    else:
        page = client.list_tasks(status=statuses, limit=args.limit, cursor=args.cursor)
        items, next_cursor = page["tasks"], page.get("next_cursor")
    if args.json:
        print(
            json.dumps({"tasks": items, "next_cursor": next_cursor}, indent=2, ensure_ascii=False)
        )
        return 0
    for item in items:
        print(_line(item))
    if not items:
        print("no tasks", file=sys.stderr)
    if next_cursor:
        print(f"more: {_next_page(args, next_cursor)}", file=sys.stderr)
    return 0


def _next_page(args: argparse.Namespace, cursor: str) -> str:
    """The command for the next page: the same filter, page size and gateway (a cursor
    holds only where the page ended), without the API key."""
    argv = ["browsing", "tasks", "list"]
    if args.url:
        argv += ["--url", args.url]
    for status in args.status or ():
        argv += ["--status", status]
    if args.limit is not None:
        argv += ["--limit", str(args.limit)]
    return shlex.join([*argv, "--cursor", cursor])


def add_parser(sub: Any) -> None:
    gateway = argparse.ArgumentParser(add_help=False)
    gateway.add_argument("--url", help=f"gateway URL (default ${URL_ENV} or {DEFAULT_URL})")
    gateway.add_argument(
        "--api-key", help=f"API key (default ${API_KEY_ENV}; other users can see arguments)"
    )
    tasks = sub.add_parser("tasks", help="your tasks: `browsing tasks list`")
    tasks_sub = tasks.add_subparsers(dest="tasks_command", required=True)
    listing = tasks_sub.add_parser(
        "list", parents=[gateway], help="list your tasks, newest first, a page at a time"
    )
    listing.add_argument(
        "--status",
        action="append",
        choices=STATUSES,
        help="only tasks in this status (repeat for several)",
    )
    listing.add_argument(
        "--limit", type=int, default=None, metavar="N", help="tasks per page, 1..100 (20)"
    )
    listing.add_argument("--cursor", help="the page after the one that printed this cursor")
    listing.add_argument("--all", action="store_true", help="every page, not only the first")
    listing.add_argument("--json", action="store_true", help="print the page as JSON")
    listing.set_defaults(func=_list)
