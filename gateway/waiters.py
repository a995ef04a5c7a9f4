"""One completion listener per gateway process, waking the /sync requests that wait.

Nodes and the scheduler PUBLISH a task id on ``browsing:done`` when a task ends. A
single subscriber thread (a greenlet under gevent) fans that out to in-process events,
so thousands of waiters cost one Redis connection and no polling.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict

import redis
from redis.client import PubSub

from shared.records import TaskStore

log = logging.getLogger(__name__)


class CompletionListener:
    def __init__(self, store: TaskStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._waiters: dict[str, set[threading.Event]] = defaultdict(set)
        self._subscribed = threading.Event()
        self._thread: threading.Thread | None = None

    def _ensure_running(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="completion-listener", daemon=True
                )
                self._thread.start()
        # Wait until SUBSCRIBE is confirmed so no completion published after this is missed.
        self._subscribed.wait(timeout=5)

    def register(self, task_id: str) -> threading.Event:
        self._ensure_running()
        event = threading.Event()
        with self._lock:
            self._waiters[task_id].add(event)
        return event

    def unregister(self, task_id: str, event: threading.Event) -> None:
        with self._lock:
            waiters = self._waiters.get(task_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[task_id]

    def _wake(self, task_id: str | None) -> None:
        with self._lock:
            if task_id is None:  # after a reconnect every waiter re-reads its record
                events = [e for group in self._waiters.values() for e in group]
            else:
                events = list(self._waiters.get(task_id, ()))
        for event in events:
            event.set()

    def _run(self) -> None:
        backoff = 0.1
        while True:
            pubsub: PubSub | None = None
            try:
                pubsub = self.store.completions()
                for message in pubsub.listen():
                    if message["type"] == "subscribe":
                        self._subscribed.set()
                        self._wake(None)  # anything finished while we were away
                        backoff = 0.1
                    elif message["type"] == "message":
                        self._wake(message["data"])
            except redis.RedisError as exc:
                log.warning("completion listener lost Redis: %s", exc)
            finally:
                self._subscribed.clear()
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except redis.RedisError:
                        pass
            threading.Event().wait(backoff)
            backoff = min(backoff * 2, 5.0)
