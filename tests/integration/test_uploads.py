"""Uploads at the gateway: POST /uploads stores the file for its owner only, and a task's
``uploads`` must name the caller's own, unexpired uploads.

On the gateway's Flask app (``create_app()``) through Flask's test client, against a
real Redis and a real (moto) S3 server in a bucket of this module's own, so what is
stored is read back from S3 itself. The upload cap is set low (64 KiB) to test it
without big bodies. A controllable clock moves time past the 5 days.
"""

from __future__ import annotations

import io
import time

import boto3
import pytest
from werkzeug.test import TestResponse

from gateway import create_app
from gateway.services import GatewayServices
from shared.config import load_settings
from shared.records import TaskStore
from shared.services import redis_client
from tests.conftest import ALICE, BOB, bearer

UPLOADS = "/api/v1/browsing/uploads"
ASYNC = "/api/v1/browsing/async"
TASKS = "/api/v1/browsing/tasks"
BUCKET = "uploads-test"
CAP = 64 * 1024
DAY_S = 86_400
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


class Clock:
    """Real time plus an offset the test moves."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset_s


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def settings(gateway_env):
    return load_settings(gateway_env, s3_bucket=BUCKET, max_upload_bytes=CAP)


@pytest.fixture(scope="module")
def app(settings, clock):
    return create_app(settings, GatewayServices.build(settings, clock=clock))


@pytest.fixture()
def s3(settings):
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key,
    )


@pytest.fixture(autouse=True)
def reset_clock(clock: Clock):
    clock.offset_s = 0.0
    yield
    clock.offset_s = 0.0


def stored_keys(s3) -> list[str]:  # noqa: ANN001 - a boto3 client
    try:
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="screenshots/uploads/")
    except s3.exceptions.NoSuchBucket:
        return []
    return [o["Key"] for o in listed.get("Contents", ())]


def upload(client, data: bytes, name: str = "report.pdf", key: str = ALICE, **kw) -> TestResponse:  # noqa: ANN001
    return client.post(
        UPLOADS,
        data={"file": (io.BytesIO(data), name, kw.pop("content_type", "application/pdf"))},
        content_type="multipart/form-data",
        headers=bearer(key),
    )


def assert_error(resp: TestResponse, status: int, fragment: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.get_json()
    assert list(body) == ["error"], body
    assert fragment in body["error"], body


def task_count(client, key: str = ALICE) -> int:  # noqa: ANN001
    resp = client.get(TASKS, headers=bearer(key))
    assert resp.status_code == 200, resp.text
    return len(resp.get_json()["tasks"])


def test_an_upload_is_stored_under_the_prefix_and_its_id_returned(client, s3, settings):
    resp = upload(client, PDF)
    assert resp.status_code == 201, resp.text
    body = resp.get_json()
    assert body["id"].startswith("up_") and len(body["id"]) == 35
    assert body["name"] == "report.pdf"
    assert body["size"] == len(PDF)
    assert body["content_type"] == "application/pdf"
    assert body["expires_at"].endswith("Z")
    keys = [k for k in stored_keys(s3) if k.endswith(body["id"])]
    assert len(keys) == 1
    key = keys[0]
    # Under the screenshot prefix (the lifecycle rule and sweeper cover it), with no
    # user name in it.
    assert key.startswith(settings.s3_prefix + "uploads/") and "alice" not in key
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == PDF
    # The owner can read its metadata back; another user cannot see it exists.
    mine = client.get(f"{UPLOADS}/{body['id']}", headers=bearer(ALICE))
    assert mine.status_code == 200 and mine.get_json() == {
        **body,
        "created_at": mine.get_json()["created_at"],
    }
    assert_error(client.get(f"{UPLOADS}/{body['id']}", headers=bearer(BOB)), 404, "not found")


def test_an_oversized_upload_is_413_and_nothing_is_stored(client, s3):
    before = stored_keys(s3)
    # Just past the cap: the body fits the request limit, the file does not.
    assert_error(upload(client, b"x" * (CAP + 1)), 413, "BROWSING_MAX_UPLOAD_BYTES")
    # Far past it: refused while reading the body.
    assert_error(upload(client, b"x" * (CAP * 4)), 413, "BROWSING_MAX_UPLOAD_BYTES")
    assert stored_keys(s3) == before
    # A file of exactly the cap is taken.
    assert upload(client, b"y" * CAP).status_code == 201
    # The small limit of every other route stands.
    big = {"task": "Open https://example.com " + "x" * 300_000}
    assert_error(client.post(ASYNC, json=big, headers=bearer(ALICE)), 413, "too large")


def test_a_missing_file_part_is_400_and_a_body_that_is_not_multipart_is_415(client, s3):
    before = stored_keys(s3)
    resp = client.post(
        UPLOADS,
        data={"other": (io.BytesIO(b"abc"), "a.txt")},
        content_type="multipart/form-data",
        headers=bearer(ALICE),
    )
    assert_error(resp, 400, "missing file")
    resp = client.post(
        UPLOADS, data={"file": "abc"}, content_type="multipart/form-data", headers=bearer(ALICE)
    )
    assert_error(resp, 400, "not a file")
    resp = client.post(UPLOADS, json={"file": "abc"}, headers=bearer(ALICE))
    assert_error(resp, 415, "multipart/form-data")
    assert_error(client.post(UPLOADS, data=b"", headers=bearer(ALICE)), 415, "multipart")
    assert stored_keys(s3) == before
    assert_error(upload(client, PDF, key="not-a-key"), 401, "invalid API key")


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b", "..", "/etc/passwd", "dir/"])
def test_names_with_path_parts_are_400_and_nothing_is_stored(client, s3, name):
    before = stored_keys(s3)
    assert_error(upload(client, PDF, name=name), 400, "path parts")
    assert stored_keys(s3) == before


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("my report (1).pdf", "my_report_1_.pdf"),
        (".bashrc", "bashrc"),
        ("r\u00e9sum\u00e9.txt", "r_sum_.txt"),
        ("x" * 200 + ".csv", "x" * 124 + ".csv"),
    ],
)
def test_names_are_kept_in_a_safe_form(client, name, kept):
    resp = upload(client, b"data", name=name)
    assert resp.status_code == 201, resp.text
    assert resp.get_json()["name"] == kept


@pytest.mark.parametrize("name", ["...", "\u00e9\u00e9", "   "])
def test_names_with_nothing_usable_are_400(client, s3, name):
    before = stored_keys(s3)
    resp = upload(client, PDF, name=name)
    assert resp.status_code == 400, resp.text
    assert "file name" in resp.get_json()["error"] or "missing file" in resp.get_json()["error"]
    assert stored_keys(s3) == before


def test_a_task_can_list_its_owners_uploads(client, settings):
    up = upload(client, PDF).get_json()
    resp = client.post(
        ASYNC,
        json={"task": "Open https://example.com", "uploads": [up["id"]]},
        headers=bearer(ALICE),
    )
    assert resp.status_code == 200, resp.text
    store = TaskStore(redis_client(settings), record_ttl_s=60)
    record = store.get(resp.get_json()["task_id"])
    assert record is not None
    assert [(u.id, u.name) for u in record.request.uploads] == [(up["id"], "report.pdf")]


def test_an_unknown_upload_id_is_404_naming_it_and_no_task_is_stored(client):
    before = task_count(client)
    unknown = "up_" + "0" * 32
    resp = client.post(
        ASYNC,
        json={"task": "Open https://example.com", "uploads": [unknown]},
        headers=bearer(ALICE),
    )
    assert_error(resp, 404, unknown)
    assert task_count(client) == before


def test_another_users_upload_id_is_404_and_no_task_is_stored(client):
    bobs = upload(client, PDF, key=BOB).get_json()["id"]
    before = task_count(client)
    resp = client.post(
        ASYNC, json={"task": "Open https://example.com", "uploads": [bobs]}, headers=bearer(ALICE)
    )
    assert_error(resp, 404, bobs)
    assert task_count(client) == before


@pytest.mark.parametrize(
    ("uploads", "fragment"),
    [
        ("up_x", "must be a list"),
        (["../../etc/passwd"], "is not an upload id"),
        ([1], "is not an upload id"),
        (["up_" + "a" * 32] * 2, "twice"),
        ([f"up_{i:032x}" for i in range(11)], "at most 10"),
    ],
)
def test_malformed_upload_lists_are_400(client, uploads, fragment):
    before = task_count(client)
    resp = client.post(
        ASYNC, json={"task": "Open https://example.com", "uploads": uploads}, headers=bearer(ALICE)
    )
    assert_error(resp, 400, fragment)
    assert task_count(client) == before


def test_two_uploads_of_one_name_in_a_task_are_400(client):
    first = upload(client, b"one").get_json()["id"]
    second = upload(client, b"two").get_json()["id"]
    resp = client.post(
        ASYNC,
        json={"task": "Open https://example.com", "uploads": [first, second]},
        headers=bearer(ALICE),
    )
    assert_error(resp, 400, "report.pdf")


def test_an_upload_expires_after_five_days(client, clock):
    up = upload(client, PDF).get_json()
    clock.offset_s = 5 * DAY_S - 60
    assert client.get(f"{UPLOADS}/{up['id']}", headers=bearer(ALICE)).status_code == 200
    clock.offset_s = 5 * DAY_S + 60
    assert_error(client.get(f"{UPLOADS}/{up['id']}", headers=bearer(ALICE)), 404, "expired")
    before = task_count(client)
    resp = client.post(
        ASYNC,
        json={"task": "Open https://example.com", "uploads": [up["id"]]},
        headers=bearer(ALICE),
    )
    assert_error(resp, 404, "expired")
    assert task_count(client) == before


def test_the_retention_sweep_deletes_uploads_older_than_five_days(client, s3, settings):
    from shared.storage import ScreenshotStorage

    up = upload(client, PDF).get_json()
    key = next(k for k in stored_keys(s3) if k.endswith(up["id"]))
    storage = ScreenshotStorage(settings)
    # The bucket's lifecycle rule covers it too, on stores that apply one.
    rules = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    covering = [r for r in rules if key.startswith(r["Filter"]["Prefix"])]
    assert [r["Expiration"]["Days"] for r in covering] == [5]
    assert key not in storage.sweep_expired(time.time() + 4 * DAY_S, dry_run=True)
    assert key in storage.sweep_expired(time.time() + 6 * DAY_S)
    assert key not in stored_keys(s3)
    assert_error(client.get(f"{UPLOADS}/{up['id']}", headers=bearer(ALICE)), 404, "not found")
