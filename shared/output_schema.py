"""Structured output: a request's ``output_schema`` (a JSON Schema) and checking data
against it.

The gateway checks the schema itself at submit (``parse_output_schema``: a JSON object
of at most ``MAX_SCHEMA_BYTES``, valid for its draft, Draft 2020-12 when it names
none), so that a broken schema is a 400 rather than a task that fails on a node. The
node checks what the planner produced against it (``mismatch``): the LLM planner's
``done`` data, with the error sent back to the model; the rules planner's extracted
JSON. Remote ``$ref``s are never fetched (jsonschema retrieves nothing by default).
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import exceptions, validators
from jsonschema.exceptions import best_match

from shared.errors import ValidationError

MAX_SCHEMA_BYTES = 16 * 1024
# How much of a validation error the model or the user is shown.
ERROR_CHARS = 300


def parse_output_schema(raw: Any) -> dict[str, Any] | None:
    """The request's ``output_schema``, checked; None when absent (or null)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValidationError(
            'output_schema must be a JSON Schema object, e.g. {"type": "object", '
            '"properties": {"price": {"type": "number"}}}'
        )
    size = len(json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_SCHEMA_BYTES:
        raise ValidationError(
            f"output_schema is too large: {size} bytes, at most {MAX_SCHEMA_BYTES}"
        )
    try:
        validators.validator_for(raw).check_schema(raw)
    except exceptions.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        at = f" at {where}" if where else ""
        raise ValidationError(
            f"output_schema is not a valid JSON Schema{at}: {exc.message[:ERROR_CHARS]}"
        ) from None
    return raw


def mismatch(schema: dict[str, Any], data: Any) -> str | None:
    """Why ``data`` does not match ``schema`` (the most relevant error, with where in the
    data it is), or None when it matches."""
    validator = validators.validator_for(schema)(schema)
    try:
        error = best_match(validator.iter_errors(data))
    except Exception as exc:  # an unresolvable $ref, say: the schema cannot be applied
        return f"the output schema could not be applied: {exc}"[:ERROR_CHARS]
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return (f"at {where}: " if where else "") + error.message[:ERROR_CHARS]


def json_values(text: str) -> list[Any]:
    """The JSON documents in a run's result: the whole text, else each of its
    blank-line-separated parts (extract results are joined that way), latest first."""
    parts = [text] + list(reversed(text.split("\n\n")))
    values = []
    for part in parts:
        try:
            values.append(json.loads(part))
        except ValueError:
            continue
    return values
