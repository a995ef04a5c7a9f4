"""Retention: screenshots, downloaded files and traces are served 5 days, swept after
that where the store ignores lifecycle rules, and task records expire after their TTL.

Time is moved with a controllable clock given to the gateway and the sweeper. The sweeper
tests use a moto S3 server over HTTP and a real Redis; the screenshot window is checked on
a screenshot a real task took on the session cluster.
"""

from __future__ import annotations

import json
import time

import pytest
import redis

from gateway import create_app
from gateway.services import GatewayServices
from shared import keys
from shared import storage as storage_module
from shared.artifacts import TRACE_NAME, artifact_part
from shared.config import load_settings
from shared.storage import LIFECYCLE_RULE_ID, ScreenshotStorage
from tests.conftest import ALICE

DAY_S = 86_400


class Clock:
    """Real time plus an offset the test moves."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset_s


@pytest.fixture()
def storage(s3_env, request) -> ScreenshotStorage:
    bucket = "r-" + request.node.name.replace("_", "-")[:40].lower()
    return ScreenshotStorage(load_settings(s3_env, s3_bucket=bucket))


def test_the_sweeper_deletes_only_screenshots_older_than_five_days(storage):
    young = storage.key("web:young", 1, "screenshot-01.png")
    old = [storage.key("web:old", 1, f"screenshot-0{i}.png") for i in (1, 2)]
    for key in [young, *old]:
        storage.put_png(key, b"\x89PNG")
    storage.client.put_object(Bucket=storage.bucket, Key="other/keep.txt", Body=b"x")
    # moto stamps objects with the real time; the sweeper is asked about later moments.
    now = time.time()
    assert storage.sweep_expired(now + 4 * DAY_S) == []
    assert sorted(storage.sweep_expired(now + 6 * DAY_S, dry_run=True)) == sorted([young, *old])
    left = storage.client.list_objects_v2(Bucket=storage.bucket)["Contents"]
    assert len(left) == 4  # a dry run deletes nothing
    assert sorted(storage.sweep_expired(now + 6 * DAY_S)) == sorted([young, *old])
    left = [o["Key"] for o in storage.client.list_objects_v2(Bucket=storage.bucket)["Contents"]]
    assert left == ["other/keep.txt"]  # only the screenshot prefix is swept


def test_downloaded_files_and_traces_expire_with_the_screenshots(storage):
    """They are stored under the attempt's prefix (shared/artifacts.py), which the
    lifecycle rule covers and the sweeper sweeps."""
    keys = [
        storage.key("web:old", 1, "screenshot-01.png"),
        storage.key("web:old", 1, artifact_part("report_2026.csv")),
        storage.key("web:old", 1, artifact_part(TRACE_NAME)),
    ]
    for key in keys:
        storage.put_file(key, b"data", "application/octet-stream")
    rules = storage.client.get_bucket_lifecycle_configuration(Bucket=storage.bucket)["Rules"]
    rule = next(r for r in rules if r["ID"] == LIFECYCLE_RULE_ID)
    assert rule["Expiration"] == {"Days": 5}
    assert all(key.startswith(rule["Filter"]["Prefix"]) for key in keys)
    now = time.time()
    assert storage.sweep_expired(now + 4 * DAY_S) == []
    assert sorted(storage.sweep_expired(now + 6 * DAY_S)) == sorted(keys)
    assert storage.client.list_objects_v2(Bucket=storage.bucket).get("Contents") is None


def test_every_retained_prefix_gets_a_lifecycle_rule_and_is_swept(storage, monkeypatch):
    # A feature storing outside the screenshot prefix (uploads, say) registers its prefix.
    monkeypatch.setattr(storage_module, "RETAINED_PREFIXES", ("uploads/",))
    screenshot = storage.key("web:old", 1, "screenshot-01.png")
    upload = "uploads/alice/u1/report.pdf"
    storage.put_png(screenshot, b"\x89PNG")
    storage.put_file(upload, b"%PDF", "application/pdf")
    storage.client.put_object(Bucket=storage.bucket, Key="other/keep.txt", Body=b"x")
    rules = {
        r["ID"]: r
        for r in storage.client.get_bucket_lifecycle_configuration(Bucket=storage.bucket)["Rules"]
    }
    assert rules[LIFECYCLE_RULE_ID]["Filter"] == {"Prefix": "screenshots/"}
    assert rules[f"{LIFECYCLE_RULE_ID}:uploads/"]["Filter"] == {"Prefix": "uploads/"}
    assert rules[f"{LIFECYCLE_RULE_ID}:uploads/"]["Expiration"] == {"Days": 5}
    assert sorted(storage.sweep_expired(time.time() + 6 * DAY_S)) == [screenshot, upload]
    left = [o["Key"] for o in storage.client.list_objects_v2(Bucket=storage.bucket)["Contents"]]
    assert left == ["other/keep.txt"]


def test_the_sweeper_tolerates_a_bucket_that_does_not_exist_yet(storage):
    assert storage.sweep_expired(time.time() + 30 * DAY_S) == []


def test_a_screenshot_is_404_after_five_days_even_if_the_object_still_exists(cluster, api, sites):
    body = api.post(
        "/api/v1/browsing/sync",
        {
            "task": f"Open {sites}/index.html and return the title",
            "screenshots": {"mode": "final_only"},
        },
    ).json()
    assert body["status"] == "completed", body
    task_id = body["task_id"]
    url = json.loads(body["payload"])["screenshots"][0]["url"]
    path = url[url.index("/api/") :]

    clock = Clock()
    settings = load_settings(cluster.env)
    app = create_app(settings, GatewayServices.build(settings, clock=clock))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {ALICE}"}

    clock.offset_s = 5 * DAY_S - 60  # a minute before the end of day 5: still served
    fresh = client.get(path, headers=auth)
    assert fresh.status_code == 200 and fresh.data.startswith(b"\x89PNG")

    clock.offset_s = 5 * DAY_S + 60
    expired = client.get(path, headers=auth)
    assert expired.status_code == 404
    assert expired.get_json() == {"error": "screenshot expired: files are kept 5 days"}
    # The object is still in the store (no lifecycle run yet): the gateway refuses anyway.
    storage = ScreenshotStorage(settings)
    attempt = api.status(task_id)["info"]["attempts"][0]["attempt"]
    name = path.rsplit("/", 1)[1]
    assert b"".join(storage.open(storage.key(task_id, attempt, name)).body).startswith(b"\x89PNG")

    # A finished task's record expires after the documented TTL (7 days).
    r = redis.Redis.from_url(cluster.redis_url)
    ttl = r.ttl(keys.task(task_id))
    assert settings.task_record_ttl_s - 120 < ttl <= settings.task_record_ttl_s == 7 * DAY_S


def test_the_scheduler_sweeps_once_per_interval(s3_env, redis_url, storage):
    from scheduler.dispatch import Dispatcher
    from scheduler.maintenance import Maintenance
    from shared.records import TaskStore
    from shared.registry import NodeRegistry
    from shared.services import redis_client

    settings = load_settings(
        s3_env, redis_url=redis_url, s3_bucket=storage.bucket, retention_sweep_interval_s=3600
    )
    clock = Clock()
    client = redis_client(settings)
    store = TaskStore(client, record_ttl_s=60, clock=clock)
    registry = NodeRegistry(client)
    dispatcher = Dispatcher(
        app=None,  # type: ignore[arg-type] - sweeping publishes nothing
        store=store,
        registry=registry,
        settings=settings,
    )
    maintenance = Maintenance(
        store=store,
        registry=registry,
        settings=settings,
        dispatcher=dispatcher,
        interval_s=1,
        storage=storage,
    )
    first, second = (storage.key(f"web:s{i}", 1, "screenshot-01.png") for i in (1, 2))

    def stored() -> list[str]:
        listing = storage.client.list_objects_v2(Bucket=storage.bucket)
        return [o["Key"] for o in listing.get("Contents", ())]

    storage.put_png(first, b"\x89PNG")
    clock.offset_s = 6 * DAY_S
    maintenance.sweep_screenshots()
    assert stored() == []
    storage.put_png(second, b"\x89PNG")
    clock.offset_s += 3000  # within the hour: no second sweep yet
    maintenance.sweep_screenshots()
    assert stored() == [second]
    clock.offset_s += 700
    maintenance.sweep_screenshots()
    assert stored() == []


def test_sessions_browser_states_have_a_lifecycle_rule_of_their_ttl(s3_env):
    """A sealed state lives under its own prefix for BROWSING_SESSION_STATE_TTL_S (the
    sweeper deletes it to the second); the store's own rule, in whole days, backs that up
    and leaves the states alone for the screenshots' 5 days."""
    settings = load_settings(s3_env, s3_bucket="r-session-rule", session_state_ttl_s=9 * DAY_S + 1)
    storage = ScreenshotStorage(settings)
    storage.put_png(storage.key("web:t", 1, "screenshot-01.png"), b"\x89PNG")
    rules = {
        r["ID"]: r
        for r in storage.client.get_bucket_lifecycle_configuration(Bucket=storage.bucket)["Rules"]
    }
    rule = rules[f"{LIFECYCLE_RULE_ID}:{settings.session_state_prefix}"]
    assert rule["Filter"] == {"Prefix": "browser-state/"}
    assert rule["Expiration"] == {"Days": 10}
    assert rules[LIFECYCLE_RULE_ID]["Expiration"] == {"Days": 5}
