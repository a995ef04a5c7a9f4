"""A headless Chromium for the agent tests, with a check that it leaves nothing behind."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, sync_playwright

from browsing.cluster import descendants
from nodes.browser import launch_chromium


def chromium_children() -> list[int]:
    found = []
    for pid in descendants(os.getpid()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"chromium" in f.read().lower():
                    found.append(pid)
        except OSError:
            continue
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    # Only processes started here count: a cluster fixture may run its own Chromium.
    before = set(chromium_children())

    def ours() -> set[int]:
        return set(chromium_children()) - before

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()
    for _ in range(50):  # close() waits for Chromium; stragglers get a moment anyway
        if not ours():
            break
        time.sleep(0.1)
    assert not ours(), "Chromium processes left behind"
