"""An upload goes into a form on a real cluster: the file is posted to the gateway
(gunicorn) over HTTP, the node that runs the task fetches it from S3, and the local
test site's form receives exactly its bytes. The node's temporary copy is gone after."""

from __future__ import annotations

from pathlib import Path

from browsing.cluster import LocalCluster
from tests.conftest import Api, poll
from tests.sites.server import RECEIVED

UPLOADS = "/api/v1/browsing/uploads"
REPORT = b"%PDF-1.7\n" + bytes(range(256)) * 300 + b"\n%%EOF\n"


def upload(api: Api, name: str, data: bytes) -> dict:
    resp = api.session.post(
        api.url(UPLOADS), files={"file": (name, data, "application/pdf")}, timeout=30
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def staged_dirs(cluster: LocalCluster) -> list[Path]:
    """The nodes' upload copies, in their pool processes' scratch trees (nodes/scratch.py)
    in the cluster's own temporary directory (TMPDIR)."""
    assert cluster.workdir is not None
    return sorted((cluster.workdir / "tmp").glob("browsing-scratch-*/browsing-uploads-*"))


def test_an_uploaded_file_reaches_the_sites_form(
    api: Api, sites: str, cluster: LocalCluster
) -> None:
    RECEIVED.clear()
    up = upload(api, "report.pdf", REPORT)
    assert (up["name"], up["size"]) == ("report.pdf", len(REPORT))
    resp = api.post(
        "/api/v1/browsing/sync",
        {
            "task": f"Open {sites}/upload.html, upload report.pdf into 'Attachment', "
            "click 'Send'. Return the text.",
            "uploads": [up["id"]],
        },
    )
    body = resp.json()
    assert resp.status_code == 200 and body["success"] is True, body
    assert [(f.field, f.filename, f.data) for f in RECEIVED] == [
        ("attachment", "report.pdf", REPORT)
    ]
    assert f"attachment: report.pdf, {len(REPORT)} bytes" in body["payload"]
    # The node removes its copy when the attempt ends, just after its report, which can
    # answer the /sync first.
    poll(lambda: staged_dirs(cluster) == [], 10, what="the node's copy of the upload removed")
    # The nodes do keep their temporary files there (Playwright's among them), so the
    # directory's having no copy left says something.
    playwright = (cluster.workdir / "tmp").glob("browsing-scratch-*/playwright*")
    assert any(playwright), "the nodes' scratch trees are not there"


def test_a_file_the_task_did_not_list_fails_the_task_clearly(api: Api, sites: str) -> None:
    RECEIVED.clear()
    up = upload(api, "cv.pdf", b"%PDF-1.4 cv")
    body = api.post(
        "/api/v1/browsing/sync",
        {
            "task": f"Open {sites}/upload.html, upload report.pdf into 'Attachment'",
            "uploads": [up["id"]],
        },
    ).json()
    assert body["success"] is False
    assert body["error"] == (
        'could not upload "report.pdf": the task has no upload of that name '
        "(its uploads are cv.pdf)"
    )
    assert RECEIVED == []


def test_another_users_upload_is_not_found_over_http(api: Api, bob: Api, sites: str) -> None:
    up = upload(api, "report.pdf", REPORT)
    resp = bob.post(
        "/api/v1/browsing/async",
        {"task": f"Open {sites}/upload.html", "uploads": [up["id"]]},
    )
    assert resp.status_code == 404 and up["id"] in resp.json()["error"], resp.text
    assert bob.get(f"{UPLOADS}/{up['id']}").status_code == 404
    assert api.get(f"{UPLOADS}/{up['id']}").json()["name"] == "report.pdf"


def test_a_file_over_the_cap_is_413_through_gunicorn(api: Api) -> None:
    """The default cap (25 MiB): one byte more is refused with a JSON 413, stored nowhere."""
    from shared.defaults import max_upload_bytes

    resp = api.session.post(
        api.url(UPLOADS), files={"file": ("big.bin", b"x" * (max_upload_bytes + 1))}, timeout=60
    )
    assert resp.status_code == 413, resp.text
    assert "BROWSING_MAX_UPLOAD_BYTES" in resp.json()["error"]


def test_the_python_client_uploads_and_lists_the_file(cluster, sites: str, tmp_path: Path) -> None:
    from browsing.client import BrowsingClient
    from tests.conftest import ALICE

    RECEIVED.clear()
    source = tmp_path / "notes (draft).txt"
    source.write_bytes(b"line one\nline two\n")
    client = BrowsingClient(cluster.base_url, ALICE)
    up = client.upload(source)
    assert (up["name"], up["content_type"]) == ("notes_draft_.txt", "text/plain")
    body = client.run_sync(
        # The name as the user knows it: the node matches it to the stored one.
        f"Open {sites}/upload.html, upload 'notes (draft).txt' into 'Attachment', click 'Send'",
        uploads=[up["id"]],
    )
    assert body["success"] is True, body
    assert [(f.filename, f.data) for f in RECEIVED] == [
        ("notes_draft_.txt", b"line one\nline two\n")
    ]
