"""Progress on stderr for the task commands: a status line and download bars."""

from __future__ import annotations

import shutil
import threading
import time
from typing import Any, TextIO

TTY_REDRAW_S = 0.2
BAR_WIDTH = 30


class StatusLine:
    """A task's progress on ``stream``: the status transitions and the elapsed seconds,
    rewritten in place on a terminal (a thread keeps the seconds ticking), one line per
    transition otherwise. While the task is queued, its queue position counts down in
    the same step on a terminal ("queued (position 12)"), a line per change otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.steps: list[str] = []
        self.node: str | None = None
        self.status: str | None = None
        self._width = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)

    def __enter__(self) -> StatusLine:
        if self.tty:
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker.is_alive():
            self._ticker.join()
        with self._lock:
            if self.tty and self._width:
                self.stream.write("\n")
                self.stream.flush()
                self._width = 0

    def note(self, text: str) -> None:
        """A line of its own, above the progress line."""
        with self._lock:
            if self.tty and self._width:
                self.stream.write("\r" + " " * self._width + "\r")
            self.stream.write(text + "\n")
            self._draw()

    def change(self, step: str, node: str | None = None, *, update: bool = False) -> None:
        """A new step; ``update``: the same step with news (it replaces the last one)."""
        with self._lock:
            if update and self.steps:
                self.steps[-1] = step
            else:
                self.steps.append(step)
            self.node = node or self.node
            if self.tty:
                self._draw()
            else:
                where = f" on {node}" if node else ""
                self.stream.write(f"[{self._elapsed_s():7.1f} s] {step}{where}\n")
                self.stream.flush()

    def on_status(self, body: dict[str, Any]) -> None:
        status = str(body.get("status"))
        node = (body.get("info") or {}).get("node_uid")
        step = status
        position = body.get("queue_position")
        if status == "queued" and isinstance(position, int):
            step = f"queued (position {position})"
        self.change(step, node if status != "queued" else None, update=status == self.status)
        self.status = status

    def _elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def _tick(self) -> None:
        while not self._stop.wait(TTY_REDRAW_S):
            with self._lock:
                self._draw()

    def _draw(self) -> None:
        if not self.tty or not self.steps:
            return
        where = f" on {self.node}" if self.node else ""
        line = f"{' -> '.join(self.steps)}{where}  {self._elapsed_s():.1f} s"
        room = shutil.get_terminal_size().columns - 1  # a wrapped line cannot be redrawn
        if len(line) > room:
            line = "..." + line[len(line) - room + 3 :]
        self.stream.write("\r" + line + " " * max(0, self._width - len(line)))
        self.stream.flush()
        self._width = len(line)


class DownloadBars:
    """One text progress bar per file on ``stream``: redrawn as chunks arrive on a
    terminal, written once per finished file otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.current: tuple[str, int, int | None] | None = None

    def update(self, name: str, done: int, total: int | None) -> None:
        if self.current is not None and self.current[0] != name:
            self.finish()
        self.current = (name, done, total)
        if self.tty:
            self.stream.write("\r" + self._bar(*self.current))
            self.stream.flush()

    def finish(self) -> None:
        if self.current is not None:
            self.stream.write(("\r" if self.tty else "") + self._bar(*self.current) + "\n")
            self.stream.flush()
            self.current = None

    @staticmethod
    def _bar(name: str, done: int, total: int | None) -> str:
        if not total:
            return f"{name} {done / 1024:.1f} KiB"
        filled = BAR_WIDTH * min(done, total) // total
        return (
            f"{name} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
            f"{done / 1024:.1f}/{total / 1024:.1f} KiB"
        )
