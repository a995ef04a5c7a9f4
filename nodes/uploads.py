"""A task's uploads as local files, for the browser to put into file inputs.

Playwright's ``set_input_files`` reads a path, and the name the page receives is that
path's last part, so each upload is written to ``<temp dir>/<upload id>/<name>``
before the agent runs; the whole directory goes when the attempt ends, whatever
happened.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from nodes.scratch import scratch_dir
from shared.errors import NotFoundError, StorageError, UploadUnavailable
from shared.storage import ScreenshotStorage
from shared.uploads import UploadRef, UploadStore

log = logging.getLogger(__name__)


@contextlib.contextmanager
def staged_uploads(
    storage: ScreenshotStorage, owner: str, uploads: Sequence[UploadRef]
) -> Iterator[dict[str, Path]]:
    """The task's uploads as {name: local path}, removed on exit; none: no directory."""
    if not uploads:
        yield {}
        return
    store = UploadStore(storage)
    directory = Path(tempfile.mkdtemp(prefix="browsing-uploads-", dir=scratch_dir()))
    try:
        files: dict[str, Path] = {}
        for ref in uploads:
            path = directory / ref.id / ref.name
            path.parent.mkdir()
            try:
                store.download(owner, ref.id, path)
            except NotFoundError as exc:
                raise UploadUnavailable(
                    f"upload {ref.id} ({ref.name}) is no longer stored: uploads are kept "
                    f"{storage.retention_days} days"
                ) from exc
            except StorageError as exc:
                log.warning("could not fetch an upload", extra={"error": exc.message})
                raise UploadUnavailable(
                    f"upload {ref.id} ({ref.name}) could not be fetched: the storage failed"
                ) from exc
            files[ref.name] = path
        yield files
    finally:
        shutil.rmtree(directory, ignore_errors=True)
