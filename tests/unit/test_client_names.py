"""The Python client's checks on screenshot file names: refused before any request, and
read from URLs or bare names in a payload (no process, no network)."""

from __future__ import annotations

import json

import pytest

from browsing.client import BrowsingClient, ClientError, screenshot_names
from browsing.cluster import free_port
from tests.conftest import ALICE


@pytest.mark.parametrize(
    "name", ["../screenshot-01.png", "a/screenshot-01.png", "screenshot-01.png/..", "x.png", ""]
)
def test_client_refuses_unsafe_file_names_before_asking(name, tmp_path):
    unreachable = BrowsingClient(f"http://127.0.0.1:{free_port()}", ALICE)
    with pytest.raises(ClientError, match="refusing screenshot file name"):
        unreachable.download_screenshot("web:" + "0" * 32, name, tmp_path / "x.png")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "entry",
    [
        {"url": "/api/v1/browsing/screenshots/web:1/../screenshot-01.png"},
        {"url": "/api/v1/browsing/screenshots/web:1/screenshot-01.png/.."},
        {"url": "/api/v1/browsing/screenshots/web:1/evil.sh"},
        "../../etc/passwd",
        "screenshot-01.png\\..\\x",
        {"url": 3},
    ],
)
def test_client_refuses_unsafe_names_listed_by_the_payload(entry):
    listed = {"payload": json.dumps({"result": "", "screenshots": [entry]})}
    with pytest.raises(ClientError, match="refusing screenshot file name|unexpected screenshot"):
        screenshot_names(listed)


def test_client_reads_names_from_urls_or_bare_names():
    listed = [{"url": "/api/v1/browsing/screenshots/web:1/screenshot-01.png"}, "screenshot-02.png"]
    assert screenshot_names({"payload": json.dumps({"screenshots": listed})}) == [
        "screenshot-01.png",
        "screenshot-02.png",
    ]
    assert screenshot_names({"status": "failed", "error": "x"}) == []


def test_the_python_client_needs_only_the_standard_library() -> None:
    # README: the client is standard-library HTTP; a user's script imports it without
    # the server's packages (Redis, Flask, Celery, boto3, Playwright) installed.
    import subprocess
    import sys

    code = (
        "import sys; import browsing.client; "
        "print(sorted(m for m in ('redis', 'flask', 'celery', 'boto3', 'playwright', "
        "'kombu', 'prometheus_client') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"
