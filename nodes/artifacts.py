"""An attempt's artifacts beyond screenshots, kept in a directory of its own while it
runs and uploaded with its result: the files its page downloaded (nodes/downloads.py)
and its trace (nodes/recording.py).

The result document lists what was stored (names, sizes, content types) and what was
not (``files_error``, ``trace_error``); the gateway adds the URLs (gateway/files.py).
A losing attempt's uploads are deleted, as its screenshots are; a failed attempt's are kept
and listed by its report, for the failed task to show (nodes/attempt.py).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodes import metrics
from nodes.downloads import DownloadCollector
from nodes.recording import TraceRecorder
from nodes.scratch import scratch_dir
from shared.artifacts import StoredFile, artifact_part
from shared.errors import StorageError
from shared.storage import ScreenshotStorage

log = logging.getLogger(__name__)
# A trace of a long task with many pages can grow large; past this it is not uploaded
# (it is read into memory to be), and the payload says so.
MAX_TRACE_BYTES = 256 * 1024 * 1024


@dataclass
class AttemptArtifacts:
    """What one attempt downloaded and recorded, in ``directory`` until uploaded."""

    directory: Path
    downloads: DownloadCollector
    trace: TraceRecorder | None = None
    keys: list[str] = field(default_factory=list)  # what ``upload`` stored

    @classmethod
    def open(cls, *, watch_dir: Path | None, max_bytes: int, trace: bool) -> AttemptArtifacts:
        directory = Path(tempfile.mkdtemp(prefix="browsing-attempt-", dir=scratch_dir()))
        collector = DownloadCollector(watch_dir=watch_dir, save_dir=directory, max_bytes=max_bytes)
        return cls(
            directory=directory,
            downloads=collector,
            trace=TraceRecorder(directory) if trace else None,
        )

    def upload(self, storage: ScreenshotStorage, task_id: str, attempt: int) -> dict[str, Any]:
        """Store the files and the trace; the result document's fields that list them."""
        body: dict[str, Any] = {}
        problems = list(self.downloads.problems)
        if problems:
            metrics.DOWNLOADS_STOPPED.inc(len(problems))
        stored: list[dict[str, Any]] = []
        for captured in self.downloads.files:
            entry = StoredFile(
                name=captured.name, size=captured.size, content_type=captured.content_type
            )
            try:
                self._put(storage, task_id, attempt, entry, captured.path, kind="file")
            except (StorageError, OSError) as exc:
                log.error("download upload failed", extra={"task_id": task_id, "error": str(exc)})
                problems.append(f"{captured.name}: not stored ({exc})")
                continue
            stored.append(entry.to_dict())
        if stored:
            body["files"] = stored
        if problems:
            body["files_error"] = "; ".join(problems)
        if self.trace is not None:
            path = self.trace.path
            if path is None:
                body["trace_error"] = self.trace.error or "no trace was recorded"
            elif path.stat().st_size > MAX_TRACE_BYTES:
                body["trace_error"] = (
                    f"the trace was not stored: {path.stat().st_size} bytes, more than "
                    f"the {MAX_TRACE_BYTES} kept"
                )
            else:
                entry = StoredFile(
                    name=path.name, size=path.stat().st_size, content_type="application/zip"
                )
                try:
                    self._put(storage, task_id, attempt, entry, path, kind="trace")
                    body["trace"] = entry.to_dict()
                except (StorageError, OSError) as exc:
                    body["trace_error"] = f"the trace was not stored: {exc}"
        return body

    def _put(
        self,
        storage: ScreenshotStorage,
        task_id: str,
        attempt: int,
        entry: StoredFile,
        path: Path,
        *,
        kind: str,
    ) -> None:
        key = storage.key(task_id, attempt, artifact_part(entry.name))
        storage.put_file(key, path.read_bytes(), entry.content_type)
        self.keys.append(key)
        metrics.ARTIFACTS.labels(kind).inc()
        metrics.ARTIFACT_BYTES.labels(kind).inc(entry.size)

    def close(self) -> None:
        """Delete the attempt's copies, and what a download cut off by the context's
        close left in the browser's directory (one attempt at a time uses it)."""
        shutil.rmtree(self.directory, ignore_errors=True)
        self.downloads.discard_partials()
