"""A node's way out to the web: direct, or through an upstream HTTP or SOCKS5 proxy."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from shared.errors import ConfigError

SCHEMES = ("http", "https", "socks5")


def proxy_settings(url: str, bypass: str = "") -> dict[str, str] | None:
    """Playwright's ``proxy`` launch option for ``http://user:pass@host:port``; None if empty."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname or not parts.port:
        raise ConfigError(
            "BROWSING_NODE_PROXY must look like http://[user:pass@]host:port or socks5://host:port"
        )
    proxy = {"server": f"{parts.scheme}://{parts.hostname}:{parts.port}"}
    if parts.username:
        proxy["username"] = unquote(parts.username)
        proxy["password"] = unquote(parts.password or "")
    if bypass:
        proxy["bypass"] = bypass
    return proxy


def describe_egress(url: str) -> str:
    """What ``info`` may say about the egress: never the credentials."""
    if not url:
        return "direct"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port}"
