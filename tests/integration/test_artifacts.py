"""Artifacts beyond screenshots on a real cluster: the files a page downloads, capped by
BROWSING_MAX_DOWNLOAD_BYTES, and a Playwright trace with ``"record": {"trace": true}``;
both listed in the payload, served to their owner only by GET /files/{task_id}/{name},
and refused after the 5-day window (README, "Downloads" and "Traces").

One cluster for the module: two nodes (one process each) whose downloads are capped at
200 kB, and the local test sites, whose export.html links a small CSV and a 3 MB file.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator

import pytest

from browsing.client import BrowsingClient, file_names
from browsing.cluster import LocalCluster, free_port
from gateway import create_app, files
from gateway.services import GatewayServices
from shared.config import load_settings
from shared.storage import ScreenshotStorage
from tests.conftest import ALICE, BOB, Api, allow, poll, running
from tests.sites.server import EXPORT_CSV, serve_sites

SYNC = "/api/v1/browsing/sync"
FILES = "/api/v1/browsing/files"
CAP_BYTES = 200_000
DAY_S = 86_400


@pytest.fixture(scope="module")
def sites() -> Iterator[str]:
    with serve_sites() as url:
        yield url


@pytest.fixture(scope="module")
def artifact_cluster(tmp_path_factory, sites: str) -> Iterator[LocalCluster]:
    cluster = LocalCluster(
        node_concurrency=1,
        port=free_port(),
        workdir=tmp_path_factory.mktemp("artifact-cluster"),
        reuse_services=False,
        env_overrides={
            "BROWSING_API_KEYS": f"alice:{ALICE},bob:{BOB}",
            "BROWSING_NODE_HEARTBEAT_INTERVAL_S": "0.5",
            "BROWSING_NODE_DEAD_AFTER_S": "4",
            "BROWSING_GATEWAY_WORKERS": "1",
            "BROWSING_SYNC_TIMEOUT_S": "60",
            "BROWSING_EGRESS_ALLOW": allow(sites),
            "BROWSING_MAX_DOWNLOAD_BYTES": str(CAP_BYTES),
        },
    )
    with running(cluster):
        yield cluster


@pytest.fixture()
def alice(artifact_cluster: LocalCluster) -> Api:
    return Api(artifact_cluster.base_url, ALICE)


@pytest.fixture()
def bob(artifact_cluster: LocalCluster) -> Api:
    return Api(artifact_cluster.base_url, BOB)


def sync(api: Api, body: dict) -> dict:
    resp = api.post(SYNC, {"timeout": 60_000, **body}, timeout=90)
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert result["status"] == "completed", result
    return result


def path_of(url: str) -> str:
    return url[url.index("/api/") :]


def stored_keys(cluster: LocalCluster, task_id: str) -> list[str]:
    storage = ScreenshotStorage(load_settings(cluster.env))
    storage.ensure_bucket()  # made on the first upload: maybe not yet
    listing = storage.client.list_objects_v2(
        Bucket=storage.bucket, Prefix=f"{storage.prefix}{task_id}/"
    )
    return sorted(o["Key"] for o in listing.get("Contents", ()))


def test_an_export_csv_click_is_captured_listed_and_served_to_its_owner_only(
    alice, bob, sites, artifact_cluster
):
    body = sync(alice, {"task": f"Open {sites}/export.html and click 'Export CSV'"})
    payload = json.loads(body["payload"])
    task_id = body["task_id"]
    # The page's name "report 2026.csv" is made safe; the result reports the file.
    assert payload["files"] == [
        {
            "name": "report_2026.csv",
            "url": f"{FILES}/{task_id}/report_2026.csv",
            "size": len(EXPORT_CSV),
            "content_type": "text/csv",
        }
    ]
    assert payload["result"] == f"downloaded report_2026.csv ({len(EXPORT_CSV)} bytes, text/csv)"
    assert "files_error" not in payload and "trace" not in payload

    served = alice.get(payload["files"][0]["url"])
    assert served.status_code == 200
    assert served.content == EXPORT_CSV
    assert served.headers["Content-Type"].startswith("text/csv")
    assert served.headers["Content-Disposition"] == 'attachment; filename="report_2026.csv"'
    assert served.headers["X-Content-Type-Options"] == "nosniff"

    other = bob.get(payload["files"][0]["url"])
    assert other.status_code == 403, other.text
    assert other.json() == {"error": f"task {task_id} belongs to a different user"}
    anonymous = Api(artifact_cluster.base_url, None).get(payload["files"][0]["url"])
    assert anonymous.status_code == 401

    # Stored under the winning attempt's own prefix, in its files/ part.
    attempt = body["info"]["attempts"][0]["attempt"]
    assert stored_keys(artifact_cluster, task_id) == [
        f"screenshots/{task_id}/{attempt}/files/report_2026.csv"
    ]


def test_the_python_client_downloads_files_and_traces(sites, artifact_cluster, tmp_path):
    client = BrowsingClient(artifact_cluster.base_url, ALICE)
    body = client.run_sync(
        f"Open {sites}/export.html and click 'Export CSV'", record_trace=True, timeout_ms=60_000
    )
    assert file_names(body) == ["report_2026.csv"]
    saved = client.download_file(body["task_id"], "report_2026.csv", tmp_path / "r.csv")
    assert saved.read_bytes() == EXPORT_CSV
    trace = client.download_file(body["task_id"], "trace.zip", tmp_path / "trace.zip")
    assert "trace.trace" in zipfile.ZipFile(trace).namelist()


def test_browsing_run_trace_shows_the_files_and_the_trace(sites, artifact_cluster):
    from tests.integration.test_client_cli import browsing

    task = f"Open {sites}/export.html and click 'Export CSV'"
    done = browsing("run", task, "--trace", url=artifact_cluster.base_url, key=ALICE)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"downloaded report_2026.csv ({len(EXPORT_CSV)} bytes, text/csv)"
    assert lines[1].startswith(f"file: report_2026.csv ({len(EXPORT_CSV)} bytes) {FILES}/web:")
    assert lines[2].startswith(f"trace: {FILES}/web:") and "/trace.zip (" in lines[2]

    # A failure (a refused page after the download) says so, then what it kept, on stderr.
    failed = browsing("run", f"{task}. Open http://127.0.0.1:9/", "--trace",
                      url=artifact_cluster.base_url, key=ALICE)  # fmt: skip
    assert failed.returncode == 1 and failed.stdout == "", failed
    errors = failed.stderr.splitlines()
    assert any(e.startswith("failed: ") and "127.0.0.1:9" in e for e in errors), errors
    assert any(e.startswith("file: report_2026.csv (") for e in errors), errors
    assert any(e.startswith(f"trace: {FILES}/web:") for e in errors), errors


def test_download_by_url_in_the_rules_grammar_reports_the_file(alice, sites):
    body = sync(alice, {"task": f"Download {sites}/export.csv, then return the url"})
    payload = json.loads(body["payload"])
    assert [f["name"] for f in payload["files"]] == ["report_2026.csv"]
    assert payload["result"].startswith("downloaded report_2026.csv (34 bytes, text/csv)")


def test_a_download_past_the_cap_is_stopped_and_the_task_keeps_its_result(
    alice, sites, artifact_cluster
):
    started = time.monotonic()
    body = sync(
        alice,
        {"task": f"Open {sites}/export.html, download 'Full archive' and return the title"},
    )
    payload = json.loads(body["payload"])
    assert "Reports" in payload["result"]  # the task went on to its last step
    assert payload["files_error"] == (
        f"big.bin: larger than {CAP_BYTES} bytes (BROWSING_MAX_DOWNLOAD_BYTES)"
    )
    assert "files" not in payload
    # Stopped early: the 3 MB file takes the site about 5 s to send.
    assert time.monotonic() - started < 4.5
    assert stored_keys(artifact_cluster, body["task_id"]) == []  # nothing of it stored


def test_a_download_step_on_a_web_page_fails_with_a_clear_error(alice, sites):
    resp = alice.post(SYNC, {"task": f"Download {sites}/index.html", "timeout": 60_000}, timeout=90)
    body = resp.json()
    assert body["status"] == "failed", body
    assert body["error"] == f"could not download {sites}/index.html: it is a web page, not a file"


def test_bad_or_unknown_names_in_the_files_url_get_a_clear_404(alice, sites):
    body = sync(
        alice,
        {
            "task": f"Open {sites}/export.html and click 'Export CSV'",
            "screenshots": {"mode": "final_only"},
        },
    )
    base = f"{FILES}/{body['task_id']}"
    assert alice.get(f"{base}/report_2026.csv").content == EXPORT_CSV
    for name in (".hidden.csv", "-rf", "a%20b.csv", "%2E%2E", "..report", "x" * 101, "é.csv"):
        resp = alice.get(f"{base}/{name}")
        assert resp.status_code == 404, (name, resp.text)
        assert resp.json() == {"error": files.BAD_NAME}, name
    # Valid names the task's result does not list: its screenshot (served by
    # /screenshots only), a name of another task's file.
    for name in ("screenshot-01.png", "report.csv", "trace.zip"):
        resp = alice.get(f"{base}/{name}")
        assert resp.status_code == 404, (name, resp.text)
        assert resp.json() == {"error": f"task {body['task_id']} has no file {name}"}
    # Traversal: a slash, raw or encoded, never reaches the files route.
    for name in ("..", "../report_2026.csv", "..%2Freport_2026.csv", "x%2F..%2F..%2Fetc"):
        resp = alice.get(f"{base}/{name}")
        assert resp.status_code == 404, (name, resp.text)
        assert resp.headers["Content-Type"] == "application/json"
        assert resp.content != EXPORT_CSV


def test_files_of_an_unknown_or_malformed_task_are_404(alice, bob, sites):
    for task_id in ("web:" + "0" * 32, "web:nope"):
        resp = alice.get(f"{FILES}/{task_id}/report.csv")
        assert resp.status_code == 404, resp.text
        assert resp.json() == {"error": f"task {task_id} not found"}
    # A task that downloaded nothing lists no file, whatever the name.
    body = sync(alice, {"task": f"Open {sites}/index.html"})
    resp = alice.get(f"{FILES}/{body['task_id']}/report.csv")
    assert resp.json() == {"error": f"task {body['task_id']} has no file report.csv"}


def test_a_trace_zip_is_stored_served_and_lists_the_steps(alice, bob, sites, artifact_cluster):
    body = sync(
        alice,
        {
            "task": f"Open {sites}/export.html and click 'Export CSV'",
            "record": {"trace": True},
        },
    )
    payload = json.loads(body["payload"])
    task_id = body["task_id"]
    trace = payload["trace"]
    assert trace["name"] == "trace.zip"
    assert trace["url"] == f"{FILES}/{task_id}/trace.zip"
    assert [f["name"] for f in payload["files"]] == ["report_2026.csv"]  # not the trace

    served = alice.get(trace["url"])
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "application/zip"
    assert len(served.content) == trace["size"] > 1000
    archive = zipfile.ZipFile(io.BytesIO(served.content))
    names = archive.namelist()
    assert "trace.trace" in names and "trace.network" in names
    events = [json.loads(line) for line in archive.read("trace.trace").splitlines() if line]
    calls = [e for e in events if e.get("type") == "before"]
    methods = [c.get("method") for c in calls]
    assert "goto" in methods and "click" in methods, methods
    gotos = [c for c in calls if c.get("method") == "goto"]
    assert gotos[0]["params"]["url"] == f"{sites}/export.html"
    assert any(n.startswith("resources/") for n in names)  # the page snapshots

    assert bob.get(trace["url"]).status_code == 403


def test_a_failed_task_keeps_what_it_downloaded_and_its_trace(alice, bob, sites, artifact_cluster):
    # The download works, then the next step fails (a page the egress policy refuses).
    resp = alice.post(
        SYNC,
        {
            "task": f"Open {sites}/export.html and click 'Export CSV'. Open http://127.0.0.1:9/",
            "record": {"trace": True},
            "screenshots": {"mode": "final_only"},
            "timeout": 60_000,
        },
        timeout=90,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "failed" and "127.0.0.1:9" in body["error"], body
    task_id = body["task_id"]
    payload = json.loads(body["payload"])
    assert payload["result"] is None
    assert [f["name"] for f in payload["files"]] == ["report_2026.csv"]
    assert payload["trace"]["url"] == f"{FILES}/{task_id}/trace.zip"
    assert len(payload["screenshots"]) == 1  # final_only: the page the failure left

    served = alice.get(payload["files"][0]["url"])
    assert served.status_code == 200 and served.content == EXPORT_CSV
    trace = alice.get(payload["trace"]["url"])
    assert trace.status_code == 200, trace.text
    names = zipfile.ZipFile(io.BytesIO(trace.content)).namelist()
    assert "trace.trace" in names and "trace.network" in names
    assert bob.get(payload["trace"]["url"]).status_code == 403  # the owner's only
    # The status answers the same, and the listing of a file never stored is a 404.
    assert json.loads(alice.status(task_id)["payload"]) == payload
    assert alice.get(f"{FILES}/{task_id}/other.csv").status_code == 404


def test_no_trace_unless_asked(alice, sites, artifact_cluster):
    body = sync(alice, {"task": f"Open {sites}/index.html"})
    payload = json.loads(body["payload"])
    assert "trace" not in payload
    resp = alice.get(f"{FILES}/{body['task_id']}/trace.zip")
    assert resp.status_code == 404
    assert resp.json() == {"error": f"task {body['task_id']} has no file trace.zip"}
    assert stored_keys(artifact_cluster, body["task_id"]) == []


@pytest.mark.parametrize(
    ("record", "error"),
    [
        ("yes", 'record must be an object like {"trace": true}'),
        ([True], 'record must be an object like {"trace": true}'),
        ({"trace": "yes"}, "record.trace must be true or false"),
        ({"trace": 1}, "record.trace must be true or false"),
        ({"video": True}, "record has unknown field 'video': only trace is allowed"),
    ],
)
def test_a_bad_record_field_is_a_clear_400(alice, record, error):
    resp = alice.post("/api/v1/browsing/async", {"task": "Open a.test", "record": record})
    assert resp.status_code == 400, resp.text
    assert resp.json() == {"error": error}


class Clock:
    """Real time plus an offset the test moves."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset_s


def test_files_and_traces_are_404_after_five_days_even_if_the_objects_still_exist(
    alice, sites, artifact_cluster
):
    body = sync(
        alice,
        {"task": f"Open {sites}/export.html and click 'Export CSV'", "record": {"trace": True}},
    )
    payload = json.loads(body["payload"])
    paths = [path_of(payload["files"][0]["url"]), path_of(payload["trace"]["url"])]

    clock = Clock()
    settings = load_settings(artifact_cluster.env)
    client = create_app(settings, GatewayServices.build(settings, clock=clock)).test_client()
    auth = {"Authorization": f"Bearer {ALICE}"}
    clock.offset_s = 5 * DAY_S - 60
    assert [client.get(p, headers=auth).status_code for p in paths] == [200, 200]
    clock.offset_s = 5 * DAY_S + 60
    for path in paths:
        expired = client.get(path, headers=auth)
        assert expired.status_code == 404
        assert expired.get_json() == {"error": "file expired: files are kept 5 days"}
    # Still in the store: the gateway refuses anyway; the sweeper and the lifecycle
    # rule (tests/integration/test_retention.py) delete them.
    keys = stored_keys(artifact_cluster, body["task_id"])
    assert [k.rsplit("/", 1)[1] for k in keys] == ["report_2026.csv", "trace.zip"]


def test_a_losing_attempts_files_are_not_kept(alice, sites, artifact_cluster):
    body = sync(
        alice,
        {
            "task": f"Open {sites}/export.html and click 'Export CSV'",
            "fanout": 2,
            "record": {"trace": True},
        },
    )
    task_id = body["task_id"]
    winner = next(a for a in body["info"]["attempts"] if a["outcome"] == "won")["attempt"]

    expected = [
        f"screenshots/{task_id}/{winner}/files/report_2026.csv",
        f"screenshots/{task_id}/{winner}/files/trace.zip",
    ]
    stored: list[list[str]] = []

    def only_the_winners() -> bool:
        attempts = alice.status(task_id)["info"]["attempts"]
        if any(a["outcome"] in ("assigned", "running") for a in attempts):
            return False
        stored.append(stored_keys(artifact_cluster, task_id))
        return stored[-1] == expected

    # The loser deletes its files right after the report that ends it (or after the
    # winner's report cancels it mid-upload), so they can outlive its outcome in the
    # status by a moment: what is checked is that they go, not when the status changes.
    try:
        poll(only_the_winners, timeout_s=30, what="only the winner's files are kept")
    except AssertionError:
        raise AssertionError(f"stored after the race: {stored[-1:]}, want {expected}") from None
