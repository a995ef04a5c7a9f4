"""A throwaway HTTP server for the static test pages in this directory.

Dynamic paths besides the files: ``/slow?ms=N`` answers after N ms (a slow server,
not a slow script), ``/redirect?to=URL`` answers 302 to URL, ``/embed?src=URL`` is a
page titled "Embedding Page" showing an image from URL, and two downloads (attachments,
linked from export.html): ``/export.csv`` (``EXPORT_CSV``, named "report 2026.csv") and
``/big.bin?bytes=N`` (N bytes, sent over a few seconds; ``&name=`` names the file,
``&seconds=S`` spreads a small one over S seconds).
``POST /upload`` takes a multipart form (upload.html's) and records each file part it
receives in ``RECEIVED``, so a test can compare the bytes a browser sent.
"""

from __future__ import annotations

import hashlib
import html
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

SITES_DIR = Path(__file__).resolve().parent


SLOW_PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Slow Server</title>"
    "</head><body><main><h1>Slow server</h1><p>This page took {ms} ms to answer.</p>"
    "</main></body></html>"
)

EMBED_PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Embedding Page</title>"
    "</head><body><main><h1>An embedded image</h1><img src='{src}' alt='embedded'></main>"
    "</body></html>"
)


@dataclass(frozen=True)
class ReceivedFile:
    field: str  # the form field's name
    filename: str
    content_type: str
    data: bytes


# Every file part POST /upload received, in order (tests clear it).
RECEIVED: list[ReceivedFile] = []


def parse_multipart(content_type: str, body: bytes) -> list[ReceivedFile]:
    """The file parts of a multipart/form-data body (the email parser reads MIME)."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    files = []
    for part in message.iter_parts():  # type: ignore[attr-defined]
        filename = part.get_filename()
        if filename is None:
            continue
        files.append(
            ReceivedFile(
                field=part.get_param("name", header="content-disposition") or "",
                filename=filename,
                content_type=part.get_content_type(),
                data=part.get_payload(decode=True) or b"",
            )
        )
    return files


EXPORT_CSV = b"id,name,total\n1,Alice,42\n2,Bob,17\n"
EXPORT_NAME = "report 2026.csv"


class _QuietHandler(SimpleHTTPRequestHandler):
    # Browsers ask for favicons and keep-alive probes; logging them drowns test output.
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/slow":
            ms = min(10_000, int(query.get("ms", ["1000"])[0]))
            time.sleep(ms / 1000)
            self._send(200, SLOW_PAGE.format(ms=ms).encode(), "text/html; charset=utf-8")
        elif url.path == "/embed":
            src = html.escape(query.get("src", [""])[0], quote=True)
            page = EMBED_PAGE.format(src=src).encode()
            self._send(200, page, "text/html; charset=utf-8")
        elif url.path == "/export.csv":
            self._attachment(EXPORT_CSV, EXPORT_NAME, "text/csv; charset=utf-8")
        elif url.path == "/big.bin":
            self._big(
                min(200_000_000, int(query.get("bytes", ["1000000"])[0])),
                name=query.get("name", ["big.bin"])[0],
                seconds=float(query.get("seconds", ["0"])[0]),
            )
        elif url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query.get("to", ["/"])[0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            super().do_GET()

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/upload":
            self._send(404, b"not found", "text/plain")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        files = [
            f for f in parse_multipart(self.headers.get("Content-Type", ""), body) if f.filename
        ]
        RECEIVED.extend(files)
        items = "".join(
            f"<li>{html.escape(f.field)}: {html.escape(f.filename)}, {len(f.data)} bytes, "
            f"sha256 {hashlib.sha256(f.data).hexdigest()}</li>"
            for f in files
        )
        page = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Upload Received"
            f"</title></head><body><main><h1>Received {len(files)} files</h1><ul>{items}</ul>"
            "</main></body></html>"
        )
        self._send(200, page.encode(), "text/html; charset=utf-8")

    def _attachment(self, body: bytes, name: str, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Disposition", f'attachment; filename="{name}"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _big(self, size: int, *, name: str = "big.bin", seconds: float = 0) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Disposition", f'attachment; filename="{name}"')
        self.send_header("Content-Length", str(size))
        self.end_headers()
        chunk = b"x" * 65_536
        # Slow enough for the node to see it grow; ``seconds``: spread over that long.
        pause = max(0.01, seconds / max(1, -(-size // len(chunk))))
        try:
            for start in range(0, size, len(chunk)):
                self.wfile.write(chunk[: size - start])
                time.sleep(pause)
        except OSError:  # the browser stopped the download
            pass

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serve_sites(directory: Path = SITES_DIR) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) and yield its base URL."""
    handler = partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="test-sites", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
