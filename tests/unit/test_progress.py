"""The ``browsing run`` progress line and the client's Retry-After reading (no process,
no network)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

from browsing.cli.progress import StatusLine
from browsing.client import ClientError, _retry_after


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_queue_position_counts_down_in_one_step_on_a_terminal():
    screen = Terminal()
    line = StatusLine(screen)
    line.on_status({"status": "queued", "queue_position": 12})
    line.on_status({"status": "queued", "queue_position": 3})
    line.on_status({"status": "running", "info": {"node_uid": "node.de.01"}})
    assert line.steps == ["queued (position 3)", "running"]
    assert (
        screen.getvalue().split("\r")[-1].startswith("queued (position 3) -> running on node.de.01")
    )


def test_without_a_terminal_each_position_is_a_line():
    log = io.StringIO()
    line = StatusLine(log)
    for body in (
        {"status": "queued", "queue_position": 1},
        {"status": "queued", "queue_position": 0},
        {"status": "queued", "queue_position": None},  # between the queue and a node
        {"status": "assigned", "info": {"node_uid": "node.de.01"}},
    ):
        line.on_status(body)
    steps = [text.split("] ", 1)[1] for text in log.getvalue().splitlines()]
    assert steps == [
        "queued (position 1)",
        "queued (position 0)",
        "queued",
        "assigned on node.de.01",
    ]


def test_retry_after_reads_seconds_and_http_dates():
    assert _retry_after("120") == 120.0
    assert _retry_after(None) is None and _retry_after("soon") is None
    when = datetime.now(timezone.utc) + timedelta(seconds=90)
    assert 85 <= _retry_after(format_datetime(when, usegmt=True)) <= 90
    past = datetime.now(timezone.utc) - timedelta(seconds=90)
    assert _retry_after(format_datetime(past, usegmt=True)) == 0.0
    assert str(ClientError(429, "slow down", retry_after=3)) == (
        "slow down (HTTP 429, retry after 3 s)"
    )
