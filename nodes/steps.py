"""An attempt's live step events: each step goes to the task's event stream as it ends,
with the screenshot the mode took at it, uploaded first so that the owner can download
it as soon as the event arrives (shared/events.py, gateway/events.py)."""

from __future__ import annotations

import logging

import redis

from nodes import metrics
from nodes.agent.types import Screenshot, StepRecord
from nodes.runtime import NodeRuntime
from shared.errors import StorageError
from shared.events import EventLog, StepEvent
from shared.storage import screenshot_name, screenshot_number

log = logging.getLogger(__name__)


class StepReporter:
    """The agent's ``on_step`` and ``on_screenshot`` for one attempt. Neither ever fails
    the attempt: a step event or an upload that does not go through is logged, and the
    result's report uploads what is missing."""

    def __init__(self, runtime: NodeRuntime, task_id: str, attempt: int) -> None:
        assert runtime.identity is not None
        self.runtime = runtime
        self.task_id = task_id
        self.attempt = attempt
        self.node = runtime.identity.uid
        self.uploaded: set[str] = set()  # file names stored under this attempt
        self._shot_of_step: dict[int, str] = {}
        self._events: EventLog | None = None

    @property
    def events(self) -> EventLog:
        if self._events is None:
            store = self.runtime.store
            self._events = EventLog(store.redis, record_ttl_s=store.record_ttl_s, clock=store.clock)
        return self._events

    def started(self) -> None:
        """The attempt is claimed: the task's streams show it running."""
        try:
            self.events.announce(self.task_id)
        except redis.RedisError as exc:
            log.warning("could not announce the attempt", extra={"error": str(exc)})

    def on_screenshot(self, shot: Screenshot, number: int) -> None:
        name = screenshot_name(number)
        storage = self.runtime.storage
        try:
            with metrics.S3_UPLOAD.time():
                storage.put_png(storage.key(self.task_id, self.attempt, name), shot.png)
        except StorageError as exc:
            log.warning("step screenshot upload failed", extra={"error": exc.message})
            return
        metrics.SCREENSHOTS.inc()
        metrics.SCREENSHOT_BYTES.inc(len(shot.png))
        self.uploaded.add(name)
        self._shot_of_step[shot.step] = name

    def on_step(self, step: StepRecord) -> None:
        metrics.STEPS.inc()
        event = StepEvent(
            attempt=self.attempt,
            index=step.index,
            action=step.action,
            url=step.url,
            ok=step.ok,
            error=step.error,
            duration_ms=step.duration_ms,
            screenshot=self._shot_of_step.get(step.index),
            node=self.node,
            at_ms=self.events.now_ms(),
        )
        try:
            self.events.add_step(self.task_id, event)
        except redis.RedisError as exc:
            log.warning("could not record a step event", extra={"error": str(exc)})

    def names(self) -> tuple[str, ...]:
        """The screenshots stored under this attempt, in the order they were taken."""
        return tuple(sorted(self.uploaded, key=screenshot_number))

    def discard_uploads(self) -> None:
        """The attempt lost a race or was stopped: its pictures are not kept (as a losing
        success's). A failed attempt's are: its task may show them."""
        if not self.uploaded:
            return
        storage = self.runtime.storage
        names = sorted(self.uploaded)
        try:
            storage.delete_keys([storage.key(self.task_id, self.attempt, n) for n in names])
        except StorageError:
            log.warning("could not delete a losing attempt's screenshots", exc_info=True)
