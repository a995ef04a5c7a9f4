"""The node's egress proxy over real sockets, without a browser: HTTP/1.1 framing and
keep-alive on both sides, and the operator's upstream proxy (HTTP CONNECT with
credentials, and SOCKS5) behind it, always given the address the policy checked."""

from __future__ import annotations

import base64
import contextlib
import http.client
import socket
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nodes.egress import Upstream
from nodes.egress.proxy import EgressProxy
from shared.egress import EgressPolicy, Rules


class Origin:
    """An HTTP/1.1 keep-alive server counting the connections it accepted."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[tuple[str, str, bytes, str]] = []  # method, path, body, Host
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                origin.connections += 1
                super().setup()

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                host = self.headers.get("Host", "")
                origin.requests.append((self.command, self.path, body, host))
                if self.path == "/chunked":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for part in (b"first,", b"second,", b"third"):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                    return
                reply = b"echo:" + body if body else b"hello from " + self.path.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply)

            do_GET = do_POST = do_HEAD = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _relay(a: socket.socket, b: socket.socket) -> None:
    def pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    threading.Thread(target=pump, args=(b, a), daemon=True).start()
    pump(a, b)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def _serving(handler: type[socketserver.BaseRequestHandler]) -> Iterator[int]:
    """Serve ``handler`` on a free loopback port (yielded) until the block ends."""
    server = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def connect_proxy() -> Iterator[tuple[int, list[tuple[str, str]]]]:
    """An upstream HTTP proxy that accepts CONNECT only: (port, [(target, auth)])."""
    seen: list[tuple[str, str]] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            head = b""
            while b"\r\n\r\n" not in head:
                head += self.request.recv(4096)
            lines = head.decode().split("\r\n")
            target = lines[0].split(" ")[1]
            auth = next((x.split(": ", 1)[1] for x in lines if x.startswith("Proxy-Auth")), "")
            seen.append((target, auth))
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _relay(self.request, upstream)

    with _serving(Handler) as port:
        yield port, seen


@pytest.fixture()
def socks_proxy() -> Iterator[tuple[int, list[tuple[str, int, bytes]]]]:
    """A SOCKS5 server with username/password auth: (port, [(address, port, user)])."""
    seen: list[tuple[str, int, bytes]] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock = self.request
            _, n = sock.recv(2)
            methods = sock.recv(n)
            assert 2 in methods
            sock.sendall(b"\x05\x02")
            _, ulen = sock.recv(2)
            user = sock.recv(ulen)
            plen = sock.recv(1)[0]
            sock.recv(plen)
            sock.sendall(b"\x01\x00")
            _, _, _, kind = sock.recv(4)
            raw = sock.recv(4 if kind == 1 else 16)
            port = int.from_bytes(sock.recv(2), "big")
            family = socket.AF_INET if kind == 1 else socket.AF_INET6
            address = socket.inet_ntop(family, raw)
            seen.append((address, port, user))
            upstream = socket.create_connection((address, port))
            sock.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + b"\x00\x00")
            _relay(sock, upstream)

    with _serving(Handler) as port:
        yield port, seen


@pytest.fixture()
def origin() -> Iterator[Origin]:
    server = Origin()
    try:
        yield server
    finally:
        server.close()


def _resolve(host: str, port: int) -> list[str]:
    """DNS for these tests: origin.test is this machine."""
    return {"origin.test": ["127.0.0.1"]}.get(host) or [socket.gethostbyname(host)]


def _proxy(origin: Origin, upstream: str = "", **kw: object) -> EgressProxy:
    allowed = Rules.parse(f"127.0.0.1:{origin.port}", "ALLOW")
    proxy = EgressProxy(
        EgressPolicy(allow=allowed), upstream=Upstream.parse(upstream), resolver=_resolve, **kw
    )
    proxy.start()
    return proxy


def _client(proxy: EgressProxy) -> http.client.HTTPConnection:
    port = int(proxy.url.rsplit(":", 1)[1])
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10)


def test_plain_http_keeps_both_connections_alive_and_frames_every_body(origin):
    proxy = _proxy(origin)
    try:
        client = _client(proxy)
        base = f"http://127.0.0.1:{origin.port}"
        client.request("GET", base + "/one")
        first = client.getresponse()
        assert (first.status, first.read()) == (200, b"hello from /one")
        client.request("POST", base + "/echo", body=b"payload", headers={"X-Test": "1"})
        assert client.getresponse().read() == b"echo:payload"
        client.request("GET", base + "/chunked")
        chunked = client.getresponse()
        assert chunked.read() == b"first,second,third"
        client.request("HEAD", base + "/head")
        head = client.getresponse()
        assert head.status == 200 and head.read() == b""
        client.request("GET", base + "/last")
        assert client.getresponse().read() == b"hello from /last"
        client.close()
    finally:
        proxy.stop()
    assert [r[:2] for r in origin.requests] == [
        ("GET", "/one"),
        ("POST", "/echo"),
        ("GET", "/chunked"),
        ("HEAD", "/head"),
        ("GET", "/last"),
    ]
    assert origin.requests[0][3] == f"127.0.0.1:{origin.port}"  # Host as the client sent it
    assert origin.connections == 1  # five exchanges, one upstream connection


def test_a_refused_request_on_a_kept_alive_connection_never_reaches_anyone(origin):
    other = Origin()
    proxy = _proxy(origin)
    try:
        client = _client(proxy)
        client.request("GET", f"http://127.0.0.1:{origin.port}/ok")
        assert client.getresponse().read() == b"hello from /ok"
        client.request("GET", f"http://127.0.0.1:{other.port}/secret")
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            client.getresponse()
    finally:
        proxy.stop()
        other.close()
    assert other.requests == [] and other.connections == 0
    assert proxy.refusals.find(f"127.0.0.1:{other.port}").reason == "loopback"


def test_an_upstream_http_proxy_gets_the_checked_address_and_the_credentials(origin, connect_proxy):
    port, seen = connect_proxy
    proxy = _proxy(origin, f"http://agent:pa%3Ass@127.0.0.1:{port}")
    try:
        tunnel = socket.create_connection(("127.0.0.1", int(proxy.url.rsplit(":", 1)[1])))
        tunnel.sendall(f"CONNECT origin.test:{origin.port} HTTP/1.1\r\n\r\n".encode())
        assert tunnel.recv(4096).startswith(b"HTTP/1.1 200")
        tunnel.sendall(b"GET /through HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n")
        reply = b""
        while data := tunnel.recv(4096):
            reply += data
        tunnel.close()
        refused = socket.create_connection(("127.0.0.1", int(proxy.url.rsplit(":", 1)[1])))
        refused.sendall(b"CONNECT 127.0.0.1:6379 HTTP/1.1\r\n\r\n")
        assert refused.recv(4096).startswith(b"HTTP/1.1 403")
        refused.close()
    finally:
        proxy.stop()
    assert reply.endswith(b"hello from /through")
    # origin.test was resolved and checked here; the upstream was given that address.
    assert seen == [
        (f"127.0.0.1:{origin.port}", "Basic " + base64.b64encode(b"agent:pa:ss").decode())
    ]


def test_a_socks5_upstream_gets_the_checked_address(origin, socks_proxy):
    port, seen = socks_proxy
    proxy = _proxy(origin, f"socks5://node:secret@127.0.0.1:{port}")
    try:
        client = _client(proxy)
        client.request("GET", f"http://origin.test:{origin.port}/via-socks")
        assert client.getresponse().read() == b"hello from /via-socks"
        client.close()
    finally:
        proxy.stop()
    assert seen == [("127.0.0.1", origin.port, b"node")]
    assert origin.requests[0][3] == f"origin.test:{origin.port}"


def test_the_bypass_list_goes_around_the_upstream_not_around_the_policy(origin, connect_proxy):
    port, seen = connect_proxy
    proxy = _proxy(origin, f"http://127.0.0.1:{port}", bypass="<-loopback>;127.0.0.0/8")
    try:
        client = _client(proxy)
        client.request("GET", f"http://127.0.0.1:{origin.port}/direct")
        assert client.getresponse().read() == b"hello from /direct"
        client.request("GET", "http://127.0.0.1:6379/")
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            client.getresponse()
    finally:
        proxy.stop()
    assert seen == []  # neither request went to the upstream proxy
    assert proxy.refusals.find("127.0.0.1:6379") is not None
