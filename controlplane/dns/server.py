"""The DNS server proper: UDP and TCP on one asyncio loop, in front of the Responder.

Cluster answers need no waiting (they read the informers' caches), so a UDP query
for one is answered inside `datagram_received`; only forwarded ones become tasks.
TCP connections may carry many queries (RFC 7766) and close after 10 idle seconds.
What a message gets is the Responder's business (responder.py).

The loop runs on a thread of its own: `start()` returns once both sockets are
bound (or raises DNSBindError), `stop()` closes them and ends the thread.
"""

from __future__ import annotations

import asyncio
import errno
import inspect
import logging
import socket
import struct
import threading

from .config import DNSConfig, parse_address
from .errors import DNSBindError
from .forward import Forwarder, usable_upstreams
from .records import Zone
from .responder import Responder

log = logging.getLogger(__name__)

TCP_IDLE = 10.0
PORT_ATTEMPTS = 20  # port 0: tries to find one number free for both UDP and TCP


class DNSServer:
    def __init__(self, config: DNSConfig, zone: Zone, sockets: tuple | None = None):
        """`sockets`: a bound UDP socket and a listening TCP one to serve on instead of
        binding config.bind:port (systemd-style socket activation, or sockets a caller
        opened in another network namespace)."""
        self.config = config
        self.sockets = sockets
        self.zone = zone
        own = parse_address(config.bind, config.port)
        self.upstreams = usable_upstreams(config.upstream_servers(), own, config.service_ip)
        self.responder = Responder(config, zone, self.upstreams)
        self.respond = self.responder.respond
        self.stats = self.responder.stats          # queries, cluster, forwarded, ...
        self.cache = self.responder.cache          # the forwarded answers
        self.port = config.port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._closing: list = []

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> DNSServer:
        self._thread = threading.Thread(target=self._serve, name="dns-server", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error
        upstreams = ", ".join(map(str, self.upstreams)) or "none (other names are refused)"
        log.info("cluster DNS for %s on %s port %d (UDP, TCP); upstream %s",
                 self.config.zone, self.config.bind, self.port, upstreams)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._bind())
        except DNSBindError as exc:
            self._error = exc
        self._ready.set()
        if self._error is None:
            loop.run_forever()
        for closable in self._closing:
            closable.close()
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()

    async def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        self.responder.forwarder = Forwarder(self.upstreams, self.cache,
                                             self.config.forward_timeout)
        family = socket.AF_INET6 if ":" in self.config.bind else socket.AF_INET
        try:
            if self.sockets is not None:
                udp, listening = self.sockets
            else:
                udp, listening = _bound_pair(self.config.bind, self.config.port, family)
            self.port = udp.getsockname()[1]
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UDP(self), sock=udp)
            self._closing.append(transport)
            tcp = await asyncio.start_server(self._tcp_client, sock=listening)
            self._closing.append(tcp)
        except OSError as exc:
            for closable in self._closing:
                closable.close()
            raise DNSBindError(f"cannot listen on {self.config.bind} port "
                               f"{self.config.port}: {exc.strerror or exc}") from exc

    # -- transports ------------------------------------------------------------------

    async def _tcp_client(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                async with asyncio.timeout(TCP_IDLE):
                    length = struct.unpack("!H", await reader.readexactly(2))[0]
                    message = await reader.readexactly(length)
                result = self.respond(message, tcp=True)
                if inspect.isawaitable(result):
                    result = await result
                if result is None:
                    break
                writer.write(struct.pack("!H", len(result)) + result)
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class _UDP(asyncio.DatagramProtocol):
    def __init__(self, server: DNSServer):
        self.server = server
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        try:
            result = self.server.respond(data, tcp=False)
        except Exception:
            log.exception("answering a query from %s failed", addr)
            return
        if inspect.isawaitable(result):
            asyncio.get_running_loop().create_task(self._send_later(result, addr))
        elif result is not None:
            self.transport.sendto(result, addr)

    async def _send_later(self, pending, addr) -> None:
        try:
            self.transport.sendto(await pending, addr)
        except Exception:
            log.exception("answering a forwarded query from %s failed", addr)

    def error_received(self, exc) -> None:      # ICMP errors from a vanished asker
        pass


def _bound_pair(host: str, port: int, family: int) -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket bound to one port (DNS serves both on it).

    Port 0 asks the kernel for one; it picks it for TCP alone, so the same number
    may be taken for UDP: then another is tried.
    """
    for _ in range(PORT_ATTEMPTS if port == 0 else 1):
        tcp = socket.socket(family, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        udp = socket.socket(family, socket.SOCK_DGRAM)
        try:
            tcp.bind((host, port))
            udp.bind((host, tcp.getsockname()[1]))
        except OSError as exc:
            tcp.close()
            udp.close()
            if port != 0 or exc.errno != errno.EADDRINUSE:
                raise
            continue
        return udp, tcp
    raise OSError(errno.EADDRINUSE, "no port is free for both UDP and TCP")

