"""A request's ``output_schema`` at submit: checked with jsonschema, a clear 400 when it
is not a usable JSON Schema, and kept in the task record when it is, and shown in the
status's ``request`` (the gateway's app on a real Redis; no node runs the tasks)."""

from __future__ import annotations

import json

import pytest
import redis

from browsing.client import task_request
from shared import keys
from tests.conftest import ALICE, bearer

ASYNC = "/api/v1/browsing/async"
STATUS = "/api/v1/browsing/status"
PRICE = {"type": "object", "properties": {"price": {"type": "number"}}, "required": ["price"]}


@pytest.mark.parametrize(
    ("schema", "error"),
    [
        ({"type": "objekt"}, "output_schema is not a valid JSON Schema at type: 'objekt' is not"),
        (
            {"type": "object", "properties": {"price": {"minimum": "ten"}}},
            "output_schema is not a valid JSON Schema at properties/price/minimum: 'ten' is not",
        ),
        ({"required": "price"}, "output_schema is not a valid JSON Schema at required"),
        ("a price", "output_schema must be a JSON Schema object"),
        ([PRICE], "output_schema must be a JSON Schema object"),
        (
            {"type": "object", "description": "x" * 17_000},
            "output_schema is too large: 17034 bytes, at most 16384",
        ),
    ],
)
def test_an_invalid_output_schema_is_a_clear_400(client, schema, error) -> None:  # noqa: ANN001
    resp = client.post(
        ASYNC, json={"task": "Open a.test", "output_schema": schema}, headers=bearer(ALICE)
    )
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["error"].startswith(error), resp.get_json()


def test_a_valid_schema_is_kept_in_the_record_and_none_is_not(client, redis_url) -> None:  # noqa: ANN001
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    submitted, shown = {}, {}
    for name, extra in (("with", {"output_schema": PRICE}), ("without", {"output_schema": None})):
        body = task_request("Open a.test", **extra)
        resp = client.post(ASYNC, json=body, headers=bearer(ALICE))
        assert resp.status_code == 200, resp.get_json()
        task_id = resp.get_json()["task_id"]
        submitted[name] = json.loads(store.hget(keys.task(task_id), "request"))
        status = client.get(f"{STATUS}?task_id={task_id}", headers=bearer(ALICE))
        shown[name] = status.get_json()["request"]  # what "run again" submits
    assert submitted["with"]["output_schema"] == PRICE
    assert "output_schema" not in submitted["without"]
    assert shown["with"]["output_schema"] == PRICE
    assert "output_schema" not in shown["without"]
