"""Names outside the cluster: asked of the node's upstream resolvers, answers cached.

    resolve(query, key, tcp)
      a cached answer for the same question   -> it, with the asker's ID, aged TTLs
      the same question already on its way     -> wait for that one (one upstream
                                                  query however many pods ask)
      otherwise, each upstream in turn (resolv.conf order), until one answers:
        UDP from a fresh socket (a random source port and ID, checked on the reply),
        TCP when the asker used TCP or the UDP reply came back truncated
      no upstream answered within its timeout  -> None (the server says SERVFAIL)

Upstream queries are the asker's bytes with a new ID, so its EDNS options and
flags (RD, CD, DO) go through unchanged. An upstream that is this very server
(the cluster DNS Service address, or our own listening address) is dropped with a
warning: forwarding to ourselves would loop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
import socket
import struct

from .cache import AnswerCache
from .config import Upstream
from .wire import skip_name

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 512


def _question(message: bytes) -> bytes:
    try:
        return message[12:skip_name(message, 12) + 4].lower()
    except ValueError:
        return b""


def usable_upstreams(upstreams: list[Upstream], own: Upstream, service_ip: str) -> list[Upstream]:
    kept = []
    for upstream in upstreams:
        address = ipaddress.ip_address(upstream.host)
        ours = upstream.port == own.port and (
            upstream.host == own.host or upstream.host == service_ip
            or (ipaddress.ip_address(own.host).is_unspecified and address.is_loopback))
        if ours:
            log.warning("not forwarding to %s: that is this DNS server (a loop)", upstream)
            continue
        kept.append(upstream)
    return kept


class Forwarder:
    def __init__(self, upstreams: list[Upstream], cache: AnswerCache, timeout: float = 2.0):
        self.upstreams = list(upstreams)
        self.cache = cache
        self.timeout = timeout
        self.failures = 0
        self._in_flight: dict[tuple, asyncio.Future] = {}
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def resolve(self, query: bytes, key: tuple, tcp: bool) -> bytes | None:
        query_id = struct.unpack_from("!H", query)[0]
        cached = self.cache.get(key, query_id)
        if cached is not None:
            return cached
        flight = (key, tcp)
        pending = self._in_flight.get(flight)
        if pending is None:
            pending = asyncio.get_running_loop().create_task(self._ask(query, tcp))
            self._in_flight[flight] = pending
            pending.add_done_callback(lambda _f: self._in_flight.pop(flight, None))
        response = await asyncio.shield(pending)
        if response is None:
            return None
        self.cache.put(key, response)
        return struct.pack("!H", query_id) + response[2:]

    async def _ask(self, query: bytes, tcp: bool) -> bytes | None:
        async with self._slots:
            for upstream in self.upstreams:
                upstream_id = secrets.randbits(16)  # unpredictable: no off-path spoofing
                message = struct.pack("!H", upstream_id) + query[2:]
                try:
                    response = None
                    if not tcp:
                        response = await self._udp(upstream, message, upstream_id)
                    if response is None or response[2] & 0x02:     # TC: ask over TCP
                        response = await self._tcp(upstream, message)
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                    log.debug("upstream %s: %s", upstream, exc or type(exc).__name__)
                    continue
                if len(response) >= 12 and response[:2] == message[:2] and \
                        _question(response) == _question(message):
                    return response
                log.debug("upstream %s: an answer to another question, ignored", upstream)
            self.failures += 1
            return None

    async def _udp(self, upstream: Upstream, message: bytes, upstream_id: int) -> bytes:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in upstream.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.connect((upstream.host, upstream.port))
            await loop.sock_sendall(sock, message)
            async with asyncio.timeout(self.timeout):
                while True:         # datagrams with another ID are not ours: keep waiting
                    data = await loop.sock_recv(sock, 65535)
                    if len(data) >= 12 and struct.unpack_from("!H", data)[0] == upstream_id:
                        return data

    async def _tcp(self, upstream: Upstream, message: bytes) -> bytes:
        async with asyncio.timeout(self.timeout):
            reader, writer = await asyncio.open_connection(upstream.host, upstream.port)
            try:
                writer.write(struct.pack("!H", len(message)) + message)
                await writer.drain()
                length = struct.unpack("!H", await reader.readexactly(2))[0]
                return await reader.readexactly(length)
            finally:
                writer.close()
