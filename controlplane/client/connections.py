"""Keep-alive HTTP/1.1 connections for whole exchanges: one request out, one response in.

The transport (transport.py) sends every request whose response is read whole -
all of them but watches and followed logs - through this pool, not urllib3's.
Why: a binding, a get or a status write is a few hundred bytes each way, and
urllib3 over http.client spends some 800 Python calls on one (a header object
per line with its policy checks, an email parser for the response headers, the
request line and each header written separately and the body in a second
write, so a second TLS record). On a scheduler binding pods that was most of
its CPU per pod. Here a request leaves as one buffer in one `sendall` (one TLS
record: the server reads it whole in one go) and the response head is split by
hand: the status line, then `name: value` lines.

It reads what an API server sends: Content-Length and chunked bodies, a body
that ends with the connection (no length; HTTP/1.0; `Connection: close`),
gzip or deflate bodies, interim 1xx responses, and no body for HEAD, 204 and
304.

Pooling: idle connections wait on a stack (the most recently used is reused
first; more than `maxsize` idle ones are closed). A connection is checked
before reuse: an idle keep-alive connection that turned readable was closed by
the server (or sent something unasked) and is dropped, as urllib3 does.

Errors, for the transport's retry rules (all are OSErrors, wrapping the cause):

    OSError
    ├── NotSent        the connection could not be made: any request may be retried
    └── Broken         it broke before a whole response: only a safe one may be
    TimeoutError (as is) waiting for the response; ssl.SSLError (as is) the handshake
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import weakref
import zlib
from collections.abc import Iterator, Mapping

MAX_HEAD = 64 * 1024        # bytes of status line + headers we accept
READ_SIZE = 256 * 1024
MAX_READ = 4 * 1024 * 1024
NO_BODY_STATUS = (204, 304)


class NotSent(OSError):
    """The connection could not be made: the request never left."""


class Broken(OSError):
    """The connection broke (or the server answered nonsense) before a whole response."""


class Headers(Mapping):
    """Response headers, looked up case-insensitively; repeated ones joined by ", "."""

    def __init__(self):
        self._items: dict[str, tuple[str, str]] = {}

    def add(self, name: str, value: str) -> None:
        key = name.lower()
        if key in self._items:
            value = f"{self._items[key][1]}, {value}"
        self._items[key] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


class _Connection:
    """One socket and the bytes read from it but not yet consumed."""

    __slots__ = ("sock", "buffer")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = bytearray()

    def fill(self, wanted: int) -> None:
        """Read until at least `wanted` bytes are buffered."""
        while len(self.buffer) < wanted:
            # recv(n) allocates n bytes first: a big body is read in bounded steps
            data = self.sock.recv(min(max(READ_SIZE, wanted - len(self.buffer)), MAX_READ))
            if not data:
                raise Broken("the server closed the connection before the response ended")
            self.buffer += data

    def line(self) -> bytes:
        """One CRLF-terminated line (without the CRLF)."""
        start = 0
        while (end := self.buffer.find(b"\r\n", start)) < 0:
            if len(self.buffer) > MAX_HEAD:
                raise Broken("a line of the response is too long")
            start = max(len(self.buffer) - 1, 0)
            self.fill(len(self.buffer) + 1)
        line = bytes(self.buffer[:end])
        del self.buffer[:end + 2]
        return line

    def take(self, size: int) -> bytes:
        self.fill(size)
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def take_rest(self) -> bytes:
        """Everything until the server closes the connection."""
        while data := self.sock.recv(READ_SIZE):
            self.buffer += data
        data, self.buffer = bytes(self.buffer), bytearray()
        return data

    def idle_and_open(self) -> bool:
        """Whether a pooled connection may carry a request: nothing arrived unasked
        (a close, shown as readable, or stray bytes)."""
        if self.buffer or (isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()):
            return False
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        return not poller.poll(0)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class ConnectionPool:
    """Keep-alive connections to one server, shared by every thread."""

    def __init__(self, host: str, port: int, *, ssl_context: ssl.SSLContext | None = None,
                 server_hostname: str | None = None, maxsize: int = 32,
                 connect_timeout: float = 10.0):
        self.host, self.port = host.strip("[]"), port
        default_port = 443 if ssl_context is not None else 80
        self.host_header = host if port == default_port else f"{host}:{port}"
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname or self.host
        self.maxsize = maxsize
        self.connect_timeout = connect_timeout
        self.num_connections = 0          # made so far (tests check that reuse happens)
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        # A pool dropped without close() (a short-lived client) closes its sockets.
        weakref.finalize(self, _close_all, self._idle)

    def exchange(self, method: str, target: str, headers: Mapping[str, str],
                 body: bytes | None, timeout: float | None) -> tuple[int, Headers, bytes]:
        """Send one request, read its whole response: (status, headers, body)."""
        data = self._encode(method, target, headers, body)
        conn = self._get()
        try:
            conn.sock.settimeout(timeout)
            conn.sock.sendall(data)
            status, response_headers, content, keep = self._read_response(conn, method)
        except TimeoutError:
            conn.close()
            raise
        except ssl.SSLError as exc:
            conn.close()
            raise Broken(f"TLS failed mid-exchange: {exc}") from exc
        except Broken:
            conn.close()
            raise
        except (OSError, ValueError, zlib.error) as exc:
            conn.close()
            raise Broken(f"the connection broke: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        if keep:
            self._put(conn)
        else:
            conn.close()
        return status, response_headers, content

    def close(self) -> None:
        with self._lock:
            self._closed = True
        _close_all(self._idle)

    # -- connections ----------------------------------------------------------------

    def _get(self) -> _Connection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._connect()
            if conn.idle_and_open():
                return conn
            conn.close()

    def _put(self, conn: _Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.maxsize:
                self._idle.append(conn)
                return
        conn.close()

    def _connect(self) -> _Connection:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise NotSent(f"could not connect to {self.host}:{self.port}: {exc}") from exc
        # One request is one write, but a response's ACK must not wait for Nagle.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            try:
                sock = self.ssl_context.wrap_socket(sock, server_hostname=self.server_hostname)
            except BaseException:
                sock.close()
                raise
        with self._lock:
            self.num_connections += 1
        return _Connection(sock)

    # -- the wire format ------------------------------------------------------------

    def _encode(self, method: str, target: str, headers: Mapping[str, str],
                body: bytes | None) -> bytes:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host_header}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        # A line break in any of them would smuggle a header (or a request) in.
        if any("\r" in line or "\n" in line for line in lines):
            raise ValueError("a header or the path contains a line break")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body or b'')}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")

    def _read_response(self, conn: _Connection, method: str):
        while True:
            version, status, headers = self._read_head(conn)
            if not 100 <= status < 200:
                break               # 1xx: an interim answer, the real one follows
        keep = version == "HTTP/1.1" and "close" not in headers.get("Connection", "").lower()
        if method == "HEAD" or status in NO_BODY_STATUS:
            content = b""
        elif "chunked" in headers.get("Transfer-Encoding", "").lower():
            content = self._read_chunked(conn)
        elif "Content-Length" in headers:
            try:
                length = int(headers["Content-Length"])
            except ValueError as exc:
                raise Broken(f"bad Content-Length {headers['Content-Length']!r}") from exc
            content = conn.take(length)
        else:
            content, keep = conn.take_rest(), False
        encoding = headers.get("Content-Encoding", "").lower()
        if encoding in ("gzip", "x-gzip"):
            content = zlib.decompress(content, 16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            try:
                content = zlib.decompress(content)
            except zlib.error:
                content = zlib.decompress(content, -zlib.MAX_WBITS)   # raw deflate
        return status, headers, content, keep

    def _read_head(self, conn: _Connection) -> tuple[str, int, Headers]:
        status_line = conn.line().decode("latin-1")
        version, _, rest = status_line.partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/") or not code.isdigit():
            raise Broken(f"not an HTTP response: {status_line[:80]!r}")
        headers = Headers()
        while line := conn.line():
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise Broken(f"malformed response header {line[:80]!r}")
            headers.add(name.strip(), value.strip())
        return version, int(code), headers

    def _read_chunked(self, conn: _Connection) -> bytes:
        parts = []
        while True:
            size_text = conn.line().split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError as exc:
                raise Broken(f"bad chunk size {size_text[:20]!r}") from exc
            if size == 0:
                while conn.line():      # trailers, up to the empty line
                    pass
                return b"".join(parts)
            parts.append(conn.take(size))
            if conn.line():
                raise Broken("a chunk is longer than its size")


def _close_all(idle: list[_Connection]) -> None:
    while idle:
        try:
            conn = idle.pop()
        except IndexError:
            return
        conn.close()
