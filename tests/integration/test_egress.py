"""The egress policy with a real Chromium behind a node's real filtering proxy.

A node runtime starts Chromium the way every pool child does, with the policy on and
one local site allowed by ``host:port``. Targets are local servers on ports that are
not allowed; each records what reached it, so a refusal is shown by what the target
saw (nothing), not only by the error text. Everything stays on loopback.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import Error as PlaywrightError

from nodes.agent import Navigate, ScreenshotPolicy, run_agent, run_planner
from nodes.agent.loop.guard import Guard
from nodes.browser import launch_chromium, new_context
from nodes.egress.proxy import EgressProxy
from nodes.runtime import NodeRuntime
from shared.config import Settings
from shared.egress import EgressPolicy, Rules
from shared.errors import ActionFailed

SECRET = "SECRET-OF-THE-INTERNAL-SERVICE"
VECTORS = ("iframe", "img", "fetch", "websocket", "eventsource", "serviceworker", "popup")


class Target:
    """A local HTTP server that must never be reached: it records every request."""

    def __init__(self, family: int = socket.AF_INET, host: str = "127.0.0.1") -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                hits.append(self.path)
                body = f"<title>{SECRET}</title><p>{SECRET}</p>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            address_family = family

        self.server = Server((host, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _site_handler(targets: dict[str, Target]) -> type[BaseHTTPRequestHandler]:
    port = {name: t.port for name, t in targets.items()}
    vectors_page = f"""<!doctype html><title>loading</title>
<iframe src="http://127.0.0.1:{port["iframe"]}/frame"></iframe>
<img id="img" src="http://127.0.0.1:{port["img"]}/pixel.png">
<script src="/vectors.js"></script>"""
    vectors_js = f"""
const outcomes = [
  fetch('http://127.0.0.1:{port["fetch"]}/data').then(() => 'fetch loaded', () => 'fetch failed'),
  new Promise(done => {{
    const ws = new WebSocket('ws://127.0.0.1:{port["websocket"]}/socket');
    ws.onopen = () => done('websocket open'); ws.onerror = () => done('websocket failed');
  }}),
  new Promise(done => {{
    const es = new EventSource('http://127.0.0.1:{port["eventsource"]}/events');
    es.onopen = () => done('eventsource open');
    es.onerror = () => {{ es.close(); done('eventsource failed'); }};
  }}),
  navigator.serviceWorker.register('/sw.js').then(() => navigator.serviceWorker.ready)
    .then(() => 'serviceworker ready', e => 'serviceworker error ' + e),
  new Promise(done => {{
    const img = document.getElementById('img');
    if (img.complete) done(img.naturalWidth ? 'img loaded' : 'img failed');
    img.onload = () => done('img loaded'); img.onerror = () => done('img failed');
  }}),
];
Promise.all(outcomes).then(all => {{ document.title = all.join(','); }});
"""
    service_worker = f"""
self.addEventListener('install', event => event.waitUntil(
  fetch('http://127.0.0.1:{port["serviceworker"]}/from-worker').catch(() => null)));
"""
    pages = {
        "/": ("text/html", "<title>Allowed Home</title><p>public page</p>"),
        "/vectors.html": ("text/html", vectors_page),
        "/vectors.js": ("application/javascript", vectors_js),
        "/sw.js": ("application/javascript", service_worker),
        "/popup.html": (
            "text/html",
            f"<title>opener</title><a id='go' target='_blank' "
            f"href='http://127.0.0.1:{port['popup']}/popup'>Open the popup</a>",
        ),
    }

    class Site(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?")[0]
            if path == "/redirect":
                self.send_response(302)
                self.send_header("Location", self.path.split("to=", 1)[1])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            kind, text = pages.get(path, ("text/plain", "not found"))
            body = text.encode()
            self.send_response(200 if path in pages else 404)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Site


@pytest.fixture(scope="module")
def targets() -> Iterator[dict[str, Target]]:
    made = {name: Target() for name in (*VECTORS, "page", "redirected", "template")}
    made["v6"] = Target(socket.AF_INET6, "::1")
    try:
        yield made
    finally:
        for target in made.values():
            target.close()


@pytest.fixture()
def untouched(targets: dict[str, Target]) -> Iterator[dict[str, Target]]:
    for target in targets.values():
        target.hits.clear()
    yield targets


@pytest.fixture(scope="module")
def site(targets: dict[str, Target]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _site_handler(targets))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def node(site: str) -> Iterator[NodeRuntime]:
    """A node's runtime as a pool child has it: filter proxy, then Chromium behind it."""
    allowed = site.removeprefix("http://")
    runtime = NodeRuntime(settings=Settings(egress_allow=allowed))
    runtime.start_browser()
    try:
        yield runtime
    finally:
        runtime.stop_browser()


def _goto_fails(browser: Browser, url: str) -> str:
    context = new_context(browser)
    try:
        page = context.new_page()
        with pytest.raises(PlaywrightError) as failed:
            page.goto(url, timeout=10_000)
        page.wait_for_url("chrome-error://**", timeout=5_000)  # Chromium's own error page
        assert SECRET not in page.content()
        return failed.value.message
    finally:
        context.close()


def test_the_allowed_site_loads_and_other_local_ports_are_refused(node, site, untouched):
    context = new_context(node.browser)
    page = context.new_page()
    page.goto(site + "/")
    assert page.title() == "Allowed Home"
    context.close()
    target = untouched["page"]
    for url in (f"http://127.0.0.1:{target.port}/", f"https://127.0.0.1:{target.port}/"):
        assert "ERR_" in _goto_fails(node.browser, url)
    assert target.hits == []
    refused = node.refusals.find(f"127.0.0.1:{target.port}")
    assert refused is not None and refused.reason == "loopback"


@pytest.mark.parametrize(
    "spelling",
    ["127.0.0.1", "2130706433", "0x7f.1", "0x7f000001", "0177.0.0.1", "127.1", "[::ffff:7f00:1]"],
)
def test_every_spelling_of_loopback_reaches_the_filter_and_is_refused(
    node, site, untouched, spelling
):
    """The same spelling reaches the allowed port (so it does name this machine) and is
    refused on any other port."""
    allowed_port = site.rsplit(":", 1)[1]
    context = new_context(node.browser)
    page = context.new_page()
    page.goto(f"http://{spelling}:{allowed_port}/")
    assert page.title() == "Allowed Home"
    context.close()
    target = untouched["page"]
    _goto_fails(node.browser, f"http://{spelling}:{target.port}/")
    assert target.hits == []


def test_bracketed_ipv6_loopback_is_refused(node, untouched):
    target = untouched["v6"]
    _goto_fails(node.browser, f"http://[::1]:{target.port}/")
    assert target.hits == []
    assert node.refusals.find(f"[::1]:{target.port}").reason == "loopback"


def test_a_redirect_from_the_allowed_site_to_a_local_port_is_refused(node, site, untouched):
    target = untouched["redirected"]
    context = new_context(node.browser)
    try:
        deadline = time.monotonic() + 30
        with pytest.raises(ActionFailed) as failed:
            run_agent(
                context,
                f"Open {site}/redirect?to=http://127.0.0.1:{target.port}/s and return the text",
                policy=ScreenshotPolicy(mode="every_step"),
                deadline=deadline,
                refusals=node.refusals,
            )
    finally:
        context.close()
    assert failed.value.message == (
        f"egress refused: 127.0.0.1:{target.port} is a loopback address "
        "(BROWSING_EGRESS_ALLOW can allow it)"
    )
    assert target.hits == []


def test_subresources_frames_sockets_and_service_workers_are_refused(node, site, untouched):
    mark = node.refusals.mark()
    context = new_context(node.browser)
    try:
        page = context.new_page()
        page.goto(site + "/vectors.html")
        page.wait_for_function("document.title !== 'loading'", timeout=20_000)
        outcomes = page.title().split(",")
        page.goto(site + "/popup.html")
        with context.expect_page() as popup:
            page.click("#go")
        popup.value.wait_for_load_state()
        assert SECRET not in popup.value.content()
    finally:
        context.close()
    assert sorted(outcomes) == sorted(
        ["fetch failed", "websocket failed", "eventsource failed", "serviceworker ready",
         "img failed"]
    )  # fmt: skip
    for name in VECTORS:
        assert untouched[name].hits == [], name
    _, refused = node.refusals.since(mark)
    refused_targets = {r.target for r in refused}
    for name in VECTORS:
        assert f"127.0.0.1:{untouched[name].port}" in refused_targets, name


def test_a_name_resolving_to_loopback_is_refused_and_an_allowed_one_is_reached(
    node, site, untouched
):
    """A test resolver stands in for DNS: ``rebind.test`` resolves to 127.0.0.1 and
    ``site.test`` to the allowed site's address. Chromium sends names to the proxy
    unresolved; the proxy resolves once and connects to what it checked."""
    target = untouched["page"]
    allowed_port = int(site.rsplit(":", 1)[1])
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return {"rebind.test": ["127.0.0.1"], "site.test": ["127.0.0.1"]}[host]

    proxy = EgressProxy(
        EgressPolicy(allow=Rules.parse(f"127.0.0.1:{allowed_port}", "ALLOW")), resolver=resolver
    )
    url = proxy.start()
    try:
        browser = launch_chromium(node.playwright, proxy={"server": url, "bypass": "<-loopback>"})
        try:
            context = new_context(browser)
            page = context.new_page()
            page.goto(f"http://site.test:{allowed_port}/")
            assert page.title() == "Allowed Home"
            context.close()
            _goto_fails(browser, f"http://rebind.test:{target.port}/")
        finally:
            browser.close()
    finally:
        proxy.stop()
    assert target.hits == []
    assert "rebind.test" in lookups and "site.test" in lookups
    refusal = proxy.refusals.find(f"rebind.test:{target.port}")
    assert refusal.message == (
        f"egress refused: rebind.test:{target.port} resolves to 127.0.0.1, which is a "
        "loopback address (BROWSING_EGRESS_ALLOW can allow it)"
    )


class OpenOnce:
    """A planner that opens one URL, as a language model's planner may ask to."""

    reads_page = False

    def __init__(self, url: str) -> None:
        self.url = url

    def next_actions(self, observation, history):
        if history and not history[-1].ok:
            raise ActionFailed(history[-1].error or "failed")
        return [] if history else [Navigate(url=self.url)]


@pytest.mark.parametrize(
    "url",
    ["file:///etc/hostname", "chrome://version", "view-source:http://example.com/",
     "chrome-extension://abcdefghijklmnop/page.html", "ftp://127.0.0.1/", "gopher://x/"],
)  # fmt: skip
def test_only_http_https_ws_and_wss_leave_the_browser(node, url):
    mark = node.refusals.mark()
    context = new_context(node.browser)
    try:
        with pytest.raises(ActionFailed) as failed:
            run_planner(
                context,
                OpenOnce(url),
                policy=ScreenshotPolicy(mode=None),
                deadline=time.monotonic() + 20,
                guard=Guard(refusals=node.refusals),
            )
    finally:
        context.close()
    scheme = url.split(":", 1)[0]
    assert failed.value.message == (
        f"egress refused: {url} uses the {scheme}: scheme; "
        "only http, https, ws and wss leave the browser"
    )
    count, refused = node.refusals.since(mark)
    assert count == 1 and refused[0].reason == "scheme"


def test_a_template_cannot_widen_the_policy(node, untouched):
    """``allowed_domains`` naming the machine itself only narrows what the proxy allows."""
    target = untouched["template"]
    context = new_context(node.browser)
    try:
        with pytest.raises(ActionFailed, match="egress refused: 127.0.0.1:"):
            run_agent(
                context,
                f"Open http://127.0.0.1:{target.port}/ and return the text",
                policy=ScreenshotPolicy(mode=None),
                deadline=time.monotonic() + 20,
                template={"planner": "rules", "allowed_domains": ["127.0.0.1", "localhost"]},
                refusals=node.refusals,
            )
    finally:
        context.close()
    assert target.hits == []


def test_refusals_are_counted_for_the_attempt(node, site, untouched):
    from nodes.attempt import egress_refused_since

    mark = node.refusals.mark()
    _goto_fails(node.browser, f"http://127.0.0.1:{untouched['page'].port}/")
    info = json.loads(egress_refused_since(node, mark))
    assert info["count"] >= 1 and info["first"] == [f"127.0.0.1:{untouched['page'].port}"]
    assert egress_refused_since(node, node.refusals.mark()) == ""


def test_an_allowed_site_that_cannot_be_reached_fails_the_open_step(node, site):
    """The filter answers a plain-HTTP request it cannot forward with a 502, which
    Chromium would show as a page; the step fails as it does without the filter, instead
    of the task going on on an empty page."""
    with socket.socket() as s:  # a port nothing listens on, allowed like a test site
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    allowed = f"{site.removeprefix('http://')},127.0.0.1:{closed}"
    # A node of its own (its policy allows the closed port), on the module's Playwright.
    runtime = NodeRuntime(settings=Settings(egress_allow=allowed), playwright=node.playwright)
    runtime.start_browser()
    try:
        context = new_context(runtime.browser)
        try:
            url = f"http://127.0.0.1:{closed}/"
            with pytest.raises(ActionFailed) as failed:
                run_agent(
                    context,
                    f"Open {url}. Wait 5 seconds. Return the title.",
                    policy=ScreenshotPolicy(),
                    deadline=time.monotonic() + 30,
                )
            assert failed.value.message == f"could not open {url}: the site could not be reached"
            assert runtime.refusals.find(f"127.0.0.1:{closed}") is None  # allowed, not refused
            result = run_agent(
                context, f"Open {site}/ and return the title", policy=ScreenshotPolicy(),
                deadline=time.monotonic() + 30,
            )  # fmt: skip
            assert result.result == "Allowed Home"
        finally:
            context.close()
    finally:
        runtime.playwright = None  # the module's, stopped with it
        runtime.stop_browser()
