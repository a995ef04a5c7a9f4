"""Structured logs: one JSON object per line, with the task id on every line about a task.

A component binds the task it works on (``with task_logging(task_id):``); every record
logged meanwhile, by our code, Celery or a library, carries ``task_id``. Fields passed
with ``extra=`` become keys of the object. ``BROWSING_LOG_FORMAT=text`` (Settings'
``log_format``, which callers pass in) gives plain lines.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timezone

_task_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


@contextlib.contextmanager
def task_logging(task_id: str) -> Iterator[None]:
    token = _task_id.set(task_id)
    try:
        yield
    finally:
        _task_id.reset(token)


class TaskIdFilter(logging.Filter):
    """Adds the bound task id to records that do not name one themselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "task_id", None) is None:
            bound = _task_id.get()
            if bound is not None:
                record.task_id = bound
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "process": record.process,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def handler(log_format: str = "json") -> logging.Handler:
    """A stderr handler writing ``log_format`` lines: "json" or "text"."""
    out = logging.StreamHandler()
    if log_format == "text":
        out.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        out.setFormatter(JsonFormatter())
    out.addFilter(TaskIdFilter())
    return out


def bind(task_id: str) -> None:
    """Bind a task id to the current context until ``unbind`` (a request's lifetime)."""
    _task_id.set(task_id)


def unbind() -> None:
    _task_id.set(None)


def configure(level: str | int = "INFO", log_format: str = "json") -> None:
    """Send every logger's records to one structured handler on stderr."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(log_format))
    root.setLevel(level)
    # Celery's per-message lines name its own message ids, not our task ids, and our
    # components log each attempt's claim and outcome with the task id instead.
    for name in ("celery.worker.strategy", "celery.app.trace"):
        logging.getLogger(name).setLevel(logging.WARNING)
