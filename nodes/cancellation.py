"""Stop a cancelled attempt at once, even in the middle of a long Playwright call.

Cancellation is data (the attempt's state in Redis); the scheduler and gateway also
PUBLISH "<task_id> <attempt>" on ``browsing:cancel``. One watcher thread per pool child
listens there. On a match it closes the attempt's browser context on Playwright's own
event loop (Playwright objects are not thread-safe, but ``call_soon_threadsafe`` is),
so whatever call the agent is blocked in fails at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import redis
from redis.client import PubSub

from shared.records import AttemptState, TaskStore

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

log = logging.getLogger(__name__)
# Between agent steps the record itself is read at most this often, in case a
# PUBLISH was missed while the watcher was reconnecting.
RECHECK_INTERVAL_S = 0.5


class CancelWatcher:
    def __init__(self, store: TaskStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._current: tuple[str, int] | None = None
        self._context: BrowserContext | None = None
        self._cancelled = threading.Event()
        self._last_check = 0.0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._listen, name="cancel-watcher", daemon=True)
            self._thread.start()

    @contextlib.contextmanager
    def watch(self, task_id: str, attempt: int, context: BrowserContext) -> Iterator[None]:
        with self._lock:
            self._current, self._context = (task_id, attempt), context
            self._cancelled.clear()
            self._last_check = 0.0
        try:
            yield
        finally:
            with self._lock:
                self._current = self._context = None

    def cancelled(self) -> bool:
        """For the agent, between steps: the event, or now and then the record itself."""
        if self._cancelled.is_set():
            return True
        now = time.monotonic()
        current = self._current
        if current is not None and now - self._last_check >= RECHECK_INTERVAL_S:
            self._last_check = now
            if self.store.attempt_state(*current) != AttemptState.RUNNING:
                self._cancelled.set()
        return self._cancelled.is_set()

    def _on_cancel(self, task_id: str, attempt: int) -> None:
        with self._lock:
            if self._current != (task_id, attempt) or self._context is None:
                return
            self._cancelled.set()
            context = self._context
        impl = context._impl_obj  # the async object behind the sync wrapper
        loop = context._loop

        async def close() -> None:
            try:
                await impl.close(reason="the attempt was cancelled")
            except Exception as exc:  # already closing, or the browser is gone
                log.info("closing a cancelled context failed: %s", exc)

        # Runs on the thread that owns the context, the next instant its loop turns.
        loop.call_soon_threadsafe(lambda: loop.create_task(close()))
        log.info("attempt cancelled; closing its context", extra={"task_id": task_id})

    def _listen(self) -> None:
        backoff = 0.1
        while True:
            pubsub: PubSub | None = None
            try:
                pubsub = self.store.cancellations()
                backoff = 0.1
                for message in pubsub.listen():
                    task_id, _, attempt = str(message["data"]).partition(" ")
                    if attempt.isdigit():
                        self._on_cancel(task_id, int(attempt))
            except redis.RedisError as exc:
                log.warning("cancel watcher lost Redis: %s", exc)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(redis.RedisError):
                        pubsub.close()
            time.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
