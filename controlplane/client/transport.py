"""The transport: the one place where Supernetes speaks HTTP to an API server.

Everything above it (REST calls, watches, informers, superctl) hands it a method, a
path and bytes, and gets back a `Response` (status, headers, body) or a `Stream`
(a response read as it arrives: watches, `logs -f`). Tests of other components
replace this seam, never the HTTP library beneath it.

Two pools of keep-alive connections per server, shared by every thread, both over
one `ssl.SSLContext` built from the kubeconfig's CA data in memory:
  * requests whose response is read whole (`request`: nearly all of them) go
    through `connections.py`, a lean HTTP/1.1 exchange that costs a fraction of
    urllib3's CPU per request - which sets the pace of a scheduler binding pods
    or a controller writing statuses;
  * streams (`stream`: watches, `logs -f`) go through urllib3 (the layer that
    `requests` wraps), which gives access to the response's socket, so another
    thread can stop a watch by shutting the socket down (closing a socket does
    not wake a thread blocked reading it; `shutdown()` does).

Retries are for transient failures only, with exponential backoff:
  * the connection could not be made (the request never left): any method;
  * the connection broke before a response (a pooled keep-alive connection the
    server closed): GET and HEAD only, which are safe to repeat;
  * 429, or a 5xx carrying `Retry-After` (the server did not act): any method,
    after the delay the server asked for.
Read timeouts, TLS failures and other status codes are returned or raised at once.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import orjson
import urllib3
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from .connections import Broken, ConnectionPool, NotSent
from .errors import ConnectionFailed
from .kubeconfig import Connection

log = logging.getLogger(__name__)

USER_AGENT = "superctl/0.1.0 (linux/amd64) supernetes"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4           # tries in all, for one transient failure
    backoff: float = 0.1        # first delay; doubles each try
    max_delay: float = 2.0
    max_retry_after: float = 10.0   # the longest Retry-After we honour


def decode_json(data: bytes | str):
    """JSON text -> Python objects: orjson (several times faster than json, which
    counts when an informer decodes every event), or json for what orjson refuses
    but json reads (NaN, Infinity). Integers beyond 64 bits come back as floats,
    as the API server itself (orjson too) reads them."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    content: bytes
    url: str

    def json(self):
        return decode_json(self.content) if self.content else None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Stream:
    """A response read as it arrives. `close()` may be called from any thread."""

    def __init__(self, raw: urllib3.HTTPResponse, url: str, server: str = ""):
        self._raw = raw
        self.url = url
        self.server = server
        self.status = raw.status
        self.headers = raw.headers
        self._closed = threading.Event()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def read_all(self) -> bytes:
        try:
            return self._raw.read()
        finally:
            self.close()

    def chunks(self) -> Iterator[bytes]:
        """Bytes as the server sends them; ends quietly when closed by `close()`."""
        raw = self._raw
        try:
            if raw.chunked and raw.supports_chunked_reads():
                # read_chunked yields each chunk as it arrives; read(n) would wait for n bytes.
                yield from raw.read_chunked(decode_content=True)
            else:
                while data := raw.read1(65536):
                    yield data
        except (HTTPError, OSError, ValueError, AttributeError) as exc:
            # A stopped stream's reader sees whatever the dead socket gives it.
            if not self.closed:
                raise ConnectionFailed(self.server, f"the stream broke: {_root(exc)}") from exc
        finally:
            self.close()

    def lines(self) -> Iterator[bytes]:
        pending = b""
        for chunk in self.chunks():
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                if line.strip():
                    yield line
        if pending.strip() and not self.closed:
            yield pending

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        conn = getattr(self._raw, "connection", None)
        sock = getattr(conn, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        try:
            self._raw.close()
            self._raw.release_conn()
        except (HTTPError, OSError, AttributeError):
            pass

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _InsecureHTTPSPool(HTTPSConnectionPool):
    """A pool for `insecure-skip-tls-verify: true`: the user opted out, so no warning."""

    def _validate_conn(self, conn) -> None:
        HTTPConnectionPool._validate_conn(self, conn)
        if conn.is_closed:
            conn.connect()


def build_ssl_context(conn: Connection) -> ssl.SSLContext:
    """The TLS settings of a kubeconfig: its CA (or the system's), client cert, skip-verify."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if conn.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif conn.ca_data:
        try:
            ctx.load_verify_locations(cadata=conn.ca_data.decode("ascii", "replace"))
        except ssl.SSLError as exc:
            raise ConnectionFailed(conn.server, f"the CA certificate is not valid: {exc}") from exc
    else:
        ctx.load_default_certs()
    if conn.client_cert_data:
        _load_client_cert(ctx, conn)
    return ctx


def _load_client_cert(ctx: ssl.SSLContext, conn: Connection) -> None:
    # ssl can only read a key pair from files: write them privately, load, remove.
    with tempfile.TemporaryDirectory(prefix="supernetes-tls-") as tmp:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        for path, data in ((cert, conn.client_cert_data), (key, conn.client_key_data or b"")):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        try:
            ctx.load_cert_chain(cert, key if conn.client_key_data else None)
        except ssl.SSLError as exc:
            raise ConnectionFailed(conn.server, f"the client certificate is not valid: {exc}") \
                from exc


class Transport:
    """A pooled, retrying HTTP(S) connection to one API server as one user."""

    def __init__(self, conn: Connection, *, timeout: float = 30.0, connect_timeout: float = 10.0,
                 retry: RetryPolicy | None = None, pool_size: int = 32,
                 user_agent: str = USER_AGENT):
        self.connection = conn
        self.server = conn.server
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.retry = retry or RetryPolicy()
        url = urllib3.util.parse_url(conn.server)
        if url.scheme not in ("http", "https") or not url.host:
            raise ConnectionFailed(conn.server, "the server URL must be http(s)://host[:port]")
        self.scheme, self.host = url.scheme, url.host
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self._prefix = (url.path or "").rstrip("/")
        self.headers = {"User-Agent": user_agent}
        if conn.token:
            self.headers["Authorization"] = f"Bearer {conn.token}"
        elif conn.username:
            self.headers.update(urllib3.util.make_headers(
                basic_auth=f"{conn.username}:{conn.password or ''}"))
        self.ssl_context = build_ssl_context(conn) if self.scheme == "https" else None
        self._pool = ConnectionPool(self.host, self.port, ssl_context=self.ssl_context,
                                    server_hostname=conn.tls_server_name, maxsize=pool_size,
                                    connect_timeout=connect_timeout)
        stream_kwargs = dict(maxsize=pool_size, block=False, retries=False)
        if self.scheme == "https":
            pool_cls = _InsecureHTTPSPool if conn.insecure else HTTPSConnectionPool
            self._streams = pool_cls(self.host, self.port, ssl_context=self.ssl_context,
                                     server_hostname=conn.tls_server_name, **stream_kwargs)
        else:
            self._streams = HTTPConnectionPool(self.host, self.port, **stream_kwargs)

    def url(self, path: str, params: Mapping | None = None) -> str:
        query = urlencode([(k, v) for k, v in _pairs(params)], doseq=True) if params else ""
        return self._prefix + path + (f"?{query}" if query else "")

    def request(self, method: str, path: str, *, params: Mapping | None = None,
                body: bytes | None = None, headers: Mapping[str, str] | None = None,
                timeout: float | None = None) -> Response:
        url = self.url(path, params)
        all_headers = {**self.headers, **(headers or {})}
        read_timeout = self.timeout if timeout is None else timeout

        def send() -> Response:
            status, response_headers, content = self._pool.exchange(
                method, url, all_headers, body, read_timeout)
            return Response(status, response_headers, content, url)
        return self._with_retries(method, url, send)

    def stream(self, method: str, path: str, *, params: Mapping | None = None,
               body: bytes | None = None, headers: Mapping[str, str] | None = None,
               timeout: float | None = None) -> Stream:
        """A response left unread: the caller iterates it and must close it.

        `timeout` bounds the wait for each read; None waits forever (a watch with
        no traffic, `logs -f` on a quiet container)."""
        url = self.url(path, params)
        all_headers = {**self.headers, **(headers or {})}

        def send():
            return self._streams.urlopen(
                method, url, body=body, headers=all_headers, retries=False, redirect=False,
                preload_content=False, release_conn=False, assert_same_host=False,
                timeout=urllib3.Timeout(connect=self.connect_timeout, read=timeout))

        def discard(raw) -> None:
            raw.drain_conn()
            raw.release_conn()
        raw = self._with_retries(method, url, send, discard)
        return Stream(raw, url, f"{self.scheme}://{self.host}:{self.port}")

    def _with_retries(self, method: str, url: str, send, discard=None):
        """`send()` until it gives a response not to retry (see the module docstring);
        `discard(response)` lets go of one that is retried."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = send()
            except (HTTPError, OSError) as exc:
                delay = self._retry_delay(exc, method, attempt)
                if delay is None:
                    raise self._failure(exc) from exc
                log.debug("%s %s: %s; retrying in %.2fs", method, url, exc, delay)
                time.sleep(delay)
                continue
            delay = self._retry_after(response.status, response.headers, attempt)
            if delay is None:
                return response
            if discard is not None:
                discard(response)
            log.debug("%s %s: HTTP %d; retrying in %.2fs", method, url, response.status, delay)
            time.sleep(delay)

    def _retry_delay(self, exc: Exception, method: str, attempt: int) -> float | None:
        if attempt >= self.retry.attempts:
            return None
        not_sent = isinstance(exc, NotSent | NewConnectionError | ConnectTimeoutError) and \
            not isinstance(exc, ReadTimeoutError)
        broken = isinstance(exc, Broken | ProtocolError) and method in ("GET", "HEAD")
        if not (not_sent or broken):
            return None
        return min(self.retry.backoff * 2 ** (attempt - 1), self.retry.max_delay)

    def _retry_after(self, status: int, headers: Mapping[str, str], attempt: int) -> float | None:
        if attempt >= self.retry.attempts:
            return None
        value = headers.get("Retry-After")
        if status != 429 and not (status >= 500 and value):
            return None
        try:
            seconds = float(value) if value else 1.0
        except ValueError:
            seconds = 1.0
        return min(max(seconds, 0.0), self.retry.max_retry_after)

    def _failure(self, exc: Exception) -> ConnectionFailed:
        server = f"{self.scheme}://{self.host}:{self.port}"
        if _caused_by(exc, ConnectionRefusedError):
            return ConnectionFailed(server, "connection refused", refused=True)
        if isinstance(exc, SSLError) or _caused_by(exc, ssl.SSLError):
            cause = _root(exc)
            verify = getattr(cause, "verify_message", None)
            detail = f"certificate verify failed: {verify}" if verify else str(cause)
            return ConnectionFailed(server, f"TLS handshake failed: {detail}")
        if isinstance(exc, ConnectTimeoutError | ReadTimeoutError) or \
                _caused_by(exc, TimeoutError):
            return ConnectionFailed(server, "timed out waiting for the server", timeout=True)
        return ConnectionFailed(server, str(_root(exc)) or type(exc).__name__)

    def open_socket(self, timeout: float | None = None) -> socket.socket:
        """A fresh connection (TLS when the server is https) for protocols that upgrade it."""
        server = f"{self.scheme}://{self.host}:{self.port}"
        try:
            sock = socket.create_connection((self.host, self.port),
                                            timeout=timeout or self.connect_timeout)
        except OSError as exc:
            raise self._failure(exc) from exc
        if self.ssl_context is None:
            return sock
        try:
            return self.ssl_context.wrap_socket(
                sock, server_hostname=self.connection.tls_server_name or self.host)
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise ConnectionFailed(server, f"TLS handshake failed: {exc}") from exc

    def close(self) -> None:
        self._pool.close()
        self._streams.close()


def _pairs(params: Mapping) -> Iterator[tuple[str, object]]:
    for key, value in params.items():
        if value is None or value is False:
            continue
        if value is True:
            value = "true"
        yield key, value


def _root(exc: BaseException) -> BaseException:
    seen = set()
    while True:
        nxt = exc.__cause__ or exc.__context__ or getattr(exc, "reason", None)
        if not isinstance(nxt, BaseException) or id(nxt) in seen:
            return exc
        seen.add(id(exc))
        exc = nxt


def _caused_by(exc: BaseException, kind: type) -> bool:
    seen = set()
    current: BaseException | None = exc
    while isinstance(current, BaseException) and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__ or getattr(current, "reason", None)
    return False
