"""A template's limits on what the browser may load, resource types and domains, and
what the node's egress policy refused a page's navigation.

Both work through one route on the context, installed only when a template
sets them, because routing sends every request through this process.
Navigations (tabs and frames) outside the allowed domains are refused and
remembered, so the step that caused one fails with a message saying why.
Playwright does not route redirects, so the runner also checks where a step
ended up (``allows(page.url)``).

The egress policy itself is enforced below the browser, by the node's filtering
proxy (nodes/egress/proxy.py), on every connection; a template's domains can only
narrow it. The guard only reads the proxy's refusals, so that a main-frame
navigation the proxy refused fails its step with the policy's own words.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError

from shared.egress import DEFAULT_PORTS, check_scheme, format_target
from shared.errors import ActionFailed, EgressRefused

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Request, Route

    from nodes.egress.proxy import RefusalLog

# Schemes that never leave the browser, allowed whatever the domain list says
# (chrome-error: the page Chromium shows when a navigation fails).
LOCAL_SCHEMES = frozenset({"about", "data", "blob", "javascript", "chrome-error"})


def domain_allowed(url: str, allowed: Sequence[str]) -> bool:
    """``example.com`` allows example.com and every subdomain; an empty list allows all."""
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES or not allowed:
        return True
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return False
    return any(host == d or host.endswith("." + d) for d in allowed)


def normalise_domain(entry: str) -> str:
    return entry.strip().lower().rstrip(".").removeprefix("*.").lstrip(".")


def url_target(url: str) -> str | None:
    """``host:port`` of a network URL, as the egress proxy names it."""
    parts = urlsplit(url)
    if not parts.hostname or parts.scheme not in DEFAULT_PORTS:
        return None
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return None
    return format_target(parts.hostname, port)


# Chromium's errors for a connection its proxy refused (a 403 to CONNECT, or a hang-up).
_REFUSED_ERRORS = ("ERR_TUNNEL_CONNECTION_FAILED", "ERR_EMPTY_RESPONSE")


class Guard:
    def __init__(
        self,
        allowed_domains: Sequence[str] = (),
        blocked_types: Sequence[str] = (),
        refusals: RefusalLog | None = None,
    ):
        self.allowed = tuple(normalise_domain(d) for d in allowed_domains if d.strip())
        self.blocked_types = frozenset(blocked_types)
        self.refused: list[str] = []  # navigations refused since the last ``take_refused``
        self.refusals = refusals  # the node's egress proxy's, when the policy is on
        self._egress_failed: list[str] = []  # policy messages of refused main-frame loads
        self._step_mark = refusals.mark() if refusals is not None else 0
        self._context: BrowserContext | None = None

    @property
    def active(self) -> bool:
        return bool(self.allowed or self.blocked_types)

    def allows(self, url: str) -> bool:
        return domain_allowed(url, self.allowed)

    def check_navigation(self, url: str) -> None:
        """Refuse, before trying, what a navigation must not reach."""
        parts = urlsplit(url)
        # file: and chrome: pages would read the node's own disk and settings.
        try:
            check_scheme(parts.scheme, url)
        except EgressRefused as exc:
            if self.refusals is not None:
                self.refusals.record(exc)
            raise ActionFailed(exc.message) from exc
        if parts.scheme.lower() not in ("http", "https", "about", "data"):
            raise ActionFailed(f"could not open {url}: only http and https pages can be opened")
        if not self.allows(url):
            raise ActionFailed(
                f"could not open {url}: {parts.hostname} is not among the allowed domains"
            )

    def install(self, context: BrowserContext) -> None:
        if self.active:
            context.route("**/*", self._handle)
        if self.refusals is not None:
            context.on("requestfailed", self._on_failed)
        self._context = context

    def uninstall(self) -> None:
        if self._context is not None:
            with suppress(PlaywrightError):
                if self.active:
                    self._context.unroute("**/*", self._handle)
                if self.refusals is not None:
                    self._context.remove_listener("requestfailed", self._on_failed)
            self._context = None

    def start_step(self) -> None:
        self._egress_failed.clear()
        if self.refusals is not None:
            self._step_mark = self.refusals.mark()

    def take_egress_refusal(self, step_error: str | None) -> str | None:
        """The policy's message if the step's page load was refused by the egress proxy:
        seen failing in the main frame, or a step that failed the way a refused load
        fails while the proxy refused something."""
        failed, self._egress_failed = self._egress_failed, []
        if failed:
            return failed[0]
        if self.refusals is None or not step_error:
            return None
        if not any(code in step_error for code in _REFUSED_ERRORS):
            return None
        _, refused = self.refusals.since(self._step_mark)
        return refused[0].message if refused else None

    def _on_failed(self, request: Request) -> None:
        assert self.refusals is not None
        with suppress(PlaywrightError):
            if not request.is_navigation_request() or request.frame.parent_frame is not None:
                return
            target = url_target(request.url)
            refusal = self.refusals.find(target, self._step_mark) if target else None
            if refusal is not None:
                self._egress_failed.append(refusal.message)

    def take_refused(self) -> list[str]:
        refused, self.refused = self.refused, []
        return refused

    def _handle(self, route: Route, request: Request) -> None:
        with suppress(PlaywrightError):  # the page may be gone by the time we answer
            if request.resource_type in self.blocked_types:
                route.abort("blockedbyclient")
            elif request.is_navigation_request() and not self.allows(request.url):
                self.refused.append(request.url)
                route.abort("blockedbyclient")
            else:
                route.continue_()
