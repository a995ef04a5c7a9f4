"""The OpenAPI document the gateway serves is valid OpenAPI 3.0 (no process needed)."""

from __future__ import annotations

import json
from pathlib import Path

DOCUMENT = Path(__file__).resolve().parents[2] / "gateway" / "openapi.json"


def test_openapi_document_is_valid_openapi_3_0():
    from openapi_spec_validator import validate

    validate(json.loads(DOCUMENT.read_text()))
