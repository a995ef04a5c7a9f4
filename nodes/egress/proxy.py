"""The filtering forward proxy in front of a node's Chromium.

Chromium sends every connection here (``--proxy-server`` with ``<-loopback>``, so
loopback is not bypassed): page loads, redirects, subresources, frames, tabs,
fetch/XHR, WebSocket, EventSource, service workers and downloads. For each, the proxy
resolves the host once, checks every address against the egress policy, and connects
to a checked address, so DNS rebinding cannot swap it afterwards. HTTPS, WSS and WS
arrive as ``CONNECT host:port``; plain HTTP as an absolute-form request.

Why our own: the well-kept proxies (mitmproxy, proxy.py, Squid, tinyproxy) either
re-resolve names after a policy hook, check names rather than addresses, or bring a
process model and a configuration language of their own into every node. This one is
an asyncio server of about 250 lines, in a thread of the process that owns the
browser, so refusals are attributed to the attempt that process is running.

A refused CONNECT is answered 403 (Chromium: ``ERR_TUNNEL_CONNECTION_FAILED``); a
refused plain-HTTP request is hung up on without a response, so no page of ours is
shown in its place. Either way nothing of the destination reaches the browser.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ipaddress
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from nodes.egress.upstream import Upstream
from shared.egress import (
    EgressPolicy,
    Resolver,
    Rules,
    format_target,
    parse_ip,
    system_resolver,
)
from shared.errors import EgressRefused

log = logging.getLogger(__name__)

HEAD_LIMIT_BYTES = 64 * 1024
CHUNK_BYTES = 64 * 1024
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authorization"})
# How many refusals a process remembers (for the attempt running now); older ones are
# only counted.
REMEMBERED_REFUSALS = 256


class UpstreamError(OSError):
    """The destination or the upstream proxy could not be reached."""


@dataclass(frozen=True)
class Refusal:
    seq: int
    reason: str
    target: str
    message: str


class RefusalLog:
    """The refusals of one process's proxy, numbered, so an attempt can ask for those
    made since it started. Thread-safe: the proxy writes, the attempt reads."""

    def __init__(self, on_refused: Callable[[EgressRefused], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._recent: collections.deque[Refusal] = collections.deque(maxlen=REMEMBERED_REFUSALS)
        self._count = 0
        self._on_refused = on_refused

    def record(self, exc: EgressRefused) -> None:
        with self._lock:
            self._count += 1
            self._recent.append(Refusal(self._count, exc.reason, exc.target, exc.message))
        if self._on_refused is not None:
            with contextlib.suppress(Exception):  # a metric must never break a connection
                self._on_refused(exc)

    def mark(self) -> int:
        with self._lock:
            return self._count

    def since(self, mark: int) -> tuple[int, list[Refusal]]:
        """How many refusals came after ``mark``, and those still remembered."""
        with self._lock:
            return self._count - mark, [r for r in self._recent if r.seq > mark]

    def find(self, target: str, since: int = 0) -> Refusal | None:
        """The latest refusal of ``target`` (``host:port``) after ``since``."""
        with self._lock:
            for refusal in reversed(self._recent):
                if refusal.seq <= since:
                    break
                if refusal.target == target:
                    return refusal
        return None


def _bypass_rules(text: str) -> Rules:
    """Chromium's bypass syntax, as far as it names hosts: ``<...>`` tokens mean nothing
    here (the filter sees every connection), ``.example.com`` means its subdomains."""
    entries = []
    for raw in text.replace(";", ",").split(","):
        entry = raw.strip()
        if not entry or entry.startswith("<"):
            continue
        entries.append("*" + entry if entry.startswith(".") else entry)
    return Rules.parse(",".join(entries), "BROWSING_NODE_PROXY_BYPASS")


def _split_authority(authority: str, default_port: int) -> tuple[str, int]:
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    host, sep, port = authority.rpartition(":")
    if not sep:
        return authority, default_port
    return host, int(port)


def _authority(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


async def _copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await src.read(CHUNK_BYTES):
            dst.write(data)
            await dst.drain()


async def _pipe(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    """Copy both ways until either side ends (HTTP clients never half-close)."""
    tasks = [
        asyncio.ensure_future(_copy(client[0], upstream[1])),
        asyncio.ensure_future(_copy(upstream[0], client[1])),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()


class EgressProxy:
    """``start()`` serves on 127.0.0.1 in a daemon thread and returns the proxy URL."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        upstream: Upstream | None = None,
        bypass: str = "",
        resolver: Resolver = system_resolver,
        refusals: RefusalLog | None = None,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.policy = policy
        self.upstream = upstream
        self.bypass = _bypass_rules(bypass)
        self.resolver = resolver
        self.refusals = refusals or RefusalLog()
        self.connect_timeout_s = connect_timeout_s
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                server = loop.run_until_complete(
                    asyncio.start_server(self._serve, "127.0.0.1", 0, limit=HEAD_LIMIT_BYTES)
                )
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            ready.set()
            try:
                loop.run_forever()
            finally:
                server.close()
                with contextlib.suppress(Exception):
                    loop.run_until_complete(server.wait_closed())
                loop.close()

        self._thread = threading.Thread(target=run, name="egress-proxy", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self.url

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            with contextlib.suppress(RuntimeError):  # already closed
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        self._loop = self._thread = None

    # -- one client connection: one CONNECT tunnel, or one plain-HTTP exchange ---------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *headers = head[:-4].decode("latin-1").split("\r\n")
            method, target, version = request_line.split(" ", 2)
            if method == "CONNECT":
                await self._tunnel(reader, writer, target)
            else:
                await self._forward(reader, writer, method, target, version, headers)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # not HTTP, or gone before saying anything
        except (ConnectionError, OSError) as exc:
            log.debug("egress proxy connection ended: %s", exc)
        finally:
            _close(writer)

    async def _check(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            if parse_ip(host) is not None:  # nothing to resolve: no thread needed
                return self.policy.resolve(host, port, self.resolver)
            return await asyncio.wait_for(
                loop.run_in_executor(None, self.policy.resolve, host, port, self.resolver),
                self.connect_timeout_s,
            )
        except EgressRefused as exc:
            self.refusals.record(exc)
            raise

    async def _tunnel(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, authority: str
    ) -> None:
        host, port = _split_authority(authority, 443)
        try:
            addresses = await self._check(host, port)
            up = await self._open(host, port, addresses, tunnel=True)
        except EgressRefused:
            writer.write(
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        except (OSError, asyncio.TimeoutError) as exc:
            log.debug("egress proxy could not reach %s: %s", format_target(host, port), exc)
            writer.write(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        try:
            await _pipe((reader, writer), up)
        finally:
            _close(up[1])

    async def _forward(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        method: str,
        target: str,
        version: str,
        headers: list[str],
    ) -> None:
        url = urlsplit(target)
        if url.scheme != "http" or not url.hostname:
            if url.scheme:  # ftp:// and the like, sent to an HTTP proxy
                self.refusals.record(
                    EgressRefused(f"egress refused: {url.scheme}: is not allowed",
                                  reason="scheme", target=f"{url.scheme}:")
                )  # fmt: skip
            return
        port = url.port or 80
        try:
            addresses = await self._check(url.hostname, port)
            up = await self._open(url.hostname, port, addresses, tunnel=False)
        except EgressRefused:
            return  # hang up: Chromium fails the request, and shows nothing of ours
        except (OSError, asyncio.TimeoutError):
            writer.write(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        try:
            path = url.path or "/"
            if url.query:
                path += "?" + url.query
            upgrade = any(h.lower().startswith("upgrade:") for h in headers)
            kept = [h for h in headers if h.split(":", 1)[0].strip().lower() not in HOP_BY_HOP]
            if upgrade:
                kept.append("Connection: Upgrade")
            else:
                kept.append("Connection: close")  # one exchange per connection, then close
            if self._via_upstream(url.hostname, port) and self.upstream.scheme != "socks5":
                # Absolute form to the upstream proxy, aimed at the address we checked.
                request = f"{method} http://{_authority(addresses[0], port)}{path} {version}\r\n"
                request += self.upstream.authorization()
            else:
                request = f"{method} {path} {version}\r\n"
            up[1].write((request + "".join(h + "\r\n" for h in kept) + "\r\n").encode("latin-1"))
            sending = asyncio.ensure_future(_copy(reader, up[1]))
            try:
                response = await up[0].readuntil(b"\r\n\r\n")
                writer.write(self._response_head(response, upgrade))
                if upgrade:
                    await _pipe((reader, writer), up)
                else:
                    await _copy(up[0], writer)
            finally:
                sending.cancel()
        finally:
            _close(up[1])

    @staticmethod
    def _response_head(head: bytes, upgrade: bool) -> bytes:
        status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
        if upgrade and " 101 " in status_line + " ":
            return head
        kept = [h for h in lines if h.split(":", 1)[0].strip().lower() not in HOP_BY_HOP]
        return ("\r\n".join([status_line, *kept, "Connection: close"]) + "\r\n\r\n").encode(
            "latin-1"
        )

    # -- reaching the destination: directly, or through the operator's proxy ----------

    def _via_upstream(self, host: str, port: int) -> bool:
        if self.upstream is None:
            return False
        if self.bypass.matches_name(host, port):
            return False
        try:
            return not self.bypass.matches_ip(ipaddress.ip_address(host), port)
        except ValueError:
            return True

    async def _open(
        self, host: str, port: int, addresses: list[str], *, tunnel: bool
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if not self._via_upstream(host, port):
            return await self._connect_first(addresses, port)
        assert self.upstream is not None
        up = await self._connect_first([self.upstream.host], self.upstream.port)
        try:
            if self.upstream.scheme == "socks5":
                await self._socks5(up, addresses[0], port)
            elif tunnel:
                await self._http_connect(up, _authority(addresses[0], port))
        except BaseException:
            _close(up[1])
            raise
        return up

    async def _connect_first(
        self, addresses: list[str], port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        error: BaseException | None = None
        for address in addresses:
            try:
                return await asyncio.wait_for(
                    asyncio.open_connection(address, port, limit=HEAD_LIMIT_BYTES),
                    self.connect_timeout_s,
                )
            except (OSError, asyncio.TimeoutError) as exc:
                error = exc
        raise UpstreamError(f"could not connect to port {port}: {error}")

    async def _http_connect(
        self, up: tuple[asyncio.StreamReader, asyncio.StreamWriter], authority: str
    ) -> None:
        assert self.upstream is not None
        up[1].write(
            f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
            f"{self.upstream.authorization()}\r\n".encode("latin-1")
        )
        head = await asyncio.wait_for(up[0].readuntil(b"\r\n\r\n"), self.connect_timeout_s)
        status = head.split(b" ", 2)[1:2]
        if status != [b"200"]:
            raise UpstreamError(
                f"the upstream proxy answered {status[0].decode() if status else '?'}"
            )

    async def _socks5(
        self, up: tuple[asyncio.StreamReader, asyncio.StreamWriter], address: str, port: int
    ) -> None:
        assert self.upstream is not None
        reader, writer = up
        user, password = self.upstream.username.encode(), self.upstream.password.encode()
        writer.write(b"\x05\x01\x02" if user else b"\x05\x01\x00")
        method = await reader.readexactly(2)
        if method[1] == 0x02 and user:
            writer.write(bytes([1, len(user)]) + user + bytes([len(password)]) + password)
            if (await reader.readexactly(2))[1] != 0:
                raise UpstreamError("the SOCKS5 proxy refused the credentials")
        elif method[1] != 0x00:
            raise UpstreamError("the SOCKS5 proxy offers no usable authentication")
        ip = ipaddress.ip_address(address)
        kind = b"\x01" if ip.version == 4 else b"\x04"
        writer.write(b"\x05\x01\x00" + kind + ip.packed + port.to_bytes(2, "big"))
        reply = await reader.readexactly(4)
        if reply[1] != 0:
            raise UpstreamError(f"the SOCKS5 proxy could not connect (code {reply[1]})")
        bound = {1: 4, 4: 16}.get(reply[3])
        if bound is None:
            bound = (await reader.readexactly(1))[0]
        await reader.readexactly(bound + 2)
