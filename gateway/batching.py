"""Group commit: the writes a submit must see done before it is answered (its record in
Redis, its dispatch message to the scheduler) are done for many requests at once.

Requests that arrive while a write is in flight wait for the next one, which carries all
of their items: alone, a request is written at once in a batch of one; under load, one
Redis round trip or one Celery publish serves dozens of requests.

One sender thread per instance and process (a greenlet under gunicorn's gevent worker),
started on first use so that a forked worker starts its own.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class _Batch(Generic[T]):
    """Items sent together, and the one outcome all their submitters wait for."""

    __slots__ = ("items", "done", "error")

    def __init__(self) -> None:
        self.items: list[T] = []
        self.done = threading.Event()
        self.error: BaseException | None = None


class GroupCommit(Generic[T]):
    def __init__(self, send: Callable[[list[T]], None], *, name: str, max_batch: int = 100) -> None:
        self.send = send
        self.name = name
        self.max_batch = max_batch
        self._ready = threading.Condition()
        self._batches: deque[_Batch[T]] = deque()  # not yet sent, oldest first
        self._sender_pid: int | None = None

    @property
    def pending(self) -> int:
        """Items waiting for a send (not counting the one in flight)."""
        with self._ready:
            return sum(len(batch.items) for batch in self._batches)

    def commit(self, item: T, timeout_s: float = 30.0) -> None:
        """Return once a batch carrying ``item`` is sent; raise what sending it raised
        otherwise, or TimeoutError. An item that times out before the sender took its batch
        is withdrawn and never sent; one whose batch was being sent may still be."""
        with self._ready:
            self._ensure_sender()
            if not self._batches or len(self._batches[-1].items) >= self.max_batch:
                self._batches.append(_Batch())
                self._ready.notify()
            batch = self._batches[-1]
            batch.items.append(item)
        if not batch.done.wait(timeout_s):
            with self._ready:
                if batch in self._batches:  # not taken by the sender yet: withdraw the item
                    batch.items.pop(next(i for i, x in enumerate(batch.items) if x is item))
                    if not batch.items:
                        self._batches.remove(batch)
                    raise TimeoutError(f"{self.name}: not sent within {timeout_s:g} s")
            raise TimeoutError(f"{self.name}: not done within {timeout_s:g} s")
        if batch.error is not None:
            raise batch.error

    def _ensure_sender(self) -> None:
        if self._sender_pid != os.getpid():  # first use, or a fork copied a dead thread
            self._sender_pid = os.getpid()
            self._batches = deque()
            threading.Thread(target=self._run, name=self.name, daemon=True).start()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._batches:
                    self._ready.wait()
                batch = self._batches.popleft()
            try:
                self.send(batch.items)
            except Exception as exc:  # each submitter raises it and decides what to do
                batch.error = exc
            batch.done.set()
