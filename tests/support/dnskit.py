"""DNS test helpers: ask a server a question, and a fake upstream resolver on loopback.

`ask` sends one query over UDP or TCP (raw sockets, as a stub resolver does) and
parses the reply with dnslib. `FakeUpstream` is a real DNS server on 127.0.0.1
(UDP and TCP, ephemeral port) that answers from a table of names, counts the
questions it gets, and can answer a name with a truncated UDP reply (so the full
answer comes only over TCP) or not at all (a dead resolver). Tests never send a
query anywhere but loopback.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import time
from collections import Counter

from dnslib import EDNS0, QTYPE, RCODE, RR, DNSRecord


def ask(port: int, name: str, qtype: str = "A", *, tcp: bool = False, edns: int | None = None,
        host: str = "127.0.0.1", timeout: float = 3.0, raw: bytes | None = None) -> DNSRecord:
    query = DNSRecord.question(name, qtype)
    if edns is not None:
        query.add_ar(EDNS0(udp_len=edns))
    message = raw if raw is not None else query.pack()
    return DNSRecord.parse(exchange(port, message, tcp=tcp, host=host, timeout=timeout))


def ask_when_up(port: int, name: str, qtype: str = "A", timeout: float = 30.0) -> DNSRecord:
    """`ask`, retried until a server listens on the port (a server that is starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return ask(port, name, qtype, timeout=0.5)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def exchange(port: int, message: bytes, *, tcp: bool = False, host: str = "127.0.0.1",
             timeout: float = 3.0) -> bytes:
    if tcp:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack("!H", len(message)) + message)
            length = struct.unpack("!H", _read(sock, 2))[0]
            return _read(sock, length)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(message, (host, port))
        return sock.recv(65535)


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return data


def addresses(reply: DNSRecord, rtype: str = "A", section: str = "rr") -> list[str]:
    """The sorted addresses in one section of a reply (answer `rr`, `auth` or `ar`)."""
    return sorted(str(rr.rdata) for rr in getattr(reply, section) if QTYPE[rr.rtype] == rtype)


class FakeUpstream:
    """An upstream resolver on loopback that answers from `records` (zone-file lines)."""

    def __init__(self, records: dict[str, list[str]] | None = None):
        self.records = records or {}
        self.truncate_udp: set[str] = set()
        self.silent: set[str] = set()
        self.slow: dict[str, float] = {}        # name -> seconds before answering
        self.questions: Counter = Counter()
        self.transports: Counter = Counter()
        self._udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), self._udp_handler())
        port = self._udp.server_address[1]
        self._tcp = socketserver.ThreadingTCPServer(("127.0.0.1", port), self._tcp_handler())
        self._tcp.daemon_threads = self._udp.daemon_threads = True
        self.port = port
        self._threads = [threading.Thread(target=s.serve_forever, daemon=True)
                         for s in (self._udp, self._tcp)]

    def start(self) -> FakeUpstream:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        for server in (self._udp, self._tcp):
            server.shutdown()
            server.server_close()

    def answer(self, message: bytes, tcp: bool) -> bytes | None:
        query = DNSRecord.parse(message)
        name = str(query.q.qname).lower()
        self.questions[(name, QTYPE[query.q.qtype])] += 1
        self.transports["tcp" if tcp else "udp"] += 1
        if name in self.silent:
            return None
        time.sleep(self.slow.get(name, 0))
        reply = query.reply(ra=1, aa=0)
        lines = self.records.get(name)
        if lines is None:
            reply.header.rcode = RCODE.NXDOMAIN
        else:
            for line in lines:
                for rr in RR.fromZone(line):
                    if rr.rtype == query.q.qtype:
                        reply.add_answer(rr)
        if name in self.truncate_udp and not tcp:
            return reply.truncate().pack()
        return reply.pack()

    def _udp_handler(self):
        upstream = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                response = upstream.answer(data, tcp=False)
                if response is not None:
                    sock.sendto(response, self.client_address)
        return Handler

    def _tcp_handler(self):
        upstream = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                try:
                    length = struct.unpack("!H", _read(self.request, 2))[0]
                    response = upstream.answer(_read(self.request, length), tcp=True)
                except ConnectionError:
                    return
                if response is not None:
                    self.request.sendall(struct.pack("!H", len(response)) + response)
        return Handler
