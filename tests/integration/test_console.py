"""The web console in a real Chromium, against the real local cluster: a node's Chromium
runs the tasks, the gateway under gunicorn serves the console and its API. Each page is
also scanned with axe-core (serious and critical violations fail the test).

With ``BROWSING_CONSOLE_SCREENSHOTS=1`` the tests save what they see into
docs/console/*.png, the pictures of README's "Web console" section."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from nodes.browser import launch_chromium
from shared.apikeys import KeyStore
from shared.registry import NodeRegistry
from tests.conftest import ALICE, BOB

DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"
SAVE = os.environ.get("BROWSING_CONSOLE_SCREENSHOTS") == "1"
WAIT_MS = 60_000


def picture(page: Page, name: str, *, full_page: bool = True) -> None:
    if SAVE:
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / f"{name}.png"), full_page=full_page)


def accessible(page: Page, what: str) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    results = Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{what}: " + "\n".join(bad)


@pytest.fixture(scope="module")
def browser(cluster) -> Iterator[Browser]:
    """The test's own Chromium (the viewer's), started after the cluster's."""
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture()
def page(browser: Browser, cluster) -> Iterator[Page]:
    size = {"width": 1200, "height": 900}
    context = browser.new_context(viewport=size, base_url=cluster.base_url)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    page.problems = problems  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()
    csp = [p for p in problems if "Content Security Policy" in p or "uncaught" in p]
    assert not csp, csp


@pytest.fixture()
def r(cluster) -> redis.Redis:
    return redis.Redis.from_url(cluster.redis_url, decode_responses=True)


def failed_task(api, task: str = "Open about:blank") -> str:
    """A task of ``api``'s user that failed at once: no node is in country ZZ."""
    task_id = api.submit({"task": task, "filter": {"country_iso": "ZZ"}})
    assert api.wait(task_id, timeout_s=30)["status"] == "failed"
    return task_id


def nav(page: Page, name: str):  # noqa: ANN201 - a Locator
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def sign_in(page: Page, key: str) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("API key").fill(key)
    page.get_by_label("API key").press("Enter")
    expect(page.get_by_role("heading", name="Tasks", exact=True)).to_be_visible()


def test_sign_in_with_a_wrong_key_then_the_right_one_by_keyboard_then_sign_out(page):
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    accessible(page, "sign-in page")
    picture(page, "sign-in", full_page=False)
    key = page.get_by_label("API key")
    expect(key).to_be_focused()
    page.keyboard.type("not-a-key")
    page.keyboard.press("Enter")
    alert = page.locator("#key-error")
    expect(alert).to_contain_text("This API key was not accepted")
    expect(key).to_have_attribute("aria-invalid", "true")
    key.fill("")
    page.keyboard.type(ALICE)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Tasks", exact=True)).to_be_visible()
    expect(page.locator("#whoami")).to_have_text("Signed in as alice")
    expect(nav(page, "Operators")).to_be_hidden()  # not an admin key
    # Kept for the tab only, never as a cookie or in the URL.
    assert page.evaluate("sessionStorage.getItem('browsing.key')") == ALICE
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == [] and ALICE not in page.url

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("signed out")
    assert page.evaluate("sessionStorage.getItem('browsing.key')") is None


def test_the_api_s_validation_error_is_shown_at_its_field(page, cluster):
    sign_in(page, ALICE)
    nav(page, "New task").click()
    expect(page.get_by_role("heading", name="New task")).to_be_visible()
    accessible(page, "new task page")
    picture(page, "new-task")
    page.get_by_label("Instruction").fill("Open https://example.com")
    page.get_by_label("Fanout").fill("20")
    page.get_by_role("button", name="Run task").click()
    error = page.locator("#fanout-error")
    expect(error).to_contain_text("fanout must be an integer from 1 to 10")
    expect(page.get_by_label("Fanout")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Fanout")).to_be_focused()
    expect(page.locator("#task-error")).to_be_hidden()
    picture(page, "new-task-error", full_page=False)

    page.get_by_label("Fanout").fill("")
    page.get_by_label("Country (ISO code)").fill("D1")
    page.get_by_role("button", name="Run task").click()
    expect(page.locator("#country_iso-error")).to_contain_text("2-letter ISO code")
    expect(page.locator("#fanout-error")).to_be_hidden()  # the earlier error is gone
    accessible(page, "new task page with an error")

    # The output schema: text that is not JSON is told at once; a schema the API
    # refuses, at the same field.
    page.get_by_label("Country (ISO code)").fill("")
    schema = page.get_by_label("Output schema (JSON Schema)")
    schema.fill("{type: object")
    page.get_by_role("button", name="Run task").click()
    expect(page.locator("#output_schema-error")).to_contain_text("output_schema is not JSON")
    schema.fill('{"type": "no-such-type"}')
    page.get_by_role("button", name="Run task").click()
    expect(page.locator("#output_schema-error")).to_contain_text("not a valid JSON Schema")
    expect(schema).to_be_focused()


def multi_step(sites: str) -> str:
    return (
        f"Open {sites}/index.html. Wait 3 seconds. Open {sites}/links.html. "
        f"Wait 3 seconds. Return the title."
    )


def test_a_multi_step_task_shows_its_steps_live_then_its_result_and_screenshots(
    page, cluster, sites, api
):
    sign_in(page, ALICE)
    nav(page, "New task").click()
    page.get_by_label("Instruction").fill(multi_step(sites))
    page.get_by_label("Screenshot mode").select_option("every_step")
    page.get_by_label("Country (ISO code)").fill("DE")
    page.get_by_role("button", name="Run task").click()
    expect(page).to_have_url(re.compile(r"#/task/web:[0-9a-f]{32}$"), timeout=10_000)
    task_id = page.url.rpartition("/")[2]

    # A step with its thumbnail shows while the task still runs; its box has its final
    # size before the image is there (no layout jump as steps and images stream in).
    first = page.locator(".step").first
    expect(first).to_be_visible(timeout=WAIT_MS)
    box_before = first.bounding_box()
    expect(first.locator("img:not(.loading)")).to_be_visible(timeout=WAIT_MS)
    assert api.status(task_id)["status"] in ("assigned", "running")
    assert page.locator(".status-line .badge").inner_text() != "completed"
    assert first.locator("img").evaluate("img => img.naturalWidth") > 0
    assert first.locator("img").get_attribute("src").startswith("blob:")
    expect(first).to_contain_text("Step 1: ")
    expect(first.locator(".url")).to_contain_text(sites)

    expect(page.locator(".status-line .badge")).to_have_text("completed", timeout=WAIT_MS)
    expect(page.get_by_role("heading", name="Result")).to_be_visible()
    assert page.locator(".step").count() >= 3
    box_after = first.bounding_box()
    assert box_after["height"] == box_before["height"]
    thumb = first.locator(".thumb").bounding_box()
    assert (thumb["width"], thumb["height"]) == (160, 100)
    # The timeline's times: local, with the UTC value on hover.
    started = page.locator(".timeline li").nth(2).locator("time")
    assert started.get_attribute("title").endswith(" UTC")
    assert started.get_attribute("datetime").endswith("Z")
    expect(page.get_by_role("region", name="Attempts")).to_contain_text("won")
    accessible(page, "task detail page")
    picture(page, "task-detail")

    # The full-size viewer, with a download of the file.
    page.get_by_role("button", name="Open Step 2 screenshot at full size").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    big = dialog.locator("img")
    assert big.evaluate("img => img.naturalWidth") >= 800
    download = dialog.get_by_role("link", name="Download")
    assert re.fullmatch(r"screenshot-\d+\.png", download.get_attribute("download"))
    with page.expect_download() as got:
        download.click()
    assert got.value.suggested_filename == download.get_attribute("download")
    accessible(page, "screenshot viewer")
    picture(page, "screenshot-viewer", full_page=False)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # The list shows it, and "run again" fills the form with the same request.
    nav(page, "Tasks").click()
    expect(page.get_by_role("link", name=multi_step(sites))).to_be_visible()
    accessible(page, "task list page")
    picture(page, "task-list")
    page.get_by_role("link", name=multi_step(sites)).first.click()
    page.get_by_role("button", name="Run again").click()
    expect(page.get_by_label("Instruction")).to_have_value(multi_step(sites))
    expect(page.get_by_label("Screenshot mode")).to_have_value("every_step")
    expect(page.get_by_label("Country (ISO code)")).to_have_value("DE")


def test_the_task_list_filters_by_status_and_pages_with_its_cursor(page, api):
    for n in range(22):
        failed_task(api, f"Open about:blank number {n}")
    sign_in(page, ALICE)
    page.get_by_label("Status").select_option("failed")
    rows = page.locator("#task-results tbody tr")
    expect(rows).to_have_count(20)
    expect(rows.locator(".badge")).to_have_text(["failed"] * 20)
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_role("button", name="Previous page")).to_be_enabled()
    expect(rows.first).not_to_have_text(re.compile("number 21"))
    page.get_by_role("button", name="Previous page").click()
    expect(rows.first).to_contain_text("number 21")
    # Live: a task that ends meanwhile shows without reloading the page.
    failed_task(api, "Open about:blank number 22")
    expect(rows.first).to_contain_text("number 22", timeout=10_000)


def test_cancel_a_running_task(page, api, sites):
    body = {"task": f"Open {sites}/index.html. Wait 60 seconds. Return the title."}
    task_id = api.submit(body)
    sign_in(page, ALICE)
    page.goto(f"/#/task/{task_id}")
    expect(page.locator(".status-line .badge")).to_have_text("running", timeout=WAIT_MS)
    page.get_by_role("button", name="Cancel task").click()
    expect(page.locator(".status-line .badge")).to_have_text("failed", timeout=10_000)
    expect(page.get_by_role("heading", name="Error")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text("cancelled")
    expect(page.get_by_role("button", name="Cancel task")).to_be_hidden()
    assert api.status(task_id)["error"] == "cancelled"


def test_another_user_s_task_page_says_it_is_not_theirs(page, api):
    task_id = failed_task(api)
    sign_in(page, BOB)
    page.goto(f"/#/task/{task_id}")
    expect(page.get_by_role("alert")).to_contain_text("This is not your task")
    page.goto("/#/task/web:" + "0" * 32)
    expect(page.get_by_role("alert")).to_contain_text("Task not found")


def test_an_admin_drains_a_node_and_it_takes_no_task_until_undrained(page, cluster, r, api):
    admin = KeyStore(r).create("ops", admin=True)
    registry = NodeRegistry(r)
    de = next(n for n in registry.all() if n.country == "DE")
    sign_in(page, admin)
    expect(page.locator("#whoami")).to_have_text("Signed in as ops (admin)")
    nav(page, "Operators").click()
    nodes = page.get_by_role("region", name="Nodes")
    expect(nodes).to_contain_text(de.uid)
    accessible(page, "operators page")
    try:
        page.get_by_role("button", name=f"Drain node {de.uid}", exact=True).click()
        expect(
            page.get_by_role("button", name=f"Undrain node {de.uid}", exact=True)
        ).to_be_visible()
        assert registry.get(de.uid).drained
        row = nodes.locator("tr", has_text=de.uid)
        expect(row.locator(".badge")).to_have_text(re.compile("^(drained|draining)$"))
        accessible(page, "operators page with a drained node")
        picture(page, "operators")

        # The drained node takes nothing: a task for its country fails without an
        # attempt (no other DE node), one for any node runs elsewhere.
        for_de = {"task": "Open about:blank", "filter": {"country_iso": "DE"}}
        only_de = api.wait(api.submit(for_de))
        assert only_de["status"] == "failed" and only_de["info"]["attempts"] == []
        anywhere = api.wait(api.submit({"task": "Open about:blank"}))
        assert anywhere["info"]["node_uid"] != de.uid
        page.get_by_role("button", name="Refresh").click()
        failures = page.get_by_role("region", name="Recent failures")
        expect(failures.locator("tr", has_text=only_de["task_id"])).to_contain_text("alice")

        page.get_by_role("button", name=f"Undrain node {de.uid}", exact=True).click()
        expect(page.get_by_role("button", name=f"Drain node {de.uid}", exact=True)).to_be_visible()
        assert not registry.get(de.uid).drained
        done = api.wait(api.submit(for_de))
        assert done["info"]["node_uid"] == de.uid
    finally:
        registry.set_drained(de.uid, False)


def test_an_admin_forgets_a_dead_node_and_cannot_forget_a_live_one(page, r):
    registry = NodeRegistry(r)
    uid = "node.fr.09"
    registry.register(
        uid=uid, country="FR", queue=uid, capacity=1, version="test", hostname="retired",
        now_ms=int(time.time() * 1000) - 3_600_000,
    )  # fmt: skip
    try:
        sign_in(page, KeyStore(r).create("ops3", admin=True))
        page.goto("/#/ops")
        nodes = page.get_by_role("region", name="Nodes")
        row = nodes.locator("tr", has_text=uid)
        expect(row.locator(".badge")).to_have_text("dead")
        live = next(n.uid for n in registry.all() if n.uid != uid)
        expect(page.get_by_role("button", name=f"Drain node {live}", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name=f"Forget node {live}")).to_have_count(0)
        accessible(page, "operators page with a dead node")
        page.get_by_role("button", name=f"Forget node {uid}", exact=True).click()
        expect(page.get_by_role("status").filter(has_text="forgotten")).to_have_text(
            f"{uid} is forgotten: it is no longer listed, and registers again if it starts."
        )
        expect(nodes.locator("tr", has_text=uid)).to_have_count(0)
        assert registry.get(uid) is None and not r.sismember("browsing:nodes", uid)
        expect(nodes.locator("tr", has_text=live)).to_have_count(1)
    finally:
        r.srem("browsing:nodes", uid)
        r.delete(f"browsing:node:{uid}", f"browsing:node:{uid}:browsers")


def test_recent_failures_show_on_the_operators_page(page, r, api):
    task_id = failed_task(api)
    sign_in(page, KeyStore(r).create("ops2", admin=True))
    page.goto("/#/ops")
    failures = page.get_by_role("region", name="Recent failures")
    expect(failures.locator("tr", has_text=task_id)).to_contain_text("alice")


def test_a_plain_key_gets_no_operators_page(page):
    sign_in(page, BOB)
    page.goto("/#/ops")
    expect(page.get_by_role("alert")).to_contain_text("This page is for admin keys")


def test_the_task_list_fits_a_phone(browser: Browser, cluster, api):
    context = browser.new_context(viewport={"width": 375, "height": 740}, base_url=cluster.base_url)
    try:
        page = context.new_page()
        sign_in(page, ALICE)
        expect(page.locator("#task-results")).not_to_be_empty()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow} px wider than the phone"
        accessible(page, "task list on a phone")
        picture(page, "task-list-phone", full_page=False)
    finally:
        context.close()


BAD_BODIES = [
    ({}, "task"),
    ({"task": " "}, "task"),
    ({"task": "x", "screenshots": {"mode": "sometimes"}}, "mode"),
    ({"task": "x", "screenshots": {"mode": "final_only", "full_page": "yes"}}, "full_page"),
    ({"task": "x", "filter": {"country_iso": "D1"}}, "country_iso"),
    ({"task": "x", "filter": {"country_iso": "DE", "node_uid": "node.de.01"}}, "country_iso"),
    ({"task": "x", "filter": {"node_uid": " "}}, "node_uid"),
    ({"task": "x", "session_key": ""}, "session_key"),
    ({"task": "x", "fanout": 0}, "fanout"),
    ({"task": "x", "timeout": 0}, "timeout"),
    ({"task": "x", "template": "no-such-template"}, "template"),
    ({"task": "x", "session_key": "s", "session_persist": "no"}, "session_persist"),
    ({"task": "x", "record": {"trace": "yes"}}, "record_trace"),
    ({"task": "x", "record": []}, "record_trace"),
    ({"task": "x", "uploads": "report.pdf"}, "uploads"),
    ({"task": "x", "output_schema": []}, "output_schema"),
    ({"task": "x", "output_schema": {"type": "no-such-type"}}, "output_schema"),
    ({"task": "x", "webhook": {"url": "ftp://example.com/hook"}}, "webhook_url"),
    ({"task": "x", "webhook": {"url": "https://example.com/h", "secret": 5}}, "webhook_secret"),
]


def test_each_validation_error_of_the_api_maps_to_its_form_field(page, api):
    """The form's mapping, run on the messages the gateway really answers."""
    messages = []
    for body, _ in BAD_BODIES:
        resp = api.post("/api/v1/browsing/async", body)
        assert resp.status_code == 400, (body, resp.text)
        messages.append(resp.json()["error"])
    page.goto("/")
    fields = page.evaluate(
        "async (messages) => {"
        " const form = await import('/console/static/newtask.js');"
        " return messages.map(form.fieldFor); }",
        messages,
    )
    wrong = [
        (m, got, want)
        for m, got, (_, want) in zip(messages, fields, BAD_BODIES, strict=True)
        if got != want
    ]
    assert not wrong, wrong


def test_a_task_with_a_file_and_a_trace_shows_its_download_and_trace(page, api, sites, tmp_path):
    """The form stores the chosen file (POST /uploads) and names it in the task, asks for
    a trace; the task's page offers the file the page downloaded and the trace."""
    from tests.sites.server import EXPORT_CSV

    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"for the form")
    sign_in(page, ALICE)
    nav(page, "New task").click()
    page.get_by_label("Instruction").fill(f"Open {sites}/export.html and click 'Export CSV'")
    page.get_by_label("Files for the page's file inputs").set_input_files(str(notes))
    page.get_by_label("Record a Playwright trace").check()
    page.get_by_role("button", name="Run task").click()
    expect(page).to_have_url(re.compile(r"#/task/web:[0-9a-f]{32}$"), timeout=10_000)
    task_id = page.url.rpartition("/")[2]
    asked = api.status(task_id)["request"]
    assert asked["record"] == {"trace": True}
    (upload,) = asked["uploads"]
    assert api.get(f"/api/v1/browsing/uploads/{upload}").json()["name"] == "notes.txt"

    expect(page.locator(".status-line .badge")).to_have_text("completed", timeout=WAIT_MS)
    csv = page.get_by_role("button", name=re.compile(r"^Download report_2026\.csv"))
    expect(csv).to_be_visible()
    expect(
        page.get_by_role("button", name=re.compile(r"^Download Playwright trace"))
    ).to_be_visible()
    with page.expect_download() as got:
        csv.click()
    assert got.value.suggested_filename == "report_2026.csv"
    assert Path(got.value.path()).read_bytes() == EXPORT_CSV
    accessible(page, "task detail page with files")


def test_a_failed_task_shows_its_error_its_last_page_and_its_files(page, api, sites):
    # A CSV is downloaded, then the next page is refused: the task fails, and keeps both
    # the picture of its last page and what it downloaded, with the trace.
    task_id = api.submit(
        {
            "task": f"Open {sites}/export.html and click 'Export CSV'. Open http://127.0.0.1:9/",
            "screenshots": {"mode": "final_only"},
            "record": {"trace": True},
        }
    )
    assert api.wait(task_id, timeout_s=60)["status"] == "failed"
    sign_in(page, ALICE)
    page.goto(f"/#/task/{task_id}")
    expect(page.locator("#h-result")).to_have_text("Error", timeout=WAIT_MS)
    expect(page.get_by_role("alert")).to_contain_text("127.0.0.1:9")
    shot = page.get_by_role("button", name="Open Screenshot 1 of the failed attempt at full size")
    expect(shot.locator("img")).not_to_have_class(re.compile("loading"), timeout=WAIT_MS)
    expect(
        page.get_by_role("button", name=re.compile(r"^Download report_2026\.csv"))
    ).to_be_visible()
    expect(
        page.get_by_role("button", name=re.compile(r"^Download Playwright trace"))
    ).to_be_visible()
    accessible(page, "task detail page of a failed task")
