"""Live step events of a task: one Redis stream per task, written by the node that runs
the step and read by the gateway's Server-Sent Events endpoint (gateway/events.py).

The stream holds only steps. Status changes are not copied into it: the task record
already holds each one's time (created, assigned, started, finished), a status never
moves backwards, and the order of the two is fixed by the scripts. A step is added only
while its attempt runs (step.lua), so after the record says ``running`` and before it
says ``completed`` or ``failed``. Reading the record and the stream in one transaction
(``read``) therefore gives every event in its place, and nothing is added to the hot
paths that create, place and finish tasks but one PUBLISH when a task is placed.

Event ids are the stream's entry ids (``<ms>-<n>``, ordered); the statuses before the
first step take ``0-1`` (queued), ``0-2`` (assigned) and ``0-3`` (running), and the
final status ``end``. A client that resumes with the last id it saw gets exactly the rest.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

import redis
from redis.client import PubSub

from shared import keys
from shared.clock import Clock, system_clock, to_ms

# Steps kept per task: 50 steps per attempt by default, a few attempts.
MAX_EVENTS = 1000
READ_BATCH = 200  # stream entries read at once

QUEUED, ASSIGNED, RUNNING = 1, 2, 3  # the ids 0-1, 0-2, 0-3
STATUS_NAMES = {QUEUED: "queued", ASSIGNED: "assigned", RUNNING: "running"}
END_ID = "end"
_STREAM_ID = re.compile(r"^(\d{1,20})-(\d{1,20})$")
_STATUS_FIELDS = ("status", "created_ms", "assigned_ms", "started_ms", "finished_ms")


class BadEventId(ValueError):
    """Not an event id this stream gave: ``0-1``..``0-3``, ``<ms>-<n>`` or ``end``."""


@dataclass(frozen=True, kw_only=True)
class StepEvent:
    """One agent step, as the node that ran it records it."""

    attempt: int
    index: int  # 1-based, within the attempt
    action: str
    url: str  # the page's URL after the step
    ok: bool
    error: str | None
    duration_ms: int
    screenshot: str | None  # the file name, when the screenshot mode took one at this step
    node: str
    at_ms: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> StepEvent:
        return cls(**json.loads(raw))


@dataclass(frozen=True)
class Cursor:
    """Where a stream resumes: the last status sent (0 none, 1 queued .. 3 running),
    the last step entry sent, and whether the final status was sent."""

    status: int = 0
    step_id: str = "0-0"
    ended: bool = False

    @classmethod
    def parse(cls, last_event_id: str | None) -> Cursor:
        if last_event_id is None or last_event_id.strip() == "":
            return cls()
        value = last_event_id.strip()
        if value == END_ID:
            return cls(RUNNING, ended=True)
        match = _STREAM_ID.match(value)
        if match is None:
            raise BadEventId(value)
        ms, n = int(match.group(1)), int(match.group(2))
        if ms == 0:
            if n not in STATUS_NAMES:
                raise BadEventId(value)
            return cls(n)
        if ms >= 2**64 or n >= 2**64:
            raise BadEventId(value)
        return cls(RUNNING, value)


@dataclass(frozen=True)
class Snapshot:
    """A task's status times and the steps after a cursor, read in one transaction."""

    status: str
    times: dict[int, int]  # QUEUED/ASSIGNED/RUNNING -> epoch ms, for those reached
    finished_ms: int | None
    steps: list[tuple[str, StepEvent]]  # (entry id, event), oldest first
    more: bool  # more steps wait after these

    @property
    def terminal(self) -> bool:
        return self.status in ("completed", "failed")


def _script(name: str) -> str:
    return (resources.files("shared") / "lua" / f"{name}.lua").read_text()


class EventLog:
    """Writes and reads tasks' step events. Safe to share between threads."""

    def __init__(self, client: redis.Redis, *, record_ttl_s: int, clock: Clock = system_clock):
        self.redis = client
        self.record_ttl_s = record_ttl_s
        self.clock = clock
        self._step = client.register_script(_script("step"))

    def add_step(self, task_id: str, event: StepEvent) -> str | None:
        """Append a step of a running attempt and announce it; returns its entry id, or
        None when the attempt no longer runs (nothing is added then)."""
        args: list[Any] = [event.attempt, event.node, MAX_EVENTS, self.record_ttl_s * 1000]
        args += [keys.EVENTS_CHANNEL, task_id, event.to_json()]
        entry = self._step(keys=[keys.task(task_id), keys.events(task_id)], args=args)
        return str(entry) or None

    def announce(self, task_id: str) -> None:
        """Wake the task's streams: its status moved on (the node started an attempt)."""
        self.redis.publish(keys.EVENTS_CHANNEL, task_id)

    def now_ms(self) -> int:
        return to_ms(self.clock())

    def read(self, task_id: str, after_step: str, count: int = READ_BATCH) -> Snapshot | None:
        """The task's status times and up to ``count`` steps after ``after_step``; None
        if the task is gone."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hmget(keys.task(task_id), list(_STATUS_FIELDS))
        pipe.xrange(keys.events(task_id), min=f"({after_step}", max="+", count=count + 1)
        fields, entries = pipe.execute()
        status, created, assigned, started, finished = fields
        if status is None:
            return None
        times = {}
        for level, value in ((QUEUED, created), (ASSIGNED, assigned), (RUNNING, started)):
            if value:
                times[level] = int(value)
        steps = [(entry_id, StepEvent.from_json(data["data"])) for entry_id, data in entries]
        return Snapshot(
            status=status,
            times=times,
            finished_ms=int(finished) if finished else None,
            steps=steps[:count],
            more=len(steps) > count,
        )

    def completions(self) -> PubSub:
        """A subscription to both channels that move a task's events on: this module's
        and the completions. Each message's data is a task id; the first message
        confirms the subscription (as ``TaskStore.completions``)."""
        pubsub = self.redis.pubsub(ignore_subscribe_messages=False)
        pubsub.subscribe(keys.EVENTS_CHANNEL, keys.DONE_CHANNEL)
        return pubsub
