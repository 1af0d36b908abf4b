"""Just enough HTTP/1.1 for a reverse proxy: message heads, and bodies copied as streams.

A head is read whole (up to MAX_HEAD bytes) and parsed into a `Head`: the start
line's three parts and the header fields in order, names as sent. Bodies are
never held in memory: `copy_body` moves them from one stream to another in
chunks, framed the way RFC 9112 section 6 says the message is framed:

    Transfer-Encoding: chunked    -> the chunks, passed through as they come (or
                                     decoded, for an HTTP/1.0 client)
    Content-Length: N             -> exactly N bytes
    neither, in a response        -> until the server closes (re-chunked for an
                                     HTTP/1.1 client, so its connection stays usable)
    neither, in a request; HEAD, 1xx, 204 and 304 responses -> no body

Hop-by-hop fields (Connection and the fields it names, Keep-Alive, TE, Trailer,
Transfer-Encoding, Upgrade, Proxy-*) belong to one connection and are dropped by
`end_to_end` before a message is passed on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

MAX_HEAD = 64 * 1024
CHUNK = 64 * 1024
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
              "transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authorization"}


class BadMessage(Exception):
    """A message head or body that is not HTTP/1.1; the connection cannot go on."""


@dataclass
class Head:
    first: str                    # method, or the response's version
    second: str                   # target, or the status code
    third: str                    # version, or the reason phrase
    headers: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return default

    def tokens(self, name: str) -> set[str]:
        """The comma-separated values of every `name` field, lower-cased."""
        name = name.lower()
        return {t.strip().lower() for key, value in self.headers if key.lower() == name
                for t in value.split(",") if t.strip()}

    def encode(self) -> bytes:
        lines = [f"{self.first} {self.second} {self.third}"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def read_head(reader: asyncio.StreamReader) -> bytes | None:
    """One message head (without its blank line); None at a clean end of stream."""
    try:
        data = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise BadMessage("the connection closed inside a message head") from exc
    except asyncio.LimitOverrunError as exc:
        raise BadMessage(f"message head larger than {MAX_HEAD} bytes") from exc
    return data[:-4]


def parse_head(data: bytes) -> Head:
    lines = data.decode("latin-1").split("\r\n")
    while lines and not lines[0]:                 # RFC 9112 2.2: ignore leading CRLFs
        lines.pop(0)
    if not lines:
        raise BadMessage("empty message head")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2:
        raise BadMessage(f"bad start line {lines[0][:80]!r}")
    head = Head(parts[0], parts[1], parts[2] if len(parts) > 2 else "")
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        # A lone CR or LF passed on could split the message differently downstream
        # (request smuggling): refuse it, as every strict parser does.
        if not colon or not name or name != name.strip() or "\n" in line or "\r" in line:
            raise BadMessage(f"bad header line {line[:80]!r}")
        head.headers.append((name, value.strip()))
    return head


def end_to_end(headers: list[tuple[str, str]], keep: tuple[str, ...] = (),
               chunked: bool = False) -> list:
    """The fields to pass on. `chunked`: the message is chunked, so a Content-Length
    it also carries is dropped (RFC 9112 6.3: a proxy must not forward both)."""
    named = {t.strip().lower() for k, v in headers if k.lower() == "connection"
             for t in v.split(",")}
    dropped = (HOP_BY_HOP | named) - set(keep)
    if chunked:
        dropped.add("content-length")
    return [(k, v) for k, v in headers if k.lower() not in dropped]


def framing(head: Head, *, request: bool, method: str = "GET") -> tuple[str, int]:
    """("chunked", 0), ("length", N), ("close", 0) or ("none", 0)."""
    if not request:
        status = int(head.second) if head.second.isdigit() else 0
        if method == "HEAD" or status < 200 or status in (204, 304):
            return "none", 0
    if "chunked" in head.tokens("transfer-encoding"):
        return "chunked", 0                 # and any Content-Length is ignored (and dropped)
    lengths = {v.strip() for k, v in head.headers if k.lower() == "content-length"}
    if lengths:
        length = lengths.pop()
        if lengths or not length.isdigit():
            raise BadMessage(f"bad Content-Length {head.get('content-length')!r}")
        return "length", int(length)
    return ("none", 0) if request else ("close", 0)


async def copy_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    kind: str, length: int = 0, *, rechunk: bool = False,
                    dechunk: bool = False) -> None:
    """Copy one body. `rechunk`: send a close-delimited body as chunks; `dechunk`:
    send a chunked body's data only (to an HTTP/1.0 peer)."""
    if kind == "length":
        while length > 0:
            data = await reader.read(min(CHUNK, length))
            if not data:
                raise BadMessage("the body ended early")
            writer.write(data)
            length -= len(data)
            await writer.drain()
    elif kind == "chunked":
        await _copy_chunked(reader, writer, dechunk)
    elif kind == "close":
        while data := await reader.read(CHUNK):
            writer.write(b"%x\r\n%s\r\n" % (len(data), data) if rechunk else data)
            await writer.drain()
        if rechunk:
            writer.write(b"0\r\n\r\n")
    await writer.drain()


async def _copy_chunked(reader, writer, dechunk: bool) -> None:
    while True:
        try:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise BadMessage("bad chunk size") from exc
        if not dechunk:
            writer.write(size_line)
        if size == 0:
            break
        await copy_body(reader, writer, "length", size)
        try:
            crlf = await reader.readexactly(2)
        except asyncio.IncompleteReadError as exc:
            raise BadMessage("a chunk ended early") from exc
        if not dechunk:
            writer.write(crlf)
    while True:                                       # trailer fields, then a blank line
        try:
            line = await reader.readuntil(b"\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise BadMessage("bad chunked trailer") from exc
        if not dechunk:
            writer.write(line)
        if line == b"\r\n":
            return
