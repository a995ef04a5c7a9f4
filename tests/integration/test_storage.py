"""Screenshot storage against the moto S3 server over HTTP."""

from __future__ import annotations

import pytest

from shared.config import load_settings
from shared.errors import NotFoundError
from shared.storage import LIFECYCLE_RULE_ID, ScreenshotStorage


@pytest.fixture()
def storage(s3_env, request) -> ScreenshotStorage:
    bucket = "t-" + request.node.name.replace("_", "-")[:40].lower()
    return ScreenshotStorage(load_settings(s3_env, s3_bucket=bucket))


def test_bucket_is_created_with_a_five_day_rule_merged_into_existing_rules(storage):
    client = storage.client
    client.create_bucket(Bucket=storage.bucket)
    other = {
        "ID": "keep-logs",
        "Filter": {"Prefix": "logs/"},
        "Status": "Enabled",
        "Expiration": {"Days": 30},
    }
    client.put_bucket_lifecycle_configuration(
        Bucket=storage.bucket, LifecycleConfiguration={"Rules": [other]}
    )
    storage.ensure_bucket()
    rules = {
        r["ID"]: r
        for r in client.get_bucket_lifecycle_configuration(Bucket=storage.bucket)["Rules"]
    }
    assert rules["keep-logs"]["Expiration"]["Days"] == 30
    ours = rules[LIFECYCLE_RULE_ID]
    assert ours["Expiration"]["Days"] == 5 and ours["Filter"]["Prefix"] == "screenshots/"


def test_bucket_is_created_on_first_upload(storage):
    key = storage.key("web:abc", 1, "screenshot-01.png")
    storage.put_png(key, b"\x89PNG fake")
    assert key == "screenshots/web:abc/1/screenshot-01.png"
    obj = storage.open(key)
    assert b"".join(obj.body) == b"\x89PNG fake" and obj.length == len(b"\x89PNG fake")
    # The screenshots' rule, and the sessions' browser states' (their own TTL).
    assert [
        r["ID"]
        for r in storage.client.get_bucket_lifecycle_configuration(Bucket=storage.bucket)["Rules"]
    ] == [LIFECYCLE_RULE_ID, f"{LIFECYCLE_RULE_ID}:browser-state/"]


def test_missing_object_is_not_found(storage):
    storage.ensure_bucket()
    with pytest.raises(NotFoundError):
        storage.open("screenshots/web:none/1/screenshot-01.png")


def test_a_bucket_outside_us_east_1_is_created_in_its_region(s3_env):
    """AWS refuses a create_bucket without the region's LocationConstraint outside
    us-east-1 (IllegalLocationConstraintException; moto's server too), so a deployment
    in eu-central-1 never became ready."""
    settings = load_settings(s3_env, s3_bucket="t-region-eu-central-1", s3_region="eu-central-1")
    storage = ScreenshotStorage(settings)
    storage.put_png(storage.key("web:eu", 1, "screenshot-01.png"), b"\x89PNG eu")
    where = storage.client.get_bucket_location(Bucket=storage.bucket)["LocationConstraint"]
    assert where == "eu-central-1"
    again = ScreenshotStorage(settings)  # another process, the bucket there: no error
    again.ensure_bucket()
