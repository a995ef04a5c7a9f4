"""Group commit: the writes a submit must see done before it is answered (its record in
Redis, its dispatch message to the scheduler) are done for many requests at once.

Requests that arrive while a write is in flight wait for the next one, which carries all
of their items: alone, a request is written at once in a batch of one; under load, one
Redis round trip or one Celery publish serves dozens of requests.

One sender thread per instance and process (a greenlet under gunicorn's gevent worker),
started on first use so that a forked worker starts its own.

A batch has one deadline, kept by the submitter that opened it: the others wait without a
timer of their own. Under gevent a timed wait costs a timer per request, a third of what
the whole wait costs, and the items of one batch arrive within one write of each other.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class _Batch(Generic[T]):
    """Items sent together, and the one outcome all their submitters wait for."""

    __slots__ = ("items", "done", "error", "taken", "results")

    def __init__(self) -> None:
        self.items: list[T] = []
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.taken = False  # the sender has it: its items can no longer be withdrawn
        self.results: list[Any] | None = None  # what ``send`` answered for each item


class GroupCommit(Generic[T]):
    def __init__(
        self,
        send: Callable[[list[T]], list[Any] | None],
        *,
        name: str,
        max_batch: int = 100,
        timeout_s: float = 30.0,
    ) -> None:
        self.send = send
        self.name = name
        self.max_batch = max_batch
        self.timeout_s = timeout_s
        self._ready = threading.Condition()
        self._batches: deque[_Batch[T]] = deque()  # not yet sent, oldest first
        self._sender_pid: int | None = None
        self._sender: threading.Thread | None = None

    @property
    def pending(self) -> int:
        """Items waiting for a send (not counting the one in flight)."""
        with self._ready:
            return sum(len(batch.items) for batch in self._batches)

    def commit(self, item: T) -> Any:
        """Return once a batch carrying ``item`` is sent, with what ``send`` answered for
        the item (None if it answered nothing); raise what sending it raised
        otherwise, or TimeoutError when the batch was not sent within ``timeout_s`` of its
        first item. A batch that times out before the sender took it is withdrawn and none
        of its items is sent; one that was being sent may still be."""
        with self._ready:
            self._ensure_sender()
            opened = not self._batches or len(self._batches[-1].items) >= self.max_batch
            if opened:
                self._batches.append(_Batch())
                self._ready.notify()
            batch = self._batches[-1]
            index = len(batch.items)
            batch.items.append(item)
        if not opened:
            batch.done.wait()  # the submitter that opened the batch keeps its deadline
        else:
            try:
                batch.done.wait(self.timeout_s)
            finally:  # also when this submitter is killed: the others must not hang
                if not batch.done.is_set():
                    self._expire(batch)
        if batch.error is not None:
            raise batch.error
        return batch.results[index] if batch.results is not None else None

    def _expire(self, batch: _Batch[T]) -> None:
        """Fail every submitter of ``batch`` with TimeoutError; withdraw it if not taken."""
        with self._ready:
            if batch.done.is_set():
                return
            if not batch.taken:
                self._batches.remove(batch)
                batch.error = TimeoutError(f"{self.name}: not sent within {self.timeout_s:g} s")
            else:
                batch.error = TimeoutError(f"{self.name}: not done within {self.timeout_s:g} s")
            batch.done.set()

    def _ensure_sender(self) -> None:
        if self._sender_pid != os.getpid():  # first use, or a fork copied a dead thread
            self._sender_pid = os.getpid()
            self._batches = deque()
            self._sender = None
        if self._sender is None or not self._sender.is_alive():  # or it died: start anew
            self._sender = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._sender.start()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._batches:
                    self._ready.wait()
            # Yield once before taking the batch: requests already received (greenlets
            # or threads ready to run) join it first. Alone, this costs one turn of the
            # event loop; under load (the submit bench) it made batches larger and cut
            # the CPU per request across gateway, scheduler and Redis by 7 %.
            time.sleep(0)
            with self._ready:
                if not self._batches:  # expired meanwhile
                    continue
                batch = self._batches.popleft()
                batch.taken = True
            error: BaseException | None = None
            try:
                batch.results = self.send(batch.items)
            except Exception as exc:  # each submitter raises it and decides what to do
                error = exc
            except BaseException as exc:
                # The sender itself is being ended (a greenlet killed, an exit): its
                # batch fails at once, and the next commit starts another sender.
                with self._ready:
                    self._sender = None  # the next commit starts another, even before
                    if not batch.done.is_set():  # this thread has finished ending
                        batch.error = RuntimeError(f"{self.name}: the sender stopped: {exc!r}")
                        batch.done.set()
                raise
            with self._ready:
                if not batch.done.is_set():  # not expired meanwhile
                    batch.error = error
                    batch.done.set()
