"""HTTP/1.1 message framing for the egress proxy (RFC 9112, section 6): where a request
or a response ends, so that one client connection and one upstream connection can carry
many exchanges instead of a new pair of TCP connections per request."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

CHUNK_BYTES = 64 * 1024
# Connection-scoped headers a proxy must not pass on (RFC 9110, section 7.6.1).
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
     "upgrade"}
)  # fmt: skip

NO_BODY, LENGTH, CHUNKED, UNTIL_CLOSE = "none", "length", "chunked", "close"


@dataclass
class Head:
    """A request or status line and its header fields, as they came."""

    start: str
    fields: list[tuple[str, str]]

    @classmethod
    def parse(cls, raw: bytes) -> Head:
        start, *lines = raw[:-4].decode("latin-1").split("\r\n")
        fields = []
        for line in lines:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise ValueError(f"malformed header line {line!r}")
            fields.append((name, value.strip()))
        return cls(start, fields)

    def get(self, name: str) -> str | None:
        found = None
        for key, value in self.fields:
            if key.lower() == name:
                found = value
        return found

    def tokens(self, name: str) -> set[str]:
        """The comma-separated tokens of every ``name`` field, lower-cased."""
        return {
            token.strip().lower()
            for key, value in self.fields
            if key.lower() == name
            for token in value.split(",")
            if token.strip()
        }

    def encode(self, start: str | None = None, extra: tuple[str, ...] = ()) -> bytes:
        """The head without hop-by-hop fields (nor those the Connection field names),
        with ``extra`` lines added."""
        dropped = HOP_BY_HOP | self.tokens("connection")
        lines = [start or self.start]
        lines += [f"{k}: {v}" for k, v in self.fields if k.lower() not in dropped]
        lines += extra
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    @property
    def status(self) -> int:
        return int(self.start.split(" ", 2)[1])


async def read_head(reader: asyncio.StreamReader) -> Head | None:
    """The next message head, or None if the peer closed before sending one."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise
    return Head.parse(raw)


def request_framing(head: Head) -> tuple[str, int]:
    if "chunked" in head.tokens("transfer-encoding"):
        return CHUNKED, 0
    length = head.get("content-length")
    return (LENGTH, int(length)) if length else (NO_BODY, 0)


def response_framing(head: Head, method: str) -> tuple[str, int]:
    status = head.status
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return NO_BODY, 0
    if "chunked" in head.tokens("transfer-encoding"):
        return CHUNKED, 0
    length = head.get("content-length")
    if length is not None:
        return LENGTH, int(length)
    return UNTIL_CLOSE, 0


async def relay_body(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    framing: str,
    length: int,
    head: bytes = b"",
) -> None:
    """Copy one message body, exactly as framed, after ``head`` (sent with the body's
    first bytes: one send for a small message instead of two). Raises
    IncompleteReadError if the sender closes early."""
    pending = head

    def send(data: bytes) -> None:
        nonlocal pending
        if pending:
            data, pending = pending + data, b""
        writer.write(data)

    if framing == LENGTH:
        while length > 0:
            data = await reader.read(min(length, CHUNK_BYTES))
            if not data:
                raise asyncio.IncompleteReadError(b"", length)
            send(data)
            length -= len(data)
            await writer.drain()
    elif framing == CHUNKED:
        while True:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                send(line)
                while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":
                    send(trailer)
                send(b"\r\n")
                break
            send(line + await reader.readexactly(size + 2))
            await writer.drain()
    elif framing == UNTIL_CLOSE:
        while data := await reader.read(CHUNK_BYTES):
            send(data)
            await writer.drain()
    if pending:
        writer.write(pending)
    await writer.drain()
