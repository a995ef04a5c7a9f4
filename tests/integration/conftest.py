"""Fixtures for the agent tests that drive a real Chromium without a cluster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext

from nodes.browser import new_context
from tests.sites.browsing import chromium
from tests.sites.server import serve_sites


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_sites() as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture()
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = new_context(browser)
    try:
        yield ctx
    finally:
        ctx.close()
