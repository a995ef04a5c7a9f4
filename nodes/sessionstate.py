"""A task's browser state on the node: loaded into its context when it starts, saved
when it succeeds (shared/sessionstate.py says where and how it is kept).

The order of one attempt of a task with a ``session_key``:
1. ``SessionRun.begin``: the session's latest state is read through the index, its
   object's age checked against ``BROWSING_SESSION_STATE_TTL_S`` and opened; the
   context is created from it (``storage_state``). The attempt's note says so.
2. ``capture``, before the context closes: ``context.storage_state()`` (IndexedDB too).
3. ``stage``, before the success is reported: sealed and written under an object name
   of this attempt's own, and noted on the attempt. A fanout loser's object is never
   read: only the winner's note reaches the index, in the step that ends the task.
4. ``settle``, once the report is answered: the winner deletes the object it started
   from (the session's previous state); a loser deletes what it staged.

A failed task saves nothing: the session keeps the state it had. A state that cannot
be loaded or saved (the bucket unavailable, another key) never fails the task: the
task runs from a fresh context and its ``info.session`` says why.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis

from shared.errors import StorageError
from shared.sessionstate import (
    SessionIndex,
    StateStorage,
    StateUnreadable,
    parse_state_key,
    seal,
    unseal,
)

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

    from nodes.runtime import NodeRuntime
    from shared.records import TaskRecord

log = logging.getLogger(__name__)

NO_KEY = "BROWSING_STATE_KEY is not set on this node: browser state is neither loaded nor saved"
# A state past this (IndexedDB can hold hundreds of MB) is not saved: it would be read,
# sealed, uploaded and loaded whole in memory by every task of the session.
MAX_STATE_BYTES = 10 * 1024 * 1024


@dataclass
class SessionServices:
    """A node process's session clients, built on first use (after fork)."""

    key: bytes | None = field(repr=False)
    index: SessionIndex
    state: StateStorage
    ttl_s: int

    @classmethod
    def build(cls, runtime: NodeRuntime) -> SessionServices:
        settings = runtime.settings
        return cls(
            key=parse_state_key(settings.state_key),
            index=SessionIndex(runtime.store.redis),
            state=StateStorage(
                runtime.storage, settings.session_state_prefix, settings.session_state_ttl_s
            ),
            ttl_s=settings.session_state_ttl_s,
        )


def _brief(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return text.splitlines()[0][:300]


@dataclass
class SessionRun:
    """One attempt's dealings with its session's browser state."""

    services: SessionServices
    record: TaskRecord
    attempt: int
    node: str
    note: dict[str, Any] = field(default_factory=dict)
    # What the context starts from, and the state at its end (cookies: never in a repr).
    storage_state: dict[str, Any] | None = field(default=None, repr=False)
    loaded_from: str = ""  # the object it was read from
    captured: bytes | None = field(default=None, repr=False)  # JSON, not sealed yet
    captured_ms: int = 0  # when it was read
    staged: str = ""  # the object this attempt wrote

    @property
    def owner(self) -> str:
        return self.record.owner

    @property
    def session_key(self) -> str:
        assert self.record.request.session_key is not None
        return self.record.request.session_key

    @classmethod
    def begin(
        cls, services: SessionServices, record: TaskRecord, attempt: int, node: str
    ) -> SessionRun | None:
        """The attempt's session run, its state loaded; None when the task has no
        session_key or opted out (``session_persist`` false: nothing to note, the
        request says it)."""
        request = record.request
        if request.session_key is None or not request.session_persist:
            return None
        run = cls(services, record, attempt, node)
        if services.key is None:
            run.note = {"persist": False, "reason": NO_KEY}
        else:
            run.note = {"persist": True, "loaded": False}
            run._load()
        run._write_note()
        return run

    @property
    def active(self) -> bool:
        return self.services.key is not None

    def _load(self) -> None:
        services = self.services
        assert services.key is not None
        now_s = time.time()
        try:
            entry = services.index.get(self.owner, self.session_key, int(now_s * 1000))
            if entry is None:
                return
            found = services.state.get(entry.object_key)
            if found is None:
                self.note["load_error"] = "the saved state is gone from storage"
                return
            blob, written_s = found
            if now_s - written_s > services.ttl_s:
                return  # expired: the index's clock and the store's disagree; the store wins
            document = json.loads(unseal(services.key, self.owner, self.session_key, blob))
            if now_s * 1000 - int(document["saved_ms"]) > services.ttl_s * 1000:
                return
            state = document["state"]
            if not isinstance(state, dict):
                raise ValueError("the state is not an object")
        except (
            StorageError,
            redis.RedisError,
            StateUnreadable,
            ValueError,
            KeyError,
            TypeError,
        ) as exc:
            log.warning(
                "could not load a session's browser state",
                extra={"task_id": self.record.task_id, "error": _brief(exc)},
            )
            self.note["load_error"] = f"could not load the saved state: {_brief(exc)}"
            return
        self.storage_state = state
        self.loaded_from = entry.object_key
        self.note.update(loaded=True, loaded_saved_ms=entry.updated_ms)

    def capture(self, context: BrowserContext) -> None:
        """Read the context's state before it closes; a failure is noted, not raised."""
        if not self.active:
            return
        try:
            try:
                state = context.storage_state(indexed_db=True)
            except TypeError:  # a Playwright before 1.51 has no indexed_db
                state = context.storage_state()
            self.captured_ms = int(time.time() * 1000)
            document = {"saved_ms": self.captured_ms, "state": state}
            captured = json.dumps(document, separators=(",", ":")).encode()
            if len(captured) > MAX_STATE_BYTES:
                self.note["save_error"] = (
                    f"the browser state is {len(captured)} bytes, over the "
                    f"{MAX_STATE_BYTES} a session keeps: not saved"
                )
                return
            self.captured = captured
        except Exception as exc:  # the context may be gone (a crash): keep the result
            self.note["save_error"] = f"could not read the browser state: {_brief(exc)}"

    def stage(self) -> None:
        """Seal the captured state and write it under this attempt's own object name;
        note it on the attempt, for the index once the task is won."""
        services = self.services
        if not self.active or self.captured is None:
            if self.active:
                self._write_note()
            return
        assert services.key is not None
        record = self.record
        object_key = services.state.object_key(
            self.owner, self.session_key, record.task_id, self.attempt
        )
        saved_ms = self.captured_ms
        try:
            blob = seal(services.key, self.owner, self.session_key, self.captured)
            services.state.put(object_key, blob)
        except StorageError as exc:
            log.warning(
                "could not save a session's browser state",
                extra={"task_id": record.task_id, "error": exc.message},
            )
            self.note["save_error"] = f"could not save the browser state: {exc.message}"
            self._write_note()
            return
        self.staged = object_key
        self.note.update(
            object=object_key,
            session_key=self.session_key,
            saved_ms=saved_ms,
            expires_ms=saved_ms + services.ttl_s * 1000,
            size=len(blob),
        )
        if not self._write_note():
            self.settle("fenced")

    def settle(self, outcome: str) -> None:
        """After the report: the winner's staged state is the session's now (the index
        says so), so the one it started from goes; a loser's goes itself."""
        if not self.staged:
            return
        doomed = self.loaded_from if outcome == "won" else self.staged
        if outcome != "won":
            self.staged = ""
        if not doomed or doomed == self.staged:
            return
        try:
            self.services.state.delete([doomed])
        except StorageError:
            log.warning("could not delete a session's older browser state", exc_info=True)

    def _write_note(self) -> bool:
        """False if the attempt was fenced meanwhile, or Redis did not take the note: a
        state not noted never reaches the index, and the task's result is reported
        anyway (``report`` waits out a Redis outage; this note does not)."""
        try:
            return self.services.index.note(self.record.task_id, self.attempt, self.node, self.note)
        except redis.RedisError as exc:
            log.warning(
                "could not note a session's browser state",
                extra={"task_id": self.record.task_id, "error": _brief(exc)},
            )
            return False
