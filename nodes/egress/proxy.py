"""The filtering forward proxy in front of a node's Chromium.

Chromium sends every connection here (``--proxy-server`` with ``<-loopback>``, so
loopback is not bypassed): page loads, redirects, subresources, frames, tabs,
fetch/XHR, WebSocket, EventSource, service workers and downloads. For each, the proxy
resolves the host once, checks every address against the egress policy, and connects
to a checked address, so DNS rebinding cannot swap it afterwards. HTTPS, WSS and WS
arrive as ``CONNECT host:port``; plain HTTP as absolute-form requests, kept alive on
both sides (``http1.py`` frames them) as a direct connection would be.

Why our own: the well-kept proxies (mitmproxy, proxy.py, Squid, tinyproxy) either
re-resolve names after a policy hook, check names rather than addresses, or bring a
process model and a configuration language of their own into every node. This one is
an asyncio server of a few hundred lines, in a thread of the process that owns the
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

from nodes.egress.http1 import (
    CHUNK_BYTES,
    UNTIL_CLOSE,
    Head,
    read_head,
    relay_body,
    request_framing,
    response_framing,
)
from nodes.egress.upstream import Upstream
from shared.egress import (
    UNREACHABLE_HEADER,
    EgressPolicy,
    Resolver,
    Rules,
    format_target,
    parse_ip,
    split_host_port,
    system_resolver,
)
from shared.errors import EgressRefused

log = logging.getLogger(__name__)

HEAD_LIMIT_BYTES = 64 * 1024
# What a plain-HTTP request whose destination (or upstream proxy) could not be reached
# gets. Chromium shows a proxy's 502 as a page, where a direct connection would have
# failed; the header (shared/egress.py) lets the agent fail the step the same way.
BAD_GATEWAY = (
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n"
    + UNREACHABLE_HEADER.encode()
    + b": unreachable\r\n\r\n"
)
# Idle upstream connections one client connection keeps, one per host:port.
POOLED_PER_CLIENT = 4
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


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop where it is installed (every Linux and macOS install of this
    project): its transports cost a fraction of asyncio's per connection and per write,
    which is most of what this proxy spends; asyncio's own elsewhere."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()


@dataclass
class _Upstream:
    address: str  # the checked address it is connected to (or the upstream proxy is sent)
    pair: tuple[asyncio.StreamReader, asyncio.StreamWriter]


class _UpstreamPool:
    """A client connection's idle upstream connections, by the host:port it asked for.
    A connection is reused only for the host:port it was checked and opened for."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], _Upstream] = {}

    def take(self, host: str, port: int) -> _Upstream | None:
        up = self._idle.pop((host.lower(), port), None)
        if up is not None and (up.pair[0].at_eof() or up.pair[1].is_closing()):
            _close(up.pair[1])
            return None
        return up

    def put(self, host: str, port: int, up: _Upstream) -> None:
        key = (host.lower(), port)
        old = self._idle.pop(key, None)
        if old is not None:
            _close(old.pair[1])
        self._idle[key] = up
        while len(self._idle) > POOLED_PER_CLIENT:
            _close(self._idle.pop(next(iter(self._idle))).pair[1])

    def close(self) -> None:
        for up in self._idle.values():
            _close(up.pair[1])
        self._idle.clear()


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
            loop = _new_event_loop()
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
                # Open connections end with the proxy: their tasks are cancelled, and each
                # closes its sockets on the way out.
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                with contextlib.suppress(Exception):
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
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
        """One client connection: a CONNECT tunnel, or plain-HTTP exchanges kept alive
        for as long as both sides allow, each with its upstream connection reused."""
        pool = _UpstreamPool()
        try:
            while (head := await read_head(reader)) is not None:
                method, target, version = head.start.split(" ", 2)
                if method == "CONNECT":
                    await self._tunnel(reader, writer, target)
                    return
                if not await self._exchange(reader, writer, head, method, target, version, pool):
                    return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # not HTTP, or a side went away mid-message
        except (ConnectionError, OSError) as exc:
            log.debug("egress proxy connection ended: %s", exc)
        except asyncio.CancelledError:
            pass  # the proxy is stopping; asyncio would log a cancelled handler as an error
        finally:
            pool.close()
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
        host, port = split_host_port(authority)
        port = port or 443
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
            writer.write(BAD_GATEWAY)
            return
        writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        try:
            await _pipe((reader, writer), up)
        finally:
            _close(up[1])

    async def _exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        head: Head,
        method: str,
        target: str,
        version: str,
        pool: _UpstreamPool,
    ) -> bool:
        """Forward one plain-HTTP request and its response; whether the client
        connection can carry another."""
        url = urlsplit(target)
        if url.scheme != "http" or not url.hostname:
            if url.scheme:  # ftp:// and the like, sent to an HTTP proxy
                self.refusals.record(
                    EgressRefused(f"egress refused: {url.scheme}: is not allowed",
                                  reason="scheme", target=f"{url.scheme}:")
                )  # fmt: skip
            return False
        host, port = url.hostname, url.port or 80
        up = pool.take(host, port)
        if up is None:
            try:
                addresses = await self._check(host, port)
                up = _Upstream(address=addresses[0], pair=await self._open(host, port, addresses))
            except EgressRefused:
                return False  # hang up: Chromium fails the request, and shows nothing of ours
            except (OSError, asyncio.TimeoutError):
                writer.write(BAD_GATEWAY)
                return False
        reusable = False
        try:
            path = (url.path or "/") + (f"?{url.query}" if url.query else "")
            upgrade = "upgrade" in head.tokens("connection") and head.get("upgrade")
            extra = (f"Upgrade: {upgrade}", "Connection: Upgrade") if upgrade else ()
            if self._via_upstream(host, port) and self.upstream.scheme != "socks5":
                # Absolute form to the upstream proxy, aimed at the address we checked.
                start = f"{method} http://{format_target(up.address, port)}{path} {version}"
                auth = self.upstream.authorization().strip()
                extra += (auth,) if auth else ()
            else:
                start = f"{method} {path} {version}"
            up_reader, up_writer = up.pair
            await relay_body(reader, up_writer, *request_framing(head), head.encode(start, extra))
            while True:
                response = await read_head(up_reader)
                if response is None:
                    raise ConnectionResetError("the server closed without answering")
                if response.status == 101 and upgrade:
                    writer.write(response.encode(extra=extra))
                    await _pipe((reader, writer), up.pair)
                    return False
                if not 100 <= response.status < 200:
                    break
                writer.write(response.encode())  # 100 Continue, 103 Early Hints
            framing, length = response_framing(response, method)
            client_done = "close" in head.tokens("connection") or version == "HTTP/1.0"
            keep = framing != UNTIL_CLOSE and not client_done
            closing = () if keep else ("Connection: close",)
            await relay_body(up_reader, writer, framing, length, response.encode(extra=closing))
            reusable = (
                framing != UNTIL_CLOSE
                and "close" not in response.tokens("connection")
                and response.start.startswith("HTTP/1.1")
            )
            return keep
        finally:
            if reusable:
                pool.put(host, port, up)
            else:
                _close(up.pair[1])

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
        self, host: str, port: int, addresses: list[str], *, tunnel: bool = False
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if not self._via_upstream(host, port):
            return await self._connect_first(addresses, port)
        assert self.upstream is not None
        up = await self._connect_first([self.upstream.host], self.upstream.port)
        try:
            if self.upstream.scheme == "socks5":
                await self._socks5(up, addresses[0], port)
            elif tunnel:
                await self._http_connect(up, format_target(addresses[0], port))
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
