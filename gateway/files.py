"""A task's artifacts beyond screenshots, as the gateway shows and serves them: the
files its page downloaded and its trace (shared/artifacts.py).

The node lists them in the result document by name; here they get their URLs, and
``GET /files/<task_id>/<name>`` finds the one asked for in the listing of the attempt
the task shows (the winner's, or a failed task's failure's).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response

from shared.artifacts import StoredFile, listed
from shared.errors import NotFoundError
from shared.records import TaskRecord
from shared.storage import StoredObject

# The route of ``gateway.api.artifact``, which serves these files.
FILE_URL = "/api/v1/browsing/files/{task_id}/{name}"
BAD_NAME = (
    "file not found: file names are letters, digits, '.', '-' and '_', "
    "not starting with '.' or '-', at most 100 characters"
)


def with_urls(task_id: str, document: dict[str, Any]) -> None:
    """Give each file, and the trace, of a result document its URL (in place)."""
    files = document.get("files")
    if isinstance(files, list):
        document["files"] = [
            {"name": f["name"], "url": FILE_URL.format(task_id=task_id, name=f["name"]), **f}
            for f in files
            if isinstance(f, dict) and isinstance(f.get("name"), str)
        ]
    trace = document.get("trace")
    if isinstance(trace, dict) and isinstance(trace.get("name"), str):
        url = FILE_URL.format(task_id=task_id, name=trace["name"])
        document["trace"] = {"name": trace["name"], "url": url, **trace}


def shown_listing(record: TaskRecord) -> dict[str, Any] | None:
    """The document that lists the files and trace of the attempt the task shows
    (``TaskRecord.shown_attempt``): a success's result document, or the listing a failed
    attempt's report kept; None when there is none."""
    shown = record.shown_attempt
    if shown is None:
        return None
    if not record.success:
        return shown.artifacts
    try:
        document = json.loads(record.payload or "")
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def shown_file(record: TaskRecord, name: str) -> tuple[int, StoredFile]:
    """The number of the attempt the task shows (the winner, or a failed task's failure)
    and its listing of ``name``; 404 when the task does not list that file (a loser's
    file, a name never stored, a task not finished)."""
    document = shown_listing(record)
    found = listed(document, name) if document is not None else None
    shown = record.shown_attempt
    if shown is None or found is None:
        raise NotFoundError(f"task {record.task_id} has no file {name}")
    return shown.number, found


def file_response(obj: StoredObject, stored: StoredFile) -> Response:
    """The file as an attachment, never rendered: a page's download may be HTML or
    script, and this is the API's own origin."""
    return Response(
        obj.body,
        mimetype=None,
        content_type=stored.content_type,
        headers={
            "Content-Length": str(obj.length),
            "Content-Disposition": f'attachment; filename="{stored.name}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )
