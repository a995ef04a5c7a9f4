"""Files a page downloads during an attempt: caught, capped, and kept for the upload.

The context accepts downloads (nodes/browser.py) and Chromium writes each into the
process's downloads directory, as ``<uuid>.crdownload`` while it runs. Playwright tells
no size until a download is over, so the collector watches that directory: a partial
file past ``BROWSING_MAX_DOWNLOAD_BYTES`` stops that download (cancel, then the partial
file is deleted) while the others run on, and the task goes on and says so. A finished
download is copied into the attempt's own directory under a safe name
(shared/artifacts.py), since Playwright deletes its copies with the context.

The agent asks after each step (``settle``), so a step that downloaded can report the
file, and so the next step starts with the downloads of the last one finished.
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.sync_api import Error as PlaywrightError

from shared.artifacts import safe_name

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Download, Page

log = logging.getLogger(__name__)

MAX_FILES = 20  # per attempt; later downloads are stopped
POLL_MS = 50
# With nothing in flight in the directory for this long, the downloads not yet seen
# finishing have failed (or are about to finish): their outcome is asked for.
QUIET_MS = 300
PARTIAL = ".crdownload"


@dataclass(frozen=True, kw_only=True)
class CapturedFile:
    name: str  # safe, unique in the attempt
    path: Path  # the attempt's own copy
    size: int
    content_type: str
    url: str

    def describe(self) -> str:
        return f"downloaded {self.name} ({self.size} bytes, {self.content_type})"


def content_type_of(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def _partial_name(download: Download) -> str | None:
    """The name of the file Chromium writes ``download`` into while it runs: the name of
    the file Playwright will give it, plus PARTIAL. Read from Playwright's own record of
    the download (as its video class reads the same field); None if it is not there."""
    try:
        path = download._impl_obj._artifact._initializer["absolutePath"]  # type: ignore[attr-defined]
    except (AttributeError, KeyError, TypeError):
        return None
    return Path(path).name + PARTIAL


def pause(page: Page, ms: float = POLL_MS) -> None:
    """Let Playwright's events in for ``ms``; the tab may have closed (a download opened
    in a new tab closes it), and then the time passes all the same."""
    try:
        page.wait_for_timeout(ms)
    except PlaywrightError:
        time.sleep(ms / 1000)


class DownloadCollector:
    """The downloads of one attempt. ``watch_dir``: where Chromium writes them (None:
    unknown, and a download is only measured once finished); ``save_dir``: the
    attempt's directory that keeps the finished files; ``max_bytes`` 0: downloads off."""

    def __init__(self, *, watch_dir: Path | None, save_dir: Path, max_bytes: int) -> None:
        self.watch_dir = watch_dir
        self.save_dir = save_dir
        self.max_bytes = max_bytes
        self.files: list[CapturedFile] = []
        self.problems: list[str] = []  # what was stopped or lost, for files_error
        self._pending: list[Download] = []
        self._early: list[str] = []  # lines of downloads kept by enforce_cap
        self._reported = 0  # problems already given as lines by settle
        self._seen: dict[str, int] = {}  # what was there before
        self._context: BrowserContext | None = None

    def attach(self, context: BrowserContext) -> None:
        self._context = context
        self._seen = self._listing()
        for page in context.pages:
            page.on("download", self._on_download)
        context.on("page", self._watch)

    def detach(self) -> None:
        context, self._context = self._context, None
        if context is None:
            return
        with contextlib.suppress(Exception):
            context.remove_listener("page", self._watch)
            for page in context.pages:
                page.remove_listener("download", self._on_download)

    def _watch(self, page: Page) -> None:
        page.on("download", self._on_download)

    def _on_download(self, download: Download) -> None:
        self._pending.append(download)

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def started_in(self, page: Page) -> bool:
        """Whether a download not yet settled started in ``page``."""
        return any(d.page == page for d in self._pending)

    def _listing(self) -> dict[str, int]:
        if self.watch_dir is None:
            return {}
        sizes = {}
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.watch_dir):
                with contextlib.suppress(OSError):
                    sizes[entry.name] = entry.stat().st_size
        return sizes

    def settle(self, page: Page, left_ms: Callable[[], float]) -> list[str]:
        """Wait for the downloads started so far to finish or be stopped (at most
        ``left_ms()``, the task's time); returns a line for each, for the step's result."""
        lines = self._settle(page, left_ms) if self._pending else []
        lines, self._early = self._early + lines, []
        stopped = [f"download stopped: {p}" for p in self.problems[self._reported :]]
        self._reported = len(self.problems)
        return lines + stopped

    def enforce_cap(self) -> None:
        """Stop a download as soon as it passes the cap, without waiting for the others:
        for the time between the steps that settle downloads (a long wait, a planner's
        call), in which a page can download on its own. The next ``settle`` reports what
        was stopped or kept."""
        if not self._pending or self.watch_dir is None or self.max_bytes <= 0:
            return
        too_big = [
            name
            for name, size in self._listing().items()
            if name.endswith(PARTIAL) and size > self.max_bytes
        ]
        if too_big:
            self._early.extend(self._stop_too_big(too_big))

    def _settle(self, page: Page, left_ms: Callable[[], float]) -> list[str]:
        if self.max_bytes <= 0:
            return self._stop_all("downloads are off on this node (BROWSING_MAX_DOWNLOAD_BYTES=0)")
        lines: list[str] = []
        quiet_since = time.monotonic()
        while self._pending and self.watch_dir is not None:
            listing = self._listing()
            partial = {n: s for n, s in listing.items() if n.endswith(PARTIAL)}
            finished = [n for n in listing if not n.endswith(PARTIAL) and n not in self._seen]
            too_big = [n for n, size in partial.items() if size > self.max_bytes]
            if too_big:
                lines.extend(self._stop_too_big(too_big))
                if not self._pending:
                    return lines
                continue
            if partial:
                quiet_since = time.monotonic()
            elif len(finished) >= len(self._pending):
                break
            elif (time.monotonic() - quiet_since) * 1000 >= QUIET_MS:
                break
            if left_ms() <= POLL_MS:
                return self._stop_all("not finished when the task's time ran out")
            pause(page)
        for download in self._take():
            line = self._keep(download)
            if line:
                lines.append(line)
        self._seen = self._listing()
        return lines

    def discard_partials(self) -> None:
        """Delete the partial files left in the downloads directory (Chromium leaves
        one for each download it did not finish: cancelled, or cut off by a close)."""
        for name in self._listing():
            if name.endswith(PARTIAL) and self.watch_dir is not None:
                with contextlib.suppress(OSError):
                    (self.watch_dir / name).unlink()

    def _stop_too_big(self, too_big: list[str]) -> list[str]:
        """Stop the downloads whose partial files (``too_big``) are past the cap; the
        others run on. Where a partial file cannot be told to a download (Playwright
        does not say which file is whose), all the downloads in flight are stopped."""
        why = f"larger than {self.max_bytes} bytes (BROWSING_MAX_DOWNLOAD_BYTES)"
        by_partial = {_partial_name(d): d for d in self._pending}
        if not all(name in by_partial for name in too_big):
            return self._stop_all(why, partial_files=too_big)
        doomed = [by_partial[name] for name in too_big]
        running = [d for d in self._pending if d not in doomed]
        self._pending = doomed  # what _stop_all stops
        try:
            return self._stop_all(why, partial_files=too_big)
        finally:
            self._pending = running

    def _take(self) -> list[Download]:
        taken, self._pending = self._pending, []
        return taken

    def _stop_all(self, why: str, partial_files: tuple[str, ...] | list[str] = ()) -> list[str]:
        """Cancel the downloads in flight (``why`` goes to ``problems``); those that had
        finished meanwhile are kept, and their lines returned."""
        lines = []
        for download in self._take():
            name = safe_name(download.suggested_filename)
            try:
                download.cancel()
                failure = download.failure()
            except PlaywrightError:
                failure = "canceled"
            if failure is None:  # it had finished already: keep it
                line = self._keep(download)
                lines.extend([line] if line else [])
                continue
            self.problems.append(f"{name}: {why}")
            with contextlib.suppress(PlaywrightError):
                download.delete()
        for partial in partial_files:
            assert self.watch_dir is not None
            with contextlib.suppress(OSError):
                (self.watch_dir / partial).unlink()
        self._seen = self._listing()
        return lines

    def _keep(self, download: Download) -> str | None:
        name = safe_name(download.suggested_filename, {f.name for f in self.files})
        try:
            failure = download.failure()
            if failure is not None:
                self.problems.append(f"{name}: the download failed ({failure})")
                return None
            size = os.path.getsize(download.path())
            if size > self.max_bytes:
                self.problems.append(
                    f"{name}: larger than {self.max_bytes} bytes (BROWSING_MAX_DOWNLOAD_BYTES)"
                )
                return None
            if len(self.files) >= MAX_FILES:
                self.problems.append(f"{name}: more than {MAX_FILES} files in one task")
                return None
            target = self.save_dir / name
            download.save_as(target)
        except (PlaywrightError, OSError) as exc:
            log.warning("could not keep a download", extra={"error": str(exc)})
            self.problems.append(f"{name}: could not be kept ({exc})")
            return None
        finally:
            with contextlib.suppress(PlaywrightError):
                download.delete()
        kept = CapturedFile(
            name=name,
            path=target,
            size=size,
            content_type=content_type_of(name),
            url=download.url,
        )
        self.files.append(kept)
        return kept.describe()
