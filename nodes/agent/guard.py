"""A template's limits on what the browser may load: resource types and domains.

Both work through one route on the context, installed only when a template
sets them, because routing sends every request through this process.
Navigations (tabs and frames) outside the allowed domains are refused and
remembered, so the step that caused one fails with a message saying why.
Playwright does not route redirects, so the runner also checks where a step
ended up (``allows(page.url)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError

from shared.errors import ActionFailed

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Request, Route

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


class Guard:
    def __init__(self, allowed_domains: Sequence[str] = (), blocked_types: Sequence[str] = ()):
        self.allowed = tuple(normalise_domain(d) for d in allowed_domains if d.strip())
        self.blocked_types = frozenset(blocked_types)
        self.refused: list[str] = []  # navigations refused since the last ``take_refused``
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
        if parts.scheme.lower() not in ("http", "https", "about", "data"):
            raise ActionFailed(f"could not open {url}: only http and https pages can be opened")
        if not self.allows(url):
            raise ActionFailed(
                f"could not open {url}: {parts.hostname} is not among the allowed domains"
            )

    def install(self, context: BrowserContext) -> None:
        if self.active:
            context.route("**/*", self._handle)
            self._context = context

    def uninstall(self) -> None:
        if self._context is not None:
            with suppress(PlaywrightError):
                self._context.unroute("**/*", self._handle)
            self._context = None

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
