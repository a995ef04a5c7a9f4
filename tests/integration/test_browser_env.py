"""Chromium starts without the node's secrets in its environment: the worker holds the
S3 keys, the Redis URL and the state key, and a browser without a sandbox (as root, and
as Playwright launches it by default) could leak its environment to an exploited page."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from nodes.browser import browser_env, launch_chromium
from tests.sites.browsing import chromium_children

SECRET = "s3-secret-6f1d2c9a"


def test_chromium_gets_the_locale_and_paths_but_no_secret(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BROWSING_S3_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SECRET)
    monkeypatch.setenv("TZ", "Europe/Berlin")
    before = set(chromium_children())
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            ours = set(chromium_children()) - before
            assert ours, "no Chromium process found"
            environments = []
            for pid in ours:
                try:
                    with open(f"/proc/{pid}/environ", "rb") as f:
                        environments.append(f.read())
                except OSError:  # a helper process that ended meanwhile
                    continue
            assert environments
            assert not any(SECRET.encode() in env for env in environments)
            assert all(b"BROWSING_" not in env for env in environments)
            assert any(b"TZ=Europe/Berlin" in env for env in environments)  # kept
        finally:
            browser.close()


def test_the_browser_environment_keeps_only_what_chromium_needs():
    env = browser_env(
        {
            "PATH": "/usr/bin",
            "HOME": "/home/n",
            "LC_ALL": "C.UTF-8",
            "XDG_RUNTIME_DIR": "/run/user/1",
            "BROWSING_REDIS_URL": "redis://:pw@redis:6379/0",
            "AWS_SECRET_ACCESS_KEY": "x",
            "BROWSING_STATE_KEY": "y",
            "PROMETHEUS_MULTIPROC_DIR": "/m",
        }
    )
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/n",
        "LC_ALL": "C.UTF-8",
        "XDG_RUNTIME_DIR": "/run/user/1",
    }
