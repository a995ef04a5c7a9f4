"""A Playwright trace of one attempt (``"record": {"trace": true}``).

Tracing belongs to a browser context, and a node hands each attempt a context of its
own (a warm one, never used before: nodes/runtime.py), so a trace is started right
after the context is taken and stopped before it closes: it holds this attempt only.
A trace that cannot be started or written never fails the task; the payload says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.sync_api import Error as PlaywrightError

from shared.artifacts import TRACE_NAME

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

log = logging.getLogger(__name__)


@dataclass
class TraceRecorder:
    """Started on ``context`` by ``start``; ``stop`` writes the zip into ``directory``."""

    directory: Path
    error: str | None = None
    path: Path | None = None
    _context: BrowserContext | None = None

    def start(self, context: BrowserContext) -> None:
        try:
            context.tracing.start(screenshots=True, snapshots=True, sources=False)
        except PlaywrightError as exc:
            self.error = f"the trace could not be started: {exc.message}"
            log.warning("trace not started", extra={"error": exc.message})
            return
        self._context = context

    def stop(self) -> Path | None:
        """Write the trace; None (and ``error``) when it could not be."""
        context, self._context = self._context, None
        if context is None:
            return None
        path = self.directory / TRACE_NAME
        try:
            context.tracing.stop(path=str(path))
        except PlaywrightError as exc:
            self.error = f"the trace could not be written: {exc.message}"
            log.warning("trace not written", extra={"error": exc.message})
            return None
        self.path = path
        return path

    def discard(self) -> None:
        """The attempt failed: nothing is kept (closing the context ends the trace)."""
        self._context = None
