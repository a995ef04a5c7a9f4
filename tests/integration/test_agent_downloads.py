"""Downloads in the agent, on a real Chromium without a cluster (nodes/downloads.py):
a download in a tab the link opens, the cap while a download runs and, where the
downloads directory is unknown, after it; a download step that starts nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from nodes.agent import ScreenshotPolicy, run_agent
from nodes.browser import context_options, launch_chromium, new_context
from nodes.downloads import DownloadCollector
from shared.errors import ActionFailed
from tests.sites.server import EXPORT_CSV


@pytest.fixture(scope="module")
def downloads_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("chromium-downloads")


@pytest.fixture(scope="module")
def browser(downloads_dir: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, downloads_path=str(downloads_dir))
        try:
            yield browser
        finally:
            browser.close()


def run(browser: Browser, task: str, collector: DownloadCollector) -> str:
    context = new_context(browser, context_options())
    try:
        result = run_agent(
            context,
            task,
            policy=ScreenshotPolicy(),
            deadline=time.monotonic() + 30,
            downloads=collector,
        )
        return result.result
    finally:
        context.close()


def test_a_download_in_a_new_tab_is_caught_at_once(browser, downloads_dir, base_url, tmp_path):
    collector = DownloadCollector(watch_dir=downloads_dir, save_dir=tmp_path, max_bytes=10**6)
    started = time.monotonic()
    result = run(
        browser,
        f"Open {base_url}/export.html, click 'Export in a new tab' and return the url",
        collector,
    )
    # The tab Chromium opens and closes for the download is not waited for (5 s).
    assert time.monotonic() - started < 4
    assert result == (
        f"downloaded report_2026.csv ({len(EXPORT_CSV)} bytes, text/csv)\n\n{base_url}/export.html"
    )
    assert [f.name for f in collector.files] == ["report_2026.csv"]
    assert (tmp_path / "report_2026.csv").read_bytes() == EXPORT_CSV


def test_a_file_the_page_makes_is_caught(browser, downloads_dir, base_url, tmp_path):
    collector = DownloadCollector(watch_dir=downloads_dir, save_dir=tmp_path, max_bytes=10**6)
    result = run(browser, f"Open {base_url}/export.html and click 'Export JSON'", collector)
    assert result == "downloaded rows.json (11 bytes, application/json)"
    assert (tmp_path / "rows.json").read_bytes() == b'{"rows": 2}'


def test_the_cap_stops_a_download_while_it_runs(browser, downloads_dir, base_url, tmp_path):
    collector = DownloadCollector(watch_dir=downloads_dir, save_dir=tmp_path, max_bytes=100_000)
    started = time.monotonic()
    result = run(browser, f"Open {base_url}/export.html, click 'Full archive'", collector)
    assert time.monotonic() - started < 4  # the site takes about 5 s to send 3 MB
    assert result == "download stopped: big.bin: larger than 100000 bytes " + (
        "(BROWSING_MAX_DOWNLOAD_BYTES)"
    )
    collector.discard_partials()
    assert [p.name for p in downloads_dir.iterdir() if p.name.endswith(".crdownload")] == []
    assert list(tmp_path.iterdir()) == []


def test_the_cap_holds_where_the_downloads_directory_is_unknown(browser, base_url, tmp_path):
    collector = DownloadCollector(watch_dir=None, save_dir=tmp_path, max_bytes=10)
    result = run(browser, f"Open {base_url}/export.html and click 'Export CSV'", collector)
    assert result == "download stopped: report_2026.csv: larger than 10 bytes " + (
        "(BROWSING_MAX_DOWNLOAD_BYTES)"
    )
    assert collector.files == [] and list(tmp_path.iterdir()) == []


def test_two_downloads_of_one_name_are_both_kept(browser, downloads_dir, base_url, tmp_path):
    collector = DownloadCollector(watch_dir=downloads_dir, save_dir=tmp_path, max_bytes=10**6)
    run(browser, f"Open {base_url}/export.html, click 'Export CSV', click 'Export CSV'", collector)
    assert [f.name for f in collector.files] == ["report_2026.csv", "report_2026-2.csv"]


def test_a_download_step_that_starts_nothing_fails(browser, downloads_dir, base_url, tmp_path):
    collector = DownloadCollector(watch_dir=downloads_dir, save_dir=tmp_path, max_bytes=10**6)
    with pytest.raises(ActionFailed, match='could not download "Page two": no download started'):
        run(browser, f"Open {base_url}/links.html and download 'Page two'", collector)


def test_the_cap_holds_during_a_long_wait(browser, downloads_dir, base_url, tmp_path):
    """A page that downloads on its own while the agent waits: the download is stopped
    at the cap during the wait, not when the wait ends (30 MB at the site's pace take
    about 5 s; the wait is 4 s)."""
    import threading

    collector = DownloadCollector(watch_dir=downloads_dir, save_dir=tmp_path, max_bytes=100_000)
    stopped_after: list[float] = []
    done = threading.Event()

    def watch(started: float) -> None:  # reads only: when the problem shows up
        while not done.is_set():
            if collector.problems and not stopped_after:
                stopped_after.append(time.monotonic() - started)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, args=(time.monotonic(),), daemon=True)
    watcher.start()
    try:
        result = run(
            browser, f"Open {base_url}/autodownload.html. Wait 4 seconds. Return the url", collector
        )
    finally:
        done.set()
        watcher.join()
    assert "download stopped: big.bin: larger than 100000 bytes" in result
    assert stopped_after and stopped_after[0] < 3.0, stopped_after
    collector.discard_partials()
    assert list(tmp_path.iterdir()) == []


def test_the_cap_stops_only_the_download_past_it(browser, downloads_dir, base_url, tmp_path):
    """Two downloads at once: the one past the cap is stopped; the other, still running
    then, finishes and is kept."""
    collector = DownloadCollector(watch_dir=downloads_dir, save_dir=tmp_path, max_bytes=100_000)
    result = run(browser, f"Open {base_url}/two_downloads.html, click 'Download both'", collector)
    assert result == (
        "downloaded small.bin (90000 bytes, application/octet-stream)\n\n"
        "download stopped: big.bin: larger than 100000 bytes (BROWSING_MAX_DOWNLOAD_BYTES)"
    )
    assert [f.name for f in collector.files] == ["small.bin"]
    assert (tmp_path / "small.bin").read_bytes() == b"x" * 90_000
    collector.discard_partials()
    assert [p.name for p in downloads_dir.iterdir() if p.name.endswith(".crdownload")] == []
