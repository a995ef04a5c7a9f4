"""The pure parts of idempotent submits and of the task list: the Idempotency-Key
header, the request fingerprint, and the list's cursor, limit and status parameters."""

from __future__ import annotations

import pytest

from gateway.idempotency import fingerprint, parse_header
from shared.errors import ValidationError
from shared.request import NodeFilter, ScreenshotPolicy, TaskRequest
from shared.tasklist import decode_cursor, encode_cursor, parse_limit, parse_statuses


def test_the_header_is_a_bare_token_or_a_structured_field_string():
    assert parse_header(None) is None
    assert parse_header("  abc-123  ") == "abc-123"
    assert parse_header('"abc-123"') == "abc-123"
    assert parse_header('"a \\"quoted\\" \\\\ key"') == 'a "quoted" \\ key'
    assert parse_header("k" * 255) == "k" * 255
    for bad, fragment in (
        ("", "empty"),
        ('""', "empty"),
        ("k" * 256, "256 characters"),
        ('"' + "k" * 254 + '"', "256 characters"),
        ("tab\there", "printable ASCII"),
        ("caf\u00e9", "printable ASCII"),
    ):
        with pytest.raises(ValidationError, match=fragment):
            parse_header(bad)


def test_the_fingerprint_is_that_of_the_normalized_request():
    base = TaskRequest(task="Open https://example.com", timeout_ms=300_000)
    same = TaskRequest(
        task="Open https://example.com",
        timeout_ms=300_000,
        screenshots=ScreenshotPolicy(),
        filter=NodeFilter(),
        fanout=1,
    )
    assert fingerprint(base) == fingerprint(same)
    for other in (
        TaskRequest(task="Open https://example.org", timeout_ms=300_000),
        TaskRequest(task="Open https://example.com", timeout_ms=60_000),
        TaskRequest(task="Open https://example.com", timeout_ms=300_000, fanout=2),
        TaskRequest(task="Open https://example.com", timeout_ms=300_000, session_key="s"),
        TaskRequest(
            task="Open https://example.com",
            timeout_ms=300_000,
            filter=NodeFilter(country_iso="DE"),
        ),
    ):
        assert fingerprint(other) != fingerprint(base), other


def test_cursors_round_trip_and_anything_else_is_refused():
    assert decode_cursor(encode_cursor("12")) == "12"
    assert "12" not in encode_cursor("12")  # opaque, and no padding to escape in a URL
    assert "=" not in encode_cursor("12345")
    for bad in ("", "12", "czE6", "czE6LTE", "web:" + "0" * 32, "%%%", "x" * 65, "czE6MTLDqQ"):
        with pytest.raises(ValidationError, match="invalid cursor"):
            decode_cursor(bad)


def test_limit_and_status_parameters():
    assert parse_limit(None) == 20
    assert parse_limit("1") == 1 and parse_limit("100") == 100
    for bad in ("0", "101", "-1", "", "1.5", "1e2", "٣"):
        with pytest.raises(ValidationError, match="invalid limit"):
            parse_limit(bad)
    assert parse_statuses(None) == () and parse_statuses("") == ()
    assert parse_statuses("queued, running,queued") == ("queued", "running")
    for bad in ("done", "queued,", "Queued"):
        with pytest.raises(ValidationError, match="invalid status"):
            parse_statuses(bad)
