"""Per-process state of a node: its identity, clients, and (in pool children) Chromium."""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nodes import metrics
from nodes.cancellation import CancelWatcher
from nodes.identity import NodeIdentity
from nodes.scratch import scratch_dir
from shared.config import Settings
from shared.records import TaskStore
from shared.registry import NodeRegistry
from shared.services import redis_client
from shared.storage import ScreenshotStorage
from shared.templates import DEFAULT_TEMPLATE, load_template

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

    from nodes.egress.proxy import EgressProxy, RefusalLog
    from nodes.sessionstate import SessionServices

log = logging.getLogger(__name__)


def _options_key(options: dict[str, Any]) -> str:
    return json.dumps(options, sort_keys=True)


@dataclass
class NodeRuntime:
    settings: Settings
    identity: NodeIdentity | None = None
    playwright: Playwright | None = None
    browser: Browser | None = None
    egress: EgressProxy | None = None  # this process's filtering proxy (policy "enforce")
    downloads_dir: Path | None = None  # where this process's Chromium downloads to
    _store: TaskStore | None = field(default=None, repr=False)
    _registry: NodeRegistry | None = field(default=None, repr=False)
    _storage: ScreenshotStorage | None = field(default=None, repr=False)
    _cancels: CancelWatcher | None = field(default=None, repr=False)
    _warm: tuple[str, BrowserContext, Page] | None = field(default=None, repr=False)
    _sessions: SessionServices | None = field(default=None, repr=False)

    # Clients are built lazily so that each forked child opens its own connections.
    @property
    def store(self) -> TaskStore:
        if self._store is None:
            self._store = TaskStore(
                redis_client(self.settings), record_ttl_s=self.settings.task_record_ttl_s
            )
        return self._store

    @property
    def registry(self) -> NodeRegistry:
        if self._registry is None:
            self._registry = NodeRegistry(self.store.redis)
        return self._registry

    @property
    def storage(self) -> ScreenshotStorage:
        if self._storage is None:
            self._storage = ScreenshotStorage(self.settings)
        return self._storage

    @property
    def sessions(self) -> SessionServices:
        """Loading and saving the browser state of tasks with a session_key."""
        if self._sessions is None:
            from nodes.sessionstate import SessionServices

            self._sessions = SessionServices.build(self)
        return self._sessions

    def reset_clients(self) -> None:
        """Drop connections inherited across fork."""
        self._store = self._registry = self._storage = None
        self._sessions = None
        self._cancels = None

    @property
    def cancels(self) -> CancelWatcher:
        if self._cancels is None:
            self._cancels = CancelWatcher(self.store)
            self._cancels.start()
        return self._cancels

    @property
    def refusals(self) -> RefusalLog | None:
        return self.egress.refusals if self.egress is not None else None

    def _browser_proxy(self) -> dict[str, str] | None:
        """Chromium's proxy: this process's egress filter (started once), which forwards
        to the operator's upstream proxy if there is one; or, with the policy off, the
        upstream proxy itself."""
        from nodes.egress import Upstream, proxy_settings

        settings = self.settings
        if settings.egress_policy == "off":
            return proxy_settings(settings.node_proxy, settings.node_proxy_bypass)
        if self.egress is None:
            from nodes.egress.proxy import EgressProxy, RefusalLog
            from shared.egress import EgressPolicy

            self.egress = EgressProxy(
                EgressPolicy.from_settings(settings),
                upstream=Upstream.parse(settings.node_proxy),
                bypass=settings.node_proxy_bypass,
                refusals=RefusalLog(
                    lambda exc: metrics.EGRESS_REFUSED.labels(reason=exc.reason).inc()
                ),
            )
            self.egress.start()
        # <-loopback>: Chromium would otherwise reach loopback directly, past the filter.
        return {"server": self.egress.url, "bypass": "<-loopback>"}

    def start_browser(self) -> None:
        from playwright.sync_api import sync_playwright

        from nodes.browser import chromium_executable, launch_chromium

        if self.playwright is None:
            self.playwright = sync_playwright().start()
        metrics.BROWSER_LAUNCHES.inc()
        if self.downloads_dir is None:
            self.downloads_dir = Path(
                tempfile.mkdtemp(prefix="browsing-downloads-", dir=scratch_dir())
            )
        self.browser = launch_chromium(
            self.playwright,
            chromium_executable(self.settings.chromium_path or None),
            self._browser_proxy(),
            downloads_path=str(self.downloads_dir),
        )

    def ensure_browser(self) -> Browser:
        """The warm browser, relaunched if it crashed."""
        if self.browser is None or not self.browser.is_connected():
            if self.browser is not None:
                log.warning("browser disconnected; relaunching")
                metrics.BROWSER_CRASHES.inc()
            self.start_browser()
        assert self.browser is not None
        return self.browser

    def take_context(self, options: dict[str, Any]) -> tuple[BrowserContext, Page]:
        """A fresh context with one tab: the warm one if it has these options and is
        still good, else a new one. A context that starts from a session's saved state
        (``storage_state``) is always a new one, and the warm one is kept for later."""
        if "storage_state" in options:
            return self._new_context(options)
        warm, self._warm = self._warm, None
        if warm is not None:
            key, context, page = warm
            usable = self.browser is not None and self.browser.is_connected()
            if usable and key == _options_key(options) and not page.is_closed():
                return context, page
            with contextlib.suppress(Exception):
                context.close()
        return self._new_context(options)

    def _new_context(self, options: dict[str, Any]) -> tuple[BrowserContext, Page]:
        from nodes.browser import new_context

        context = new_context(self.ensure_browser(), options)
        metrics.OPEN_CONTEXTS.inc()
        context.on("close", lambda _: metrics.OPEN_CONTEXTS.dec())
        return context, context.new_page()

    def prewarm(self) -> None:
        """Open the next task's context and tab now (the default template's): that costs
        ~200 ms a task would otherwise wait for."""
        if self._warm is not None:
            return
        from nodes.browser import context_options

        options = context_options(load_template(DEFAULT_TEMPLATE))
        try:
            context, page = self.take_context(options)
        except Exception:  # the next task will open its own, or report why it cannot
            log.warning("could not prewarm a browser context", exc_info=True)
            return
        self._warm = (_options_key(options), context, page)

    def stop_browser(self) -> None:
        if self._warm is not None:
            with contextlib.suppress(Exception):
                self._warm[1].close()
            self._warm = None
        try:
            if self.browser is not None:
                self.browser.close()
        except Exception:  # the browser may already be gone; nothing to keep
            log.debug("browser close failed", exc_info=True)
        try:
            if self.playwright is not None:
                self.playwright.stop()
        except Exception:
            log.debug("playwright stop failed", exc_info=True)
        self.browser = self.playwright = None
        if self.downloads_dir is not None:
            shutil.rmtree(self.downloads_dir, ignore_errors=True)
            self.downloads_dir = None
        if self.egress is not None:
            self.egress.stop()
            self.egress = None
