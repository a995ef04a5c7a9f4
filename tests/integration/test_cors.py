"""Browser apps on other origins (BROWSING_CORS_ORIGINS), on the gateway's Flask app and
a real Redis and S3: preflights are answered before authentication, answers to a listed
origin carry its Access-Control headers, and nothing changes when no origin is listed."""

from __future__ import annotations

import pytest

from shared.config import load_settings
from shared.errors import ConfigError
from tests.conftest import ALICE, bearer

ASYNC = "/api/v1/browsing/async"
APP_ORIGIN = "https://app.example.com"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


def make_client(gateway_env: dict[str, str], origins: str):  # noqa: ANN201 - a test client
    from gateway import create_app

    return create_app(
        load_settings({**gateway_env, "BROWSING_CORS_ORIGINS": origins})
    ).test_client()


@pytest.fixture(scope="module")
def cors_client(gateway_env: dict[str, str]):  # noqa: ANN201
    return make_client(gateway_env, f"{APP_ORIGIN},http://localhost:3000")


def test_a_listed_origin_s_preflight_is_answered_without_a_key(cors_client):
    resp = cors_client.options(ASYNC, headers={"Origin": APP_ORIGIN, **PREFLIGHT})
    assert resp.status_code == 204, resp.text
    assert resp.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    allowed = resp.headers["Access-Control-Allow-Headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= set(allowed.split(", "))
    assert "Origin" in resp.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in resp.headers  # keys, not cookies


def test_a_listed_origin_s_calls_carry_its_headers_errors_included(cors_client):
    resp = cors_client.post(
        ASYNC,
        json={"task": "Open https://example.com"},
        headers={"Origin": APP_ORIGIN, **bearer(ALICE)},
    )
    assert resp.status_code == 200 and resp.get_json()["task_id"].startswith("web:")
    assert resp.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "Retry-After" in resp.headers["Access-Control-Expose-Headers"]
    refused = cors_client.post(ASYNC, json={"task": "x"}, headers={"Origin": APP_ORIGIN})
    assert refused.status_code == 401  # authentication still holds for the call itself
    assert refused.headers["Access-Control-Allow-Origin"] == APP_ORIGIN  # so the app can read why


def test_another_origin_gets_no_cors_headers(cors_client):
    preflight = cors_client.options(ASYNC, headers={"Origin": "https://evil.example", **PREFLIGHT})
    assert preflight.status_code == 204
    assert "Access-Control-Allow-Origin" not in preflight.headers  # the browser refuses
    call = cors_client.post(
        ASYNC,
        json={"task": "Open https://example.com"},
        headers={"Origin": "https://evil.example", **bearer(ALICE)},
    )
    assert "Access-Control-Allow-Origin" not in call.headers
    # The console and other pages are not the API: no headers there either.
    page = cors_client.get("/healthz", headers={"Origin": APP_ORIGIN})
    assert "Access-Control-Allow-Origin" not in page.headers


def test_a_star_allows_every_origin_without_vary(gateway_env):
    client = make_client(gateway_env, "*")
    resp = client.options(ASYNC, headers={"Origin": "https://any.example", **PREFLIGHT})
    assert resp.status_code == 204 and resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Origin" not in resp.headers.get("Vary", "")


def test_without_origins_nothing_changes(client):
    # The default: a preflight is just an OPTIONS without a key (401), and no headers.
    resp = client.options(ASYNC, headers={"Origin": APP_ORIGIN, **PREFLIGHT})
    assert resp.status_code == 401
    assert "Access-Control-Allow-Origin" not in resp.headers


@pytest.mark.parametrize(
    "origins",
    ["app.example.com", "https://app.example.com/", "https://App.example.com", "ftp://x.example"],
)
def test_a_malformed_origin_is_a_config_error(gateway_env, origins):
    with pytest.raises(ConfigError, match="BROWSING_CORS_ORIGINS must list origins"):
        load_settings({**gateway_env, "BROWSING_CORS_ORIGINS": origins})
