"""The operator's upstream proxy (``BROWSING_NODE_PROXY``): HTTP or SOCKS5, with
optional credentials that never appear in ``info``, a log line or a ``repr``."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from shared.errors import ConfigError

SCHEMES = ("http", "https", "socks5")


@dataclass(frozen=True)
class Upstream:
    scheme: str  # "http" or "socks5" ("https" means an HTTP proxy reached over plain TCP)
    host: str
    port: int
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)

    @classmethod
    def parse(cls, url: str) -> Upstream | None:
        """``http://user:pass@host:port`` or ``socks5://host:port``; None if empty."""
        if not url:
            return None
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme not in SCHEMES or not parts.hostname or not port:
            raise ConfigError(
                "BROWSING_NODE_PROXY must look like http://[user:pass@]host:port "
                "or socks5://host:port"
            )
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=port,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )

    @property
    def server(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def authorization(self) -> str:
        """A ``Proxy-Authorization`` header line (with CRLF), or "" without credentials."""
        if not self.username:
            return ""
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Proxy-Authorization: Basic {token}\r\n"


def proxy_settings(url: str, bypass: str = "") -> dict[str, str] | None:
    """Playwright's ``proxy`` launch option for ``http://user:pass@host:port``; None if empty."""
    upstream = Upstream.parse(url)
    if upstream is None:
        return None
    proxy = {"server": upstream.server}
    if upstream.username:
        proxy["username"] = upstream.username
        proxy["password"] = upstream.password
    if bypass:
        proxy["bypass"] = bypass
    return proxy


def describe_egress(url: str) -> str:
    """What ``info`` may say about the egress: never the credentials."""
    upstream = Upstream.parse(url)
    return upstream.server if upstream is not None else "direct"
