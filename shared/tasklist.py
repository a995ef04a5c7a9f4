"""A user's own tasks, newest first, a page at a time (GET /api/v1/browsing/tasks).

create.lua writes every new task into its owner's list (``keys.owner_tasks``), scored by
the submit sequence number; ``list.lua`` reads a page of it below a cursor, with each
task's record, and drops the entries whose record has expired. A cursor is the sequence
number of the page's last task, so tasks created meanwhile (higher numbers) never shift
the pages of older ones: no duplicates, no gaps.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from importlib import resources

import redis

from shared import keys
from shared.errors import ValidationError
from shared.records import TaskRecord, TaskStatus, TaskStore

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Entries one request looks at, at most: with a status filter that matches few tasks, a
# page may come back short (even empty) with a next_cursor to go on from.
MAX_SCAN = 1000
_CURSOR_TAG = "s1:"


@dataclass(frozen=True)
class TaskPage:
    records: list[TaskRecord]
    next_cursor: str | None


def encode_cursor(seq: str) -> str:
    return base64.urlsafe_b64encode((_CURSOR_TAG + seq).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The sequence number a cursor stands for; ValidationError if it is not one of ours."""
    bad = ValidationError(
        "invalid cursor: pass the next_cursor of the previous page unchanged, "
        "or no cursor for the first page"
    )
    if not cursor or len(cursor) > 64:
        raise bad
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError) as exc:
        raise bad from exc
    seq = text.removeprefix(_CURSOR_TAG)
    if seq == text or not seq.isdigit() or not seq.isascii():
        raise bad
    return str(int(seq))


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    text = raw.strip()
    if not text.isdigit() or not text.isascii() or not 1 <= int(text) <= MAX_LIMIT:
        raise ValidationError(
            f"invalid limit {raw[:40]!r}: a whole number from 1 to {MAX_LIMIT} "
            f"(default {DEFAULT_LIMIT})"
        )
    return int(text)


def parse_statuses(raw: str | None) -> tuple[str, ...]:
    """``status=running`` or ``status=queued,assigned``; none (or empty): every status."""
    if raw is None or not raw.strip():
        return ()
    known = [s.value for s in TaskStatus]
    wanted = tuple(dict.fromkeys(part.strip() for part in raw.split(",")))
    for status in wanted:
        if status not in known:
            raise ValidationError(
                f"invalid status {status[:40]!r}: one of {', '.join(known)}, "
                "or several separated by commas"
            )
    return wanted


class TaskList:
    """Pages of an owner's task list. Safe to share between threads."""

    def __init__(self, client: redis.Redis) -> None:
        text = (resources.files("shared") / "lua" / "list.lua").read_text()
        self._list = client.register_script(text)

    def page(
        self,
        owner: str,
        *,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
        statuses: tuple[str, ...] = (),
    ) -> TaskPage:
        before = decode_cursor(cursor) if cursor is not None else ""
        args = [keys.PREFIX, before, limit, ",".join(statuses), max(MAX_SCAN, limit + 1)]
        next_seq, entries = self._list(keys=[keys.owner_tasks(owner)], args=args)
        task_ids = [entry[0] for entry in entries]
        parsed = TaskStore.parse_many(task_ids, [entry[1] for entry in entries])
        records = [r for r in parsed if r is not None]
        return TaskPage(records, encode_cursor(str(next_seq)) if next_seq else None)
