"""``browsing keys create USER --weight ...`` and ``browsing keys limits USER``: the
command run as an operator runs it, against a real Redis, and the gateway's Flask app on
that Redis applying what it stored. No scheduler runs, so submitted tasks stay queued."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis

from shared import keys
from tests.conftest import bearer, poll

ASYNC = "/api/v1/browsing/async"


def operator(redis_url: str, *args: str, env: dict[str, str] | None = None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BROWSING_")}
    return subprocess.run(
        [sys.executable, "-m", "browsing.cli", "keys", *args],
        env={**clean, "BROWSING_REDIS_URL": redis_url, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def policy_table(text: str) -> dict[str, tuple[str, str]]:
    """``browsing keys limits`` output -> {field: (value, origin)}."""
    rows = {}
    for line in text.splitlines():
        name, value = line[:12].strip(), line[12:40].strip()
        rows[name] = (value, line[40:].strip())
    return rows


@pytest.fixture()
def r(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


def test_create_with_limits_stores_them_and_the_gateway_applies_them(client, redis_url, r):
    created = operator(redis_url, "create", "carol", "--weight", "2", "--max-queued", "1")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("bk_") and "\n" not in key  # stdout holds the key alone
    shown = policy_table(created.stderr)
    assert shown["weight"] == ("2", "browsing keys")
    assert shown["max_queued"] == ("1", "browsing keys")
    assert shown["max_active"] == ("0 (no limit)", "default")
    assert r.hgetall(keys.user("carol")) == {"weight": "2", "max_queued": "1"}

    first = client.post(ASYNC, json={"task": "Open https://example.com"}, headers=bearer(key))
    assert first.status_code == 200, first.text
    refused = client.post(ASYNC, json={"task": "Open https://example.com"}, headers=bearer(key))
    assert refused.status_code == 429, refused.text
    assert refused.headers["Retry-After"] == "1"
    assert "limit max_queued=1" in refused.get_json()["error"]
    assert r.zcard(keys.waiting("carol")) == 1  # the refused submit stored nothing
    assert r.hget(keys.FAIR_STATE, "w:carol") == "2"  # the weight fair share uses

    raised = operator(redis_url, "limits", "carol", "--max-queued", "2")
    assert raised.returncode == 0, raised.stderr
    assert policy_table(raised.stdout)["max_queued"] == ("2", "browsing keys")

    def accepted() -> bool:  # the gateway keeps a user's policy for a couple of seconds
        resp = client.post(ASYNC, json={"task": "Open https://example.com"}, headers=bearer(key))
        assert resp.status_code in (200, 429), resp.text
        return resp.status_code == 200

    poll(accepted, timeout_s=10, interval_s=0.2, what="a submit under the raised limit")
    assert r.zcard(keys.waiting("carol")) == 2


def test_limits_shows_where_each_value_comes_from_and_clear_drops_the_stored_ones(redis_url, r):
    env = {"BROWSING_USER_LIMITS": "dora:weight=3,rate=5", "BROWSING_USER_MAX_QUEUED": "50"}
    shown = operator(redis_url, "limits", "dora", env=env)
    assert shown.returncode == 0, shown.stderr
    assert policy_table(shown.stdout) == {
        "user": ("dora", ""),
        "weight": ("3", "BROWSING_USER_LIMITS"),
        "max_active": ("0 (no limit)", "default"),
        "max_queued": ("50", "default"),
        "rate": ("5", "BROWSING_USER_LIMITS"),
        "burst": ("0 (one second's worth: 5)", "default"),
    }
    assert not r.exists(keys.user("dora"))  # showing writes nothing

    changed = operator(redis_url, "limits", "dora", "--rate", "0.5", "--burst", "4", env=env)
    assert changed.returncode == 0, changed.stderr
    table = policy_table(changed.stdout)
    assert table["rate"] == ("0.5", "browsing keys")
    assert table["burst"] == ("4", "browsing keys")
    assert table["weight"] == ("3", "BROWSING_USER_LIMITS")

    reset = operator(redis_url, "limits", "dora", "--clear", "--max-active", "7", env=env)
    assert reset.returncode == 0, reset.stderr
    table = policy_table(reset.stdout)
    assert table["rate"] == ("5", "BROWSING_USER_LIMITS")
    assert table["burst"] == ("0 (one second's worth: 5)", "default")
    assert table["max_active"] == ("7", "browsing keys")
    assert r.hgetall(keys.user("dora")) == {"max_active": "7"}

    cleared = operator(redis_url, "limits", "dora", "--clear", env=env)
    assert cleared.returncode == 0, cleared.stderr
    assert policy_table(cleared.stdout)["max_active"] == ("0 (no limit)", "default")
    assert not r.exists(keys.user("dora"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--weight", "0"), "limits of erin: weight must be 1 to 1000, got 0"),
        (("--weight", "1001"), "limits of erin: weight must be 1 to 1000, got 1001"),
        (("--max-active", "-1"), "limits of erin: max_active must be 0 or more, got -1"),
        (("--max-queued", "many"), "limits of erin: max_queued='many' is not a number"),
        (("--rate", "nan"), "limits of erin: rate='nan' is not a number"),
        (("--rate", "inf"), "limits of erin: rate='inf' is not a number"),
        (("--burst", "2.5"), "limits of erin: burst='2.5' is not a number"),
    ],
)
@pytest.mark.parametrize("action", ["create", "limits"])
def test_a_bad_value_is_one_line_exit_2_and_stores_nothing(redis_url, r, action, args, message):
    before = r.hgetall(keys.API_KEYS)
    run = operator(redis_url, action, "erin", *args)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.splitlines() == [f"browsing: {message}"]
    assert r.hgetall(keys.API_KEYS) == before  # no key made for a refused create
    assert not r.exists(keys.user("erin"))


def test_a_bad_user_name_is_one_line_exit_2(redis_url):
    run = operator(redis_url, "limits", "no spaces", "--weight", "2")
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        "browsing: user names are 1-64 characters of letters, digits and _ . @ -"
    ]


def test_create_admin_makes_a_key_the_admin_api_accepts(client, redis_url):
    admin = operator(redis_url, "create", "olga", "--admin")
    plain = operator(redis_url, "create", "olga")
    assert admin.returncode == 0 and plain.returncode == 0, admin.stderr + plain.stderr
    nodes = "/api/v1/admin/nodes"
    assert client.get(nodes, headers=bearer(admin.stdout.strip())).status_code == 200
    refused = client.get(nodes, headers=bearer(plain.stdout.strip()))
    assert refused.status_code == 403 and "not an admin key" in refused.get_json()["error"]
