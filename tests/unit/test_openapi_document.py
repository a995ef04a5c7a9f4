"""The OpenAPI document the gateway serves is valid OpenAPI 3.0 (no process needed)."""

from __future__ import annotations

import json
from pathlib import Path

DOCUMENT = Path(__file__).resolve().parents[2] / "gateway" / "openapi.json"


def test_openapi_document_is_valid_openapi_3_0():
    from openapi_spec_validator import validate

    validate(json.loads(DOCUMENT.read_text()))


def test_submits_document_429_with_retry_after_and_status_documents_queue_position():
    doc = json.loads(DOCUMENT.read_text())
    limited = doc["components"]["responses"]["TooManyRequests"]
    assert limited["headers"]["Retry-After"]["required"] is True
    assert limited["headers"]["Retry-After"]["schema"]["type"] == "integer"
    schema = limited["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Error"}
    for path in ("/api/v1/browsing/async", "/api/v1/browsing/sync"):
        responses = doc["paths"][path]["post"]["responses"]
        assert responses["429"] == {"$ref": "#/components/responses/TooManyRequests"}, path
    status = doc["components"]["schemas"]["TaskStatus"]
    assert status["properties"]["queue_position"]["type"] == "integer"
    assert "queue_position" not in status["required"]  # only while queued
