"""Structured log lines: JSON objects, with the bound task id on every line."""

from __future__ import annotations

import io
import json
import logging

from shared.logs import JsonFormatter, TaskIdFilter, task_logging


def capture() -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(TaskIdFilter())
    logger = logging.getLogger(f"test-logs-{id(out)}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, out


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_lines_are_json_with_the_bound_task_id_and_extra_fields():
    logger, out = capture()
    logger.info("before")
    with task_logging("web:abc"):
        logger.info("claimed %s", "it", extra={"attempt": 2})
        with task_logging("web:inner"):
            logger.warning("nested")
        logger.info("after nested")
    logger.info("after")
    first, claimed, nested, after_nested, after = lines(out)
    assert "task_id" not in first and "task_id" not in after
    assert claimed["task_id"] == "web:abc" and claimed["attempt"] == 2
    assert claimed["msg"] == "claimed it" and claimed["level"] == "info"
    assert nested["task_id"] == "web:inner" and after_nested["task_id"] == "web:abc"
    assert claimed["ts"].endswith("+00:00")


def test_an_explicit_task_id_wins_and_exceptions_are_kept():
    logger, out = capture()
    with task_logging("web:bound"):
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed", extra={"task_id": "web:explicit"})
    (line,) = lines(out)
    assert line["task_id"] == "web:explicit"
    assert "ValueError: boom" in line["exc"] and line["level"] == "error"
