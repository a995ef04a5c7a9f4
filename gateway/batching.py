"""Group commit for dispatch messages.

Every submit needs a message to the scheduler before it is answered, and a Celery
publish costs more than the rest of the request. Requests that arrive while a publish is
in flight wait for the next one, which carries all of their task ids at once: alone, a
request is sent at once in a batch of one; under load, one publish serves dozens.

One sender thread per process (a greenlet under gunicorn's gevent worker), started on
first use so that a forked worker starts its own.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class _Waiter:
    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None


class DispatchBatcher:
    def __init__(self, send: Callable[[list[str]], None], *, max_batch: int = 100) -> None:
        self.send = send
        self.max_batch = max_batch
        self._ready = threading.Condition()
        self._pending: list[tuple[str, _Waiter]] = []
        self._sender_pid: int | None = None

    def dispatch(self, task_id: str, timeout_s: float = 30.0) -> None:
        """Return once a message carrying ``task_id`` is published; raise what the
        publish raised (or TimeoutError) otherwise."""
        waiter = _Waiter()
        with self._ready:
            self._ensure_sender()
            self._pending.append((task_id, waiter))
            self._ready.notify()
        if not waiter.done.wait(timeout_s):
            raise TimeoutError(f"dispatch of {task_id} not published within {timeout_s:g} s")
        if waiter.error is not None:
            raise waiter.error

    def _ensure_sender(self) -> None:
        if self._sender_pid != os.getpid():  # first use, or a fork copied a dead thread
            self._sender_pid = os.getpid()
            self._pending = []
            threading.Thread(target=self._run, name="dispatch-batcher", daemon=True).start()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._pending:
                    self._ready.wait()
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
            error: BaseException | None = None
            try:
                self.send([task_id for task_id, _ in batch])
            except Exception as exc:  # each waiter raises it and decides what to do
                error = exc
            for _, waiter in batch:
                waiter.error = error
                waiter.done.set()
