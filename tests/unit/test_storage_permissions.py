"""A bucket whose lifecycle rules the service may not manage (a role limited to objects):
files are stored all the same. botocore's Stubber stands in for S3's answers."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from shared.config import load_settings
from shared.errors import StorageError
from shared.storage import ScreenshotStorage

ENV = {
    "BROWSING_S3_ENDPOINT_URL": "http://127.0.0.1:9",
    "BROWSING_S3_ACCESS_KEY_ID": "k",
    "BROWSING_S3_SECRET_ACCESS_KEY": "s",
}


def _storage_denied(code: str) -> tuple[ScreenshotStorage, Stubber]:
    storage = ScreenshotStorage(load_settings(ENV, s3_bucket="b"))
    stub = Stubber(storage.client)
    stub.add_response("head_bucket", {}, {"Bucket": "b"})
    stub.add_client_error(
        "get_bucket_lifecycle_configuration", service_error_code=code, http_status_code=403
    )
    return storage, stub


def test_no_permission_for_the_lifecycle_rules_still_stores_files(caplog):
    storage, stub = _storage_denied("AccessDenied")
    stub.add_response("put_object", {})
    with stub:
        storage.put_png("screenshots/web:x/1/screenshot-01.png", b"\x89PNG")
    stub.assert_no_pending_responses()
    assert "cannot manage the lifecycle rules of bucket 'b' (AccessDenied)" in caplog.text


def test_other_errors_preparing_the_bucket_still_fail_clearly():
    storage, stub = _storage_denied("InternalError")
    with stub, pytest.raises(StorageError, match="cannot prepare bucket 'b'"):
        storage.ensure_bucket()
