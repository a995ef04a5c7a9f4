"""How the gateway serves the console (create_app on a real Redis and S3): the page for
browsers at / and /console/, the JSON 404 API clients always had at /, the strict
Content-Security-Policy, and asset files only from the package."""

from __future__ import annotations

from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "gateway" / "console" / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize("path", ["/", "/console/"])
def test_a_browser_gets_the_console_page_with_a_strict_csp(client, path):
    resp = client.get(path, headers=BROWSER)
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    assert resp.headers["Content-Security-Policy"] == CSP
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert '<script type="module" src="/console/static/app.js">' in resp.get_data(as_text=True)


@pytest.mark.parametrize("accept", [None, "application/json", "*/*"])
def test_api_clients_still_get_a_json_404_at_the_root(client, accept):
    resp = client.get("/", headers={"Accept": accept} if accept else {})
    assert resp.status_code == 404
    assert resp.get_json() == {"error": "not found: see /api/v1/openapi.json for the endpoints"}


def test_assets_are_served_with_their_type_csp_and_revalidation(client):
    resp = client.get("/console/static/app.js")
    assert resp.status_code == 200 and resp.mimetype == "text/javascript"
    assert resp.headers["Content-Security-Policy"] == CSP
    etag = resp.headers["ETag"]
    again = client.get("/console/static/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert client.get("/console/static/console.css").mimetype == "text/css"


@pytest.mark.parametrize(
    "name", ["..%2F__init__.py", "nope.js", "index.html", "APP.JS", "x.py", "%2e%2e"]
)
def test_only_the_package_s_asset_files_are_served(client, name):
    resp = client.get(f"/console/static/{name}")
    assert resp.status_code == 404
    assert "error" in resp.get_json()
