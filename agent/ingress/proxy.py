"""The Ingress proxy: an HTTP/1.1 reverse proxy on an asyncio loop.

For each request on a client connection (kept alive across requests):

    1. read and parse the head; a malformed one gets 400 and the connection closes
    2. route (host, path) through the current RouteTable      none -> 404
    3. the backend's ready endpoints (backends.resolve)        none -> 503
    4. send the request to the endpoint whose turn it is (round robin), with
       X-Forwarded-For/-Host/-Port/-Proto and X-Real-IP added; a connection that
       cannot be opened moves on to the next endpoint (up to 3)  all fail -> 502
    5. the response head within `response_timeout`               else -> 504
       (a failed exchange on a reused keep-alive connection is retried once on a
       fresh one when the request had no body)
    6. stream the response back; a 101 Switching Protocols (WebSocket) turns the
       two connections into a byte tunnel until either side closes

Error responses are short text pages saying what is missing (`503 Service
Unavailable: service default/web has no ready endpoint`), so that a learner sees
why. Nothing here blocks the loop: routes and endpoints come from the informers'
caches through the two callables the controller passes in.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from http import HTTPStatus

from . import http1
from .backends import RoundRobin, Unavailable
from .routes import Backend, RouteTable
from .upstream import Connection, Pool

log = logging.getLogger(__name__)

MAX_TRIES = 3


class Failed(Exception):
    """The exchange with the backend failed; `status` is what the client gets."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status


class IngressProxy:
    def __init__(self, routes: Callable[[], RouteTable],
                 endpoints: Callable[[Backend], list[tuple[str, int]]], *,
                 port: int = 80, connect_timeout: float = 5.0,
                 response_timeout: float = 60.0, idle_timeout: float = 60.0):
        self.routes = routes
        self.endpoints = endpoints
        self.port = port
        self.response_timeout = response_timeout
        self.idle_timeout = idle_timeout
        self.pool = Pool(connect_timeout)
        self.balancer = RoundRobin()
        self.stats: Counter = Counter()

    # -- a client connection ---------------------------------------------------------

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = (writer.get_extra_info("peername") or ("", 0))[0]
        try:
            while True:
                try:
                    async with asyncio.timeout(self.idle_timeout):
                        data = await http1.read_head(reader)
                    if data is None:
                        break
                    request = http1.parse_head(data)
                    kind, length = http1.framing(request, request=True)
                except http1.BadMessage as exc:
                    await self._error(writer, 400, str(exc), close=True)
                    break
                if not await self.request(request, kind, length, reader, writer, peer):
                    break
        except (TimeoutError, ConnectionError, http1.BadMessage):
            pass
        finally:
            writer.close()

    async def request(self, request: http1.Head, kind: str, length: int,
                      reader, writer, peer: str) -> bool:
        """Serve one request; True if the client connection may carry another."""
        self.stats["requests"] += 1
        version = request.third.upper()
        close = version != "HTTP/1.1" or "close" in request.tokens("connection")
        has_body = kind != "none" and not (kind == "length" and length == 0)
        host, path = _host_and_path(request)
        if host is None:
            await self._error(writer, 400, "no Host header", close=True)
            return False
        backend = self.routes().route(host, path)
        if backend is None:
            await self._error(writer, 404, f"no Ingress rule for http://{host}{path}",
                              close=close or has_body)
            return not (close or has_body)
        try:
            endpoints = self.endpoints(backend)
        except Unavailable as exc:
            await self._error(writer, 503, str(exc), close=close or has_body)
            return not (close or has_body)
        if "100-continue" in request.tokens("expect") and version == "HTTP/1.1":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        upgrade = "upgrade" in request.tokens("connection") and request.get("upgrade")
        head = self._upstream_head(request, host, peer, kind, upgrade)
        order = self.balancer.order(str(backend), endpoints)[:MAX_TRIES]
        try:
            conn, response = await self._exchange(order, head, kind, length, has_body, reader)
        except Failed as exc:
            self.stats["upstream_errors"] += 1
            await self._error(writer, exc.status, f"{backend}: {exc}", close=True)
            return False
        return await self._respond(conn, response, request, writer, reader, close, upgrade)

    # -- the backend side --------------------------------------------------------------

    def _upstream_head(self, request: http1.Head, host: str, peer: str, kind: str,
                       upgrade) -> http1.Head:
        headers = [(k, v) for k, v in http1.end_to_end(request.headers,
                                                        chunked=kind == "chunked")
                   if k.lower() not in ("expect", "x-real-ip", "x-forwarded-host",
                                        "x-forwarded-port", "x-forwarded-proto")]
        forwarded_for = request.get("x-forwarded-for")
        headers = [(k, v) for k, v in headers if k.lower() != "x-forwarded-for"]
        headers += [("X-Forwarded-For", f"{forwarded_for}, {peer}" if forwarded_for else peer),
                    ("X-Forwarded-Host", host), ("X-Forwarded-Port", str(self.port)),
                    ("X-Forwarded-Proto", "http"), ("X-Real-IP", peer)]
        if kind == "chunked":
            headers.append(("Transfer-Encoding", "chunked"))
        if upgrade:
            headers += [("Connection", "Upgrade"), ("Upgrade", upgrade)]
        else:
            headers.append(("Connection", "keep-alive"))
        return http1.Head(request.first, request.second, "HTTP/1.1", headers)

    async def _exchange(self, order, head, kind, length, has_body, reader):
        """Send the request; returns (connection, response head) or raises Failed."""
        last = "no endpoint tried"
        for address in order:
            retry_fresh = True
            while True:
                try:
                    conn = await (self.pool.acquire(address) if retry_fresh
                                  else self.pool.open(address))
                except (OSError, TimeoutError) as exc:
                    last = f"cannot connect to {address[0]}:{address[1]}: " \
                           f"{_reason(exc)}"
                    break                                   # the next endpoint
                try:
                    conn.writer.write(head.encode())
                    if has_body:
                        await http1.copy_body(reader, conn.writer, kind, length)
                    await conn.writer.drain()
                    async with asyncio.timeout(self.response_timeout):
                        response = await self._final_head(conn)
                    return conn, response
                except TimeoutError as exc:
                    conn.close()
                    raise Failed(504, f"no response from {address[0]}:{address[1]} within "
                                      f"{self.response_timeout:.0f} s") from exc
                except (OSError, http1.BadMessage, EOFError) as exc:
                    conn.close()
                    if conn.reused and not has_body and retry_fresh:
                        retry_fresh = False                 # a stale keep-alive connection
                        continue
                    raise Failed(502, f"{address[0]}:{address[1]} failed: "
                                      f"{_reason(exc)}") from exc
        raise Failed(502, last)

    async def _final_head(self, conn: Connection) -> http1.Head:
        while True:
            data = await http1.read_head(conn.reader)
            if data is None:
                raise EOFError("the connection closed before a response")
            response = http1.parse_head(data)
            # 100 Continue was ours to send, and other 1xx heads are hints: skip them.
            if not response.second.startswith("1") or response.second == "101":
                return response

    # -- back to the client ------------------------------------------------------------

    async def _respond(self, conn, response, request, writer, reader, close, upgrade) -> bool:
        status = response.second
        if status == "101" and upgrade:
            writer.write(http1.Head("HTTP/1.1", status, response.third,
                                    http1.end_to_end(response.headers, keep=("upgrade",))
                                    + [("Connection", "Upgrade")]).encode())
            await writer.drain()
            await _tunnel(reader, writer, conn)
            return False
        kind, length = http1.framing(response, request=False, method=request.first)
        old_client = request.third.upper() != "HTTP/1.1"
        rechunk = kind == "close" and not old_client
        dechunk = kind == "chunked" and old_client
        close = close or dechunk or (kind == "close" and not rechunk)
        headers = http1.end_to_end(response.headers, chunked=kind == "chunked")
        if (kind == "chunked" and not dechunk) or rechunk:
            headers.append(("Transfer-Encoding", "chunked"))
        headers.append(("Connection", "close" if close else "keep-alive"))
        head = http1.Head("HTTP/1.1", status, response.third, headers).encode()
        self.stats[f"status_{status}"] += 1
        try:
            if kind == "length" and length <= http1.CHUNK:
                # A small body goes out with the head: one write to the client, not two.
                writer.write(head + await conn.reader.readexactly(length))
                await writer.drain()
            else:
                writer.write(head)
                await http1.copy_body(conn.reader, writer, kind, length, rechunk=rechunk,
                                      dechunk=dechunk)
        except asyncio.IncompleteReadError:
            conn.close()
            return False
        except (OSError, http1.BadMessage):
            conn.close()
            return False            # the client sees a cut response: nothing better to say
        if kind in ("length", "chunked", "none") and _reusable(response):
            self.pool.release(conn)
        else:
            conn.close()
        return not close

    async def _error(self, writer, status: int, detail: str, close: bool) -> None:
        self.stats[f"status_{status}"] += 1
        phrase = HTTPStatus(status).phrase
        body = f"{status} {phrase}: {detail}\n".encode()
        head = http1.Head("HTTP/1.1", str(status), phrase, [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Connection", "close" if close else "keep-alive")])
        writer.write(head.encode() + body)
        try:
            await writer.drain()
        except ConnectionError:
            pass


def _reusable(response: http1.Head) -> bool:
    """May the backend connection carry another request? (HTTP/1.0 closes by default.)"""
    tokens = response.tokens("connection")
    if response.first.upper() == "HTTP/1.1":
        return "close" not in tokens
    return "keep-alive" in tokens


def _host_and_path(request: http1.Head) -> tuple[str | None, str]:
    target = request.second
    if target.startswith(("http://", "https://")):      # absolute form (RFC 9112 3.2.2)
        rest = target.split("://", 1)[1]
        host, slash, path = rest.partition("/")
        return host, slash + path or "/"
    return request.get("host"), target


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


async def _tunnel(client_reader, client_writer, conn: Connection) -> None:
    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(http1.CHUNK):
                dst.write(data)
                await dst.drain()
            if dst.can_write_eof():
                dst.write_eof()
        except (OSError, RuntimeError):
            dst.close()

    await asyncio.gather(pipe(client_reader, conn.writer), pipe(conn.reader, client_writer))
    conn.close()
