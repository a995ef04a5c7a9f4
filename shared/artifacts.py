"""Artifacts of a task beyond screenshots: the files its page downloaded and its trace.

They are stored under the winning attempt's own prefix, beside its screenshots, in a
``files/`` part (``screenshots/<task_id>/<attempt>/files/<name>``), so the lifecycle
rule, the sweeper and the 5-day window that cover screenshots cover them too. A name
comes from a web page (``Content-Disposition``, the URL), so it is rewritten to a strict
pattern before it is used as a key, and the gateway serves only names of that pattern
that the task's record lists.

The node writes what it stored into the result document it reports (``files`` and
``trace``, names with sizes and content types); the gateway, which owns the routes,
adds the URLs when it answers (gateway/files.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Letters, digits, dot, dash and underscore; not starting with a dot or a dash (no
# hidden file, no "..", nothing a shell reads as an option).
ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}\Z")
MAX_NAME_CHARS = 100
TRACE_NAME = "trace.zip"  # reserved: a download of that name is stored as trace-2.zip
FALLBACK_NAME = "download"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def artifact_part(name: str) -> str:
    """The part of an attempt's prefix an artifact is stored under."""
    return f"files/{name}"


def safe_name(suggested: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A name matching ``ARTIFACT_NAME`` for a page's suggested file name, not among
    ``taken`` (nor the reserved trace name): unsafe runs become "_", leading dots and
    dashes go, the stem is cut to fit with its extension, and a repeat gets -2, -3 ..."""
    base = suggested.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).lstrip(".-")
    base = re.sub(r"_{2,}", "_", base).strip("_") or FALLBACK_NAME
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem:
        stem, ext = base, ""
    stem = stem.strip("_-.") or FALLBACK_NAME
    ext = ext.strip("_")[:16]
    suffix = f".{ext}" if ext else ""
    reserved = set(taken) | {TRACE_NAME}
    for n in range(1, 10_000):
        tail = "" if n == 1 else f"-{n}"
        name = stem[: MAX_NAME_CHARS - len(suffix) - len(tail)] + tail + suffix
        if name not in reserved and ARTIFACT_NAME.match(name):
            return name
    raise ValueError("no free name")  # 10,000 files of one name: never in practice


@dataclass(frozen=True, kw_only=True)
class StoredFile:
    """An artifact as the record lists it."""

    name: str
    size: int
    content_type: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "content_type": self.content_type}


def listed(document: dict[str, Any], name: str) -> StoredFile | None:
    """The artifact ``name`` a result document lists (a file or the trace), if any."""
    entries = [*(document.get("files") or ()), document.get("trace") or {}]
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == name:
            return StoredFile(
                name=name,
                size=int(entry.get("size") or 0),
                content_type=str(entry.get("content_type") or "application/octet-stream"),
            )
    return None
