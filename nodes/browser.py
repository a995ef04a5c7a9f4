"""Starting headless Chromium through Playwright, the same way on every node.

Nodes use the distribution's Chromium when there is one (offline machines
cannot run ``playwright install``) and fall back to Playwright's own download.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from shared.errors import ConfigError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Playwright

# Chromium refuses to start as root with its sandbox on. (Playwright itself also
# launches Chromium without its sandbox unless ``chromium_sandbox=True``, which needs user
# namespaces that container runtimes usually refuse; so the browser runs unsandboxed, and
# ``browser_env`` keeps the node's secrets out of its environment.)
_SANDBOX_ARGS: tuple[str, ...] = ("--no-sandbox",) if os.geteuid() == 0 else ()

CHROMIUM_ARGS: tuple[str, ...] = _SANDBOX_ARGS + (
    "--disable-gpu",
    # QUIC and the background services open connections nobody asked for;
    # they make runs slower and leak traffic from isolated nodes.
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # /dev/shm is tiny in most containers; Chromium crashes on big pages without this.
    "--disable-dev-shm-usage",
    # WebRTC's UDP does not go through a proxy, so it would get past the egress filter.
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)

# The headless shell first: it is the build Playwright itself runs headless, and a fresh
# context with its tab costs a quarter of the CPU the full browser's headless mode takes
# (about 70 ms against 280 ms on the test machine), which is most of a short task's cost.
SYSTEM_CHROMIUM_PATHS: tuple[str, ...] = (
    "/usr/bin/chromium-headless-shell",
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
)


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def chromium_executable(configured: str | None = None) -> str | None:
    """The Chromium binary to launch, or None for Playwright's downloaded one.

    A configured path that does not exist is a configuration error rather than
    a silent fallback: the operator asked for that binary on purpose.
    """
    if configured:
        if not _is_executable(configured):
            raise ConfigError(f"Chromium executable not found or not executable: {configured}")
        return configured
    for candidate in SYSTEM_CHROMIUM_PATHS:
        if _is_executable(candidate):
            return candidate
    return None


# What Chromium's own process may see of the node's environment: nothing that holds a
# secret (the worker has the S3 keys, the Redis URL with its password, the state key).
# Without a sandbox (as root, and as Playwright launches it by default), a renderer
# exploit runs as the browser's user and could read the browser's environment.
_BROWSER_ENV = frozenset(
    "PATH HOME USER LOGNAME SHELL LANG LANGUAGE TZ TMPDIR TEMP TMP LD_LIBRARY_PATH"
    " SSL_CERT_FILE SSL_CERT_DIR".split()
)
_BROWSER_ENV_PREFIXES = ("LC_", "XDG_", "FONTCONFIG")


def browser_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment Chromium is started with: the locale, time zone, paths and fonts
    of the node's, and no other variable."""
    environ = dict(os.environ if environ is None else environ)
    return {
        k: v for k, v in environ.items() if k in _BROWSER_ENV or k.startswith(_BROWSER_ENV_PREFIXES)
    }


def launch_chromium(
    playwright: Playwright,
    executable: str | None = None,
    proxy: dict[str, str] | None = None,
    downloads_path: str | None = None,
) -> Browser:
    """Launch headless Chromium; the caller closes the returned browser.
    ``downloads_path``: where its downloads go (nodes/downloads.py watches it)."""
    from playwright.sync_api import Error as PlaywrightError

    path = chromium_executable(executable)
    try:
        return playwright.chromium.launch(
            headless=True,
            executable_path=path,
            args=list(CHROMIUM_ARGS),
            proxy=proxy,
            downloads_path=downloads_path,
            env=browser_env(),
        )
    except PlaywrightError as exc:
        first_line = (exc.message or str(exc)).strip().splitlines()[:1]
        detail = first_line[0] if first_line else type(exc).__name__
        raise ConfigError(
            f"could not start Chromium ({path or 'Playwright bundled browser'}): {detail}"
        ) from exc


def context_options(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """``browser.new_context`` keyword arguments for a browsing template."""
    template = template or {}
    viewport = template.get("viewport") or {}
    options: dict[str, Any] = {
        "viewport": {
            "width": int(viewport.get("width", 1280)),
            "height": int(viewport.get("height", 800)),
        },
        # A fixed scale keeps screenshot pixel sizes equal to the viewport.
        "device_scale_factor": 1,
        # Caught per attempt, capped, and kept as the task's files (nodes/downloads.py).
        "accept_downloads": True,
    }
    for key, option in (
        ("locale", "locale"),
        ("timezone", "timezone_id"),
        ("user_agent", "user_agent"),
    ):
        if template.get(key):
            options[option] = template[key]
    return options


def new_context(browser: Browser, options: dict[str, Any] | None = None) -> BrowserContext:
    """A fresh, isolated context: no cookies or storage shared between tasks."""
    return browser.new_context(**(options or context_options()))
